"""System checks (`manage.py check`, and every command that runs checks): configuration that would
otherwise only fail later, at the first use.

NUVLYX_ENCRYPTION_KEYS: every command and request that encrypts or decrypts (licenses, webhook
secrets, events…) needs at least one valid Fernet key. An empty list or a malformed key is reported
here, naming the key's position, never its value.
"""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, register


@register()
def encryption_keys_check(app_configs=None, **kwargs) -> list[Error]:
    keys = getattr(settings, "NUVLYX_ENCRYPTION_KEYS", None)
    if isinstance(keys, str) or not isinstance(keys, list | tuple):
        return [
            Error(
                "NUVLYX_ENCRYPTION_KEYS must be a list of Fernet keys.",
                hint="Set it to comma-separated keys, the encrypting one first.",
                id="nuvlyx.E001",
            )
        ]
    if not [key for key in keys if str(key).strip()]:
        return [
            Error(
                "NUVLYX_ENCRYPTION_KEYS is empty: nothing could be encrypted or decrypted.",
                hint='Generate a key with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"',
                id="nuvlyx.E001",
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(str(key).strip().encode())
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"NUVLYX_ENCRYPTION_KEYS: key {position} of {len(keys)} is not a valid Fernet key "
                    "(32 bytes, url-safe base64).",
                    hint="Keys are made by Fernet.generate_key(); check for a truncated or mistyped value.",
                    id="nuvlyx.E002",
                )
            )
    return errors
