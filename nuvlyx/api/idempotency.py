"""Idempotency-Key on POST, with Stripe's semantics (API.md §1).

IdempotentPostMixin wraps the view's POST handler (DRF's own dispatch runs unchanged: authentication,
scope and rate limit first, errors through the one exception handler). Everything happens in ONE
transaction, the request's own: claim() takes a transaction-scoped PostgreSQL advisory lock on
(store, key) without waiting — a concurrent duplicate that finds it taken is answered 409
`idempotency_conflict` at once — and reads the key's stored response, if any (replayed byte for
byte; another request under the same key is 422 `idempotency_key_reused`). The handler then runs, and
its response is stored in the same transaction as its effect, so "effect happened" and "response
stored" commit together, and the lock is released by that commit (or by the rollback of a request
that died: nothing is left behind to reclaim). One commit per request, as without a key (issue 15:
the key used to cost a separate committed claim row and an update).
"""

import functools
import hashlib

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse

from nuvlyx.core import crypto
from nuvlyx.core.sql import prepared_cursor
from nuvlyx.core.timeutil import now

from . import sql
from .errors import DomainError
from .models import IdempotencyKey

HEADER = "HTTP_IDEMPOTENCY_KEY"
# Executed business refusals are stored; request-level failures are not (a retry runs again).
NOT_STORED_STATUSES = {401, 403, 405, 413, 415, 422, 429}
NOT_STORED_CODES = {"bad_request", "invalid_pagination"}
# One lock per (store, key), held until the request's transaction ends; never waited for.
TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))"


def lock_name(store_id, key: str) -> str:
    return f"idempotency:{store_id}:{key}"


def in_progress() -> DomainError:
    return DomainError(
        "A request with this Idempotency-Key is still being processed", status=409, code="idempotency_conflict"
    )


def validate_key(raw: str) -> str:
    if not (1 <= len(raw) <= 255) or any(not (0x20 <= ord(ch) < 0x7F) for ch in raw):
        raise DomainError("Idempotency-Key must be 1-255 printable ASCII characters", status=400, code="bad_request")
    return raw


def fingerprint(method: str, path: str, data) -> str:
    """SHA-256 of method, path and the body as canonical JSON.

    `data` is the body as the parser returned it (request.data): already parsed and validated
    (depth, integer range, valid Unicode), so the canonical form cannot fail.
    """
    canonical = dumps_sorted(data) if data not in (None, {}) else b""
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", canonical):
        digest.update(part)
    return digest.hexdigest()


def dumps_sorted(value) -> bytes:
    import orjson

    def default(obj):
        return str(getattr(obj, "literal", obj))

    return orjson.dumps(value, default=default, option=orjson.OPT_SORT_KEYS)


def claim(*, store, key: str, fp: str) -> IdempotencyKey | None:
    """Inside the request's transaction: the stored response to replay, or None (run the request).
    409 when a request with this key is running right now; 422 when the key served another request."""
    with prepared_cursor() as cursor:
        cursor.execute(TRY_LOCK, [lock_name(store.pk, key)])
        (locked,) = cursor.fetchone()
    if not locked:
        raise in_progress()
    with prepared_cursor() as cursor:
        cursor.execute(sql.KEY_LOOKUP, [store.pk, key])
        row = cursor.fetchone()
    if row is None:
        return None
    existing = IdempotencyKey.from_db(connection.alias, sql.KEY_FIELDS, list(row))
    if existing.created_at < now() - settings.IDEMPOTENCY_TTL or existing.state != IdempotencyKey.State.COMPLETED:
        # Expired (start over under the same key), or an IN_FLIGHT row of the earlier two-transaction
        # scheme, whose request is over (we hold the lock): delete only the row we saw.
        with connection.cursor() as cursor:
            cursor.execute(sql.KEY_DELETE, [existing.pk])
        return None
    if existing.fingerprint != fp:
        raise DomainError(
            "Idempotency-Key was already used with a different request", status=422, code="idempotency_key_reused"
        )
    return existing


def is_storable(status: int, code: str | None) -> bool:
    if status >= 500 or status in NOT_STORED_STATUSES:
        return False
    return code not in NOT_STORED_CODES


def store_response(*, store, key: str, fp: str, status: int, body: bytes, content_type: str) -> None:
    """Keep the response under the key, in the transaction of the effect it describes (no savepoint:
    a failure here must roll the effect back with it)."""
    stamp = now()
    params = [
        store.pk,
        key,
        fp,
        IdempotencyKey.State.COMPLETED,
        stamp,
        status,
        crypto.encrypt(body.decode("utf-8")),
        content_type,
        stamp,
    ]
    try:
        with prepared_cursor() as cursor:
            cursor.execute(sql.KEY_STORE, params)
    except IntegrityError:  # cannot happen under the lock; if it does, the effect must not commit either
        raise in_progress() from None


def replay_body(record: IdempotencyKey) -> bytes:
    """The stored response, byte for byte."""
    if not record.response_body_encrypted:
        return b""
    return crypto.decrypt(record.response_body_encrypted).encode("utf-8")


def purge_expired() -> int:
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=now() - settings.IDEMPOTENCY_TTL).delete()
    return deleted


# --- the view side ------------------------------------------------------------------------------
class IdempotentPostMixin:
    """Every POST handler of the view honours Idempotency-Key (`idempotent_post = False` opts out).

    The handler DRF is about to call (`post`, or the viewset action `as_view()` bound to it) is
    wrapped for this request only; everything else is DRF's dispatch.
    """

    idempotent_post = True

    def dispatch(self, request, *args, **kwargs):
        handler = getattr(self, "post", None)
        if request.method == "POST" and self.idempotent_post and handler is not None:
            self.post = functools.partial(idempotent_response, self, handler)
        return super().dispatch(request, *args, **kwargs)


def idempotent_response(view, handler, request, *args, **kwargs):
    """Run `handler` under the request's Idempotency-Key (if any): replay a completed response, refuse
    a reused or in-flight key, or run it and store its response in the same transaction as its effect."""
    if HEADER not in request.META:
        return handler(request, *args, **kwargs)
    key = validate_key(request.META[HEADER])
    fp = fingerprint(request.method, request.get_full_path(), request.data)
    with transaction.atomic():
        stored = claim(store=view.store, key=key, fp=fp)
        if stored is not None:
            replay = HttpResponse(
                replay_body(stored),
                status=stored.response_status,
                content_type=stored.response_content_type or "application/json",
            )
            replay["Idempotent-Replayed"] = "true"
            return replay
        try:
            with transaction.atomic():
                response = handler(request, *args, **kwargs)
        except Exception as exc:
            response = view.handle_exception(exc)
            # The inner block already undid the effects; what remains (the lock) is ours to commit.
            transaction.set_rollback(False)
        response = view.finalize_response(request, response, *args, **kwargs)
        if hasattr(response, "render"):
            response.render()
        if is_storable(response.status_code, getattr(response, "error_code", None)):
            store_response(
                store=view.store,
                key=key,
                fp=fp,
                status=response.status_code,
                body=response.content,
                content_type=response.get("Content-Type", "application/json"),
            )
    return response


__all__ = [
    "HEADER",
    "IdempotentPostMixin",
    "claim",
    "fingerprint",
    "idempotent_response",
    "is_storable",
    "replay_body",
    "store_response",
    "validate_key",
]
