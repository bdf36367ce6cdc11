"""Writes for API tokens. The plaintext token leaves this module exactly once: as a return value."""

import json
from datetime import datetime, timedelta

from django.db import connection, transaction

from nuvlyx.core.errors import DomainError
from nuvlyx.core.models import Store
from nuvlyx.core.sandbox import store_sandbox
from nuvlyx.core.scopes import SCOPES
from nuvlyx.core.sql import prepared_cursor
from nuvlyx.core.timeutil import now

from . import sql, token_cache, tokens
from .models import ApiToken

LAST_USED_RESOLUTION = timedelta(minutes=1)
STORE_ATTNAMES = [Store._meta.get_field(name).attname for name in sql.STORE_FIELDS]  # type: ignore[union-attr]  # sandbox_of → sandbox_of_id


class TokenError(DomainError):
    """A refused token: `field` names the input at fault (422 validation_error)."""

    status_code = 422
    code = "validation_error"

    def __init__(self, message: str, *, field: str = "scopes"):
        super().__init__(message, field=field)


def validate_scopes(scopes: list[str]) -> list[str]:
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise TokenError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if not scopes:
        raise TokenError("at least one scope is required")
    return [scope for scope in SCOPES if scope in scopes]  # canonical order, no duplicates


@transaction.atomic
def api_token_create(
    *,
    store: Store,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    rate_limit_per_minute: int | None = None,
    created_by=None,
    livemode: bool | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns (row, plaintext). Only the hash is stored.

    `livemode=False` makes an `nvl_test_` token of the store's sandbox (created on first use);
    given a sandbox as `store`, the token is a test token too (a token's prefix follows its store)."""
    scopes = validate_scopes(scopes)
    if not name.strip():
        raise TokenError("a token needs a name", field="name")
    if livemode is False and store.sandbox_of_id is None:
        store = store_sandbox(store=store)
    elif livemode is True and store.sandbox_of_id is not None:
        raise TokenError("a live token cannot belong to a sandbox")
    plaintext = tokens.generate(livemode=store.sandbox_of_id is None)
    token = ApiToken.objects.create(
        store=store,
        name=name.strip(),
        scopes=scopes,
        prefix=tokens.display_prefix(plaintext),
        token_hash=tokens.hash_token(plaintext),
        expires_at=expires_at,
        rate_limit_per_minute=rate_limit_per_minute,
        created_by=created_by,
    )
    return token, plaintext


def token_changed(token: ApiToken) -> None:
    """Every process drops its cached copy of this token: now (this process) and once committed."""
    token_cache.publish(token.token_hash)
    transaction.on_commit(lambda: token_cache.publish(token.token_hash))


def store_changed(store_id) -> None:
    """Every process drops its cached tokens of this store (they carry the store's name and currency)."""
    token_cache.publish(f"store:{store_id}")
    transaction.on_commit(lambda: token_cache.publish(f"store:{store_id}"))


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = now()
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=token.revoked_at)
        token_changed(token)
    return token


def _token_by_hash(token_hash: str) -> ApiToken | None:
    with prepared_cursor() as cursor:
        cursor.execute(sql.TOKEN_BY_HASH, [token_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row[: len(sql.TOKEN_FIELDS)])
    scopes_index = sql.TOKEN_FIELDS.index("scopes")
    if isinstance(values[scopes_index], str):
        values[scopes_index] = json.loads(values[scopes_index])
    token = ApiToken.from_db(connection.alias, list(sql.TOKEN_FIELDS), values)
    token.store = Store.from_db(connection.alias, STORE_ATTNAMES, list(row[len(sql.TOKEN_FIELDS) :]))
    return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The active token for a raw bearer value, or None. Bad checksums never reach the database."""
    if not tokens.is_well_formed(raw):
        return None
    token = token_cache.cache.get_or_load(tokens.hash_token(raw), _token_by_hash)
    if token is None or not token.is_active:
        return None
    if tokens.is_test(raw) != (token.store.sandbox_of_id is not None):
        return None  # the prefix and the token's store disagree: never let it act on the other world
    current = now()
    if token.last_used_at is None or current - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=current)
        token.last_used_at = current
    return token
