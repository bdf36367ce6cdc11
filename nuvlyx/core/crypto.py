"""Field encryption (MultiFernet over NUVLYX_ENCRYPTION_KEYS) and keyed hashes.

The first key encrypts; every key decrypts; `rotate()` re-encrypts under the first key.
A decryption failure raises DecryptionError: ciphertext is never returned as if it were clear.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """The value could not be decrypted with any configured key."""


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise RuntimeError("NUVLYX_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(key.strip().encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.NUVLYX_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError, TypeError, AttributeError) as exc:
        raise DecryptionError("value could not be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    """Re-encrypt under the first key (a no-op in meaning: the plaintext is unchanged)."""
    try:
        return _current().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError, ValueError, TypeError, AttributeError) as exc:
        raise DecryptionError("value could not be decrypted with the configured keys") from exc


def is_encrypted_with_primary(token: str) -> bool:
    """True when the first (encrypting) key alone decrypts the value."""
    primary = Fernet(settings.NUVLYX_ENCRYPTION_KEYS[0].strip().encode())
    try:
        primary.decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError):
        return False
    return True


@lru_cache(maxsize=8)
def _hash_key(secret_key: str, purpose: str) -> bytes:
    return hmac.new(secret_key.encode(), f"nuvlyx:{purpose}".encode(), hashlib.sha256).digest()


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of value under a key derived from SECRET_KEY for one purpose (hex)."""
    key = _hash_key(settings.SECRET_KEY, purpose)
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


# --- registry of encrypted columns (for `manage.py rotate_encryption_key`) ---------------------
_ENCRYPTED_FIELDS: list[tuple[str, str]] = []


def register_encrypted_field(model_label: str, field_name: str) -> None:
    """Declare a text column holding encrypt() output, e.g. ("catalog.License", "credentials_encrypted").

    Call from AppConfig.ready(); the rotation command re-encrypts every registered column.
    """
    if (model_label, field_name) not in _ENCRYPTED_FIELDS:
        _ENCRYPTED_FIELDS.append((model_label, field_name))


def encrypted_fields() -> list[tuple[str, str]]:
    return list(_ENCRYPTED_FIELDS)
