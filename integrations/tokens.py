"""Personal access token format: `nvl_live_` + 32 base62 chars (≈190 bits) + 6-char CRC32 checksum.

Test-mode tokens (they act on the store's sandbox) are `nvl_test_` + the same secret and checksum:
the prefix alone says which world a token acts on (docs/testing-your-integration.md).

The checksum lets secret scanners and the server reject typos without a database hit.
Only SHA-256(token) and a display prefix are stored.
"""

import hashlib
import secrets
import string
import zlib

TOKEN_PREFIX = "nvl_live_"
TEST_TOKEN_PREFIX = "nvl_test_"
PREFIXES = (TOKEN_PREFIX, TEST_TOKEN_PREFIX)  # same length, so one TOKEN_LENGTH
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase  # base62
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
TOKEN_LENGTH = len(TOKEN_PREFIX) + SECRET_LENGTH + CHECKSUM_LENGTH
DISPLAY_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8


def _base62(number: int, width: int) -> str:
    chars = []
    while number:
        number, rem = divmod(number, 62)
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars)).rjust(width, "0")


def checksum(secret: str) -> str:
    return _base62(zlib.crc32(secret.encode("ascii")), CHECKSUM_LENGTH)


def generate(*, livemode: bool = True) -> str:
    secret = "".join(secrets.choice(ALPHABET) for _ in range(SECRET_LENGTH))
    prefix = TOKEN_PREFIX if livemode else TEST_TOKEN_PREFIX
    return f"{prefix}{secret}{checksum(secret)}"


def is_test(token: str) -> bool:
    return token.startswith(TEST_TOKEN_PREFIX)


def is_well_formed(token: str) -> bool:
    """Shape and checksum only: no database access."""
    if len(token) != TOKEN_LENGTH or not token.startswith(PREFIXES):
        return False
    body = token[len(TOKEN_PREFIX) :]
    if any(ch not in ALPHABET for ch in body):
        return False
    secret, check = body[:SECRET_LENGTH], body[SECRET_LENGTH:]
    return secrets.compare_digest(checksum(secret), check)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def display_prefix(token: str) -> str:
    return token[:DISPLAY_PREFIX_LENGTH]
