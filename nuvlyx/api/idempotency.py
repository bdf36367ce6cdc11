"""Idempotency-Key on POST, with Stripe's semantics (API.md §1).

IdempotentPostMixin wraps the view's POST handler (DRF's own dispatch runs unchanged: authentication,
scope and rate limit first, errors through the one exception handler). claim() inserts an IN_FLIGHT
row (committed at once, so concurrent duplicates see it); the handler runs inside a transaction that
also stores the response, so "effect happened" and "response stored" commit together. A row left
IN_FLIGHT by a killed process is reclaimable after IDEMPOTENCY_IN_FLIGHT_TIMEOUT (its transaction
never committed).
"""

import functools
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse

from nuvlyx.core import crypto
from nuvlyx.core.timeutil import now

from .errors import DomainError
from .models import IdempotencyKey

HEADER = "HTTP_IDEMPOTENCY_KEY"
# Executed business refusals are stored; request-level failures are not (a retry runs again).
NOT_STORED_STATUSES = {401, 403, 405, 413, 415, 422, 429}
NOT_STORED_CODES = {"bad_request", "invalid_pagination"}


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


@dataclass
class Claim:
    record: IdempotencyKey
    replay: IdempotencyKey | None = None


def claim(*, store, key: str, fp: str) -> Claim:
    """Take the key for this request, or say why not (replay, 409, 422)."""
    current = now()
    for _ in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(store=store, key=key, fingerprint=fp, locked_at=current)
            return Claim(record=record)
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(store=store, key=key).first()
        if existing is None:
            continue  # purged between our insert and read: try again
        if existing.created_at < current - settings.IDEMPOTENCY_TTL:
            # Expired: start over under the same key (delete only the row we saw).
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != fp:
            raise DomainError(
                "Idempotency-Key was already used with a different request",
                status=422,
                code="idempotency_key_reused",
            )
        if existing.state == IdempotencyKey.State.COMPLETED:
            return Claim(record=existing, replay=existing)
        stale = existing.locked_at < current - settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT
        if stale and IdempotencyKey.objects.filter(
            pk=existing.pk, state=IdempotencyKey.State.IN_FLIGHT, locked_at=existing.locked_at
        ).update(locked_at=current):
            existing.locked_at = current
            return Claim(record=existing)
        raise DomainError(
            "A request with this Idempotency-Key is still being processed",
            status=409,
            code="idempotency_conflict",
        )
    raise DomainError("Could not claim the Idempotency-Key; retry", status=409, code="idempotency_conflict")


def is_storable(status: int, code: str | None) -> bool:
    if status >= 500 or status in NOT_STORED_STATUSES:
        return False
    return code not in NOT_STORED_CODES


def complete(record: IdempotencyKey, *, status: int, body: bytes, content_type: str) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(
        state=IdempotencyKey.State.COMPLETED,
        response_status=status,
        response_body_encrypted=crypto.encrypt(body.decode("utf-8")),
        response_content_type=content_type,
    )


def replay_body(record: IdempotencyKey) -> bytes:
    """The stored response, byte for byte."""
    if not record.response_body_encrypted:
        return b""
    return crypto.decrypt(record.response_body_encrypted).encode("utf-8")


def release(record: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyKey.State.IN_FLIGHT).delete()


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
    taken = claim(store=view.store, key=key, fp=fingerprint(request.method, request.get_full_path(), request.data))
    if taken.replay is not None:
        replay = HttpResponse(
            replay_body(taken.replay),
            status=taken.replay.response_status,
            content_type=taken.replay.response_content_type or "application/json",
        )
        replay["Idempotent-Replayed"] = "true"
        return replay
    stored = False
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    response = handler(request, *args, **kwargs)
            except Exception as exc:
                response = view.handle_exception(exc)
                # The inner block already undid the effects; what remains is ours to commit.
                transaction.set_rollback(False)
            response = view.finalize_response(request, response, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
            if is_storable(response.status_code, getattr(response, "error_code", None)):
                complete(
                    taken.record,
                    status=response.status_code,
                    body=response.content,
                    content_type=response.get("Content-Type", "application/json"),
                )
                stored = True
    finally:
        if not stored:
            release(taken.record)
    return response


__all__ = [
    "HEADER",
    "Claim",
    "IdempotentPostMixin",
    "claim",
    "complete",
    "fingerprint",
    "idempotent_response",
    "is_storable",
    "release",
    "replay_body",
    "validate_key",
]
