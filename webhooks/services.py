"""Every webhook write: endpoints, fan-out, one delivery attempt, redelivery, tests.

The API, the admin and the Celery tasks all call these functions.
"""

import logging
import random
import time
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from nuvlyx.core import crypto
from nuvlyx.core.errors import DomainError
from nuvlyx.core.events import EVENT_TYPES, emit
from nuvlyx.core.models import Event, Store
from nuvlyx.core.timeutil import format_datetime, now

from . import signing, ssrf, transport
from .models import Attempt, Delivery, WebhookEndpoint

logger = logging.getLogger(__name__)

WILDCARD = "*"
TEST_EVENT = "webhook.test"


class WebhookError(DomainError):
    """A refused write: `field` names the input at fault (422 validation_error), None a state conflict (409)."""

    def __init__(self, message: str, *, field: str | None = None):
        if field is None:
            super().__init__(message, status=409, code="conflict")
        else:
            super().__init__(message, status=422, code="validation_error", field=field)


# --- endpoints ---------------------------------------------------------------------------------
def normalize_events(events: list[str]) -> list[str]:
    if not events:
        raise WebhookError('events must be a non-empty list of event types, or ["*"]', field="events")
    if WILDCARD in events:
        if len(set(events)) != 1:
            raise WebhookError('"*" must be the only entry when given', field="events")
        return [WILDCARD]
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise WebhookError(
            f"unknown event type(s): {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}", field="events"
        )
    return [e for e in EVENT_TYPES if e in events]  # canonical order, no duplicates


def _validate_url(url: str) -> str:
    try:
        return ssrf.validate_url(url)
    except ssrf.UnsafeUrl as exc:
        raise WebhookError(str(exc), field="url") from None


@transaction.atomic
def endpoint_create(
    *, store: Store, url: str, events: list[str], description: str = "", active: bool = True
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; returns (row, secret). The secret is stored encrypted and returned only here."""
    url = _validate_url(url)
    events = normalize_events(events)
    secret = signing.generate_secret()
    endpoint = WebhookEndpoint.objects.create(
        store=store,
        url=url,
        events=events,
        description=description,
        active=active,
        secret_encrypted=crypto.encrypt(secret),
    )
    return endpoint, secret


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    return crypto.decrypt(endpoint.secret_encrypted)


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """PATCH semantics: None leaves a field as it is. Re-enabling clears the failure tracking."""
    if url is not None and url != endpoint.url:
        endpoint.url = _validate_url(url)
        endpoint.failing_since = None  # a new address starts with a clean record
    if events is not None:
        endpoint.events = normalize_events(events)
    if description is not None:
        endpoint.description = description
    if active is not None:
        if active and not endpoint.active:
            endpoint.failing_since = None
            endpoint.disabled_at = None
            endpoint.disabled_reason = ""
        endpoint.active = active
    endpoint.save()
    return endpoint


def endpoint_reenable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return endpoint_update(endpoint=endpoint, active=True)


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Deletes the endpoint and its delivery log; queued tasks for it find nothing and stop.

    Redeliveries go first: deleting an original would otherwise null their `redelivery_of`
    and make them clash with the once-per-event constraint.
    """
    Delivery.objects.filter(endpoint=endpoint, redelivery_of__isnull=False).delete()
    endpoint.delete()


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint) -> Delivery:
    """Emit a webhook.test event for this endpoint only, and queue its delivery (on commit)."""
    if not endpoint.active:
        raise WebhookError("Webhook endpoint is inactive; enable it before sending a test event")
    event = emit(
        store=endpoint.store,
        type=TEST_EVENT,
        data={"webhookId": str(endpoint.pk), "message": "Test event sent from Nuvlyx"},
    )
    delivery = _delivery_create(endpoint=endpoint, event=event)
    return delivery


# --- fan-out (runs in the worker, through core.dispatch_events) ---------------------------------
def _delivery_create(*, endpoint: WebhookEndpoint, event: Event, redelivery_of: Delivery | None = None) -> Delivery:
    delivery = Delivery.objects.create(
        store_id=endpoint.store_id,
        endpoint=endpoint,
        event=event,
        event_type=event.type,
        redelivery_of=redelivery_of,
        next_attempt_at=now(),
    )
    transaction.on_commit(lambda: enqueue_delivery(delivery.pk))
    return delivery


def _targets(event: Event) -> list[WebhookEndpoint]:
    # An endpoint receives the events that happened after it was created, even when the fan-out
    # runs later (queued work, a sweeper catching up after a broker outage).
    endpoints = WebhookEndpoint.objects.for_store(event.store_id).filter(active=True, created_at__lte=event.created_at)
    if event.type == TEST_EVENT:
        target = (event.payload.get("data") or {}).get("webhookId")
        try:
            target_id = UUID(str(target))
        except ValueError:
            return []
        return list(endpoints.filter(pk=target_id))
    return [endpoint for endpoint in endpoints if endpoint.wants(event.type)]


def fan_out(event: Event) -> list[Delivery]:
    """The event handler: one Delivery per matching active endpoint, idempotently; tasks on commit."""
    created: list[Delivery] = []
    with transaction.atomic():
        targets = _targets(event)
        if not targets:
            return created
        existing = set(
            Delivery.objects.filter(event=event, redelivery_of__isnull=True).values_list("endpoint_id", flat=True)
        )
        for endpoint in targets:
            if endpoint.pk in existing:
                continue
            try:
                with transaction.atomic():
                    created.append(_delivery_create(endpoint=endpoint, event=event))
            except IntegrityError:  # a concurrent dispatch of the same event created it
                continue
    return created


def enqueue_delivery(delivery_id, countdown: float | None = None) -> None:
    from .tasks import deliver

    try:
        if countdown:
            deliver.apply_async((str(delivery_id),), countdown=countdown)
        else:
            deliver.delay(str(delivery_id))
    except Exception:  # broker down: the sweeper re-enqueues what is due
        logger.warning("could not enqueue webhook delivery %s; the sweeper will retry", delivery_id)


# --- redelivery --------------------------------------------------------------------------------
@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """A new delivery of the same event (same webhook-id) to the same endpoint."""
    endpoint = delivery.endpoint
    if not endpoint.active:
        raise WebhookError("Webhook endpoint is inactive; enable it before redelivering")
    if delivery.status == Delivery.Status.PENDING:
        raise WebhookError("Delivery is still pending; it will be retried automatically")
    original = delivery.redelivery_of or delivery
    return _delivery_create(endpoint=endpoint, event=delivery.event, redelivery_of=original)


# --- one attempt (runs in the worker) ------------------------------------------------------------
def _lease_seconds() -> float:
    return float(settings.WEBHOOK_LEASE_SECONDS)


def max_attempts() -> int:
    return len(settings.WEBHOOK_RETRY_SCHEDULE) + 1


def retry_delay(*, attempts_made: int, retry_after: float | None = None) -> float:
    """Seconds until the next attempt after `attempts_made` failures (schedule ± 10 % jitter)."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    base = float(schedule[min(attempts_made, len(schedule)) - 1])
    delay = base * random.uniform(0.9, 1.1)
    if retry_after is not None:
        delay = max(delay, min(retry_after, float(max(schedule))))
    return delay


INTERRUPTED = "Interrupted: the worker stopped before the attempt finished (lease expired)"


def _due(current):
    return Delivery.objects.filter(status=Delivery.Status.PENDING).filter(
        # a message that arrives early (e.g. a redelivered ETA task) waits for the sweeper
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=current + timedelta(seconds=1))
    )


def _take_lease(delivery_id) -> bool:
    current = now()
    lease = current + timedelta(seconds=_lease_seconds())
    if _due(current).filter(pk=delivery_id, locked_until__isnull=True).update(locked_until=lease):
        return True
    return _take_expired_lease(delivery_id, current=current, lease=lease)


@transaction.atomic
def _take_expired_lease(delivery_id, *, current, lease) -> bool:
    """A lease that expired belonged to an attempt cut off mid-way (the worker was killed, or hit
    its hard time limit): the request may have reached the receiver, so it counts as an attempt."""
    delivery = (
        _due(current)
        .select_for_update(skip_locked=True)
        .filter(pk=delivery_id, locked_until__lt=current)
        .only("pk", "store_id", "attempts", "locked_until")
        .first()
    )
    if delivery is None:
        return False
    number = delivery.attempts + 1
    Attempt.objects.create(
        store_id=delivery.store_id, delivery_id=delivery.pk, number=number, duration_ms=0, error=INTERRUPTED
    )
    fields = {"attempts": number, "last_error": INTERRUPTED, "response_status": None, "duration_ms": None}
    if number >= max_attempts():
        Delivery.objects.filter(pk=delivery.pk).update(
            **fields, status=Delivery.Status.FAILED, next_attempt_at=None, locked_until=None
        )
        return False
    Delivery.objects.filter(pk=delivery.pk).update(**fields, locked_until=lease)
    return True


def delivery_attempt(*, delivery_id) -> str:
    """Send one attempt of a delivery if it is due and nobody else holds it. Returns what happened."""
    if not _take_lease(delivery_id):
        return "skipped"
    delivery = Delivery.objects.select_related("endpoint", "event").filter(pk=delivery_id).first()
    if delivery is None:  # the endpoint was deleted meanwhile
        return "gone_away"
    endpoint = delivery.endpoint
    if not endpoint.active:
        reason = endpoint.disabled_reason or "Webhook endpoint is inactive"
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED, next_attempt_at=None, locked_until=None, last_error=f"Not sent: {reason}"
        )
        return "endpoint_inactive"

    body = signing.serialize(delivery.event.payload)
    try:
        secret = endpoint_secret(endpoint)
    except crypto.DecryptionError:
        error = "Not sent: the signing secret could not be decrypted with the configured keys"
        result = transport.Result(None, 0, error, "", None)
    else:
        headers = signing.headers(secret=secret, msg_id=str(delivery.event_id), timestamp=int(time.time()), body=body)
        timeout = settings.WEBHOOK_TIMEOUT_SECONDS
        result = transport.post(url=endpoint.url, body=body, headers=headers, timeout=timeout)
    return _record(delivery_id=delivery.pk, endpoint_id=endpoint.pk, result=result)


@transaction.atomic
def _record(*, delivery_id, endpoint_id, result: transport.Result) -> str:
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:  # the endpoint was deleted while we were sending
        return "gone_away"
    current = now()
    number = delivery.attempts + 1
    Attempt.objects.create(
        store_id=delivery.store_id,
        delivery=delivery,
        number=number,
        response_status=result.status,
        duration_ms=result.duration_ms,
        error=result.error[:500],
        response_excerpt=result.excerpt,
    )
    delivery.attempts = number
    delivery.response_status = result.status
    delivery.duration_ms = result.duration_ms
    delivery.last_error = result.error[:500]
    delivery.locked_until = None
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint_id)

    if result.ok:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.delivered_at = current
        delivery.next_attempt_at = None
        delivery.save()
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return "succeeded"

    endpoints.filter(failing_since__isnull=True).update(failing_since=current)
    if result.status == 410:
        endpoint_disable(
            endpoint_id=endpoint_id,
            reason=f"Disabled {format_datetime(current)}: the receiver answered 410 Gone",
        )
        outcome = "gone"
    else:
        failing_for = timedelta(days=settings.WEBHOOK_DISABLE_AFTER_FAILING_DAYS)
        cutoff = current - failing_for
        if endpoints.filter(failing_since__lte=cutoff, active=True).exists():
            endpoint_disable(
                endpoint_id=endpoint_id,
                reason=f"Disabled {format_datetime(current)}: every delivery failed for "
                f"{settings.WEBHOOK_DISABLE_AFTER_FAILING_DAYS} days (last error: {result.error})"[:300],
            )
            outcome = "endpoint_disabled"
        elif number < max_attempts():
            delay = retry_delay(attempts_made=number, retry_after=result.retry_after)
            delivery.next_attempt_at = current + timedelta(seconds=delay)
            delivery.save()
            transaction.on_commit(lambda: enqueue_delivery(delivery_id, countdown=delay))
            return "retry"
        else:
            outcome = "failed"
    delivery.status = Delivery.Status.FAILED
    delivery.next_attempt_at = None
    delivery.save()
    return outcome


def endpoint_disable(*, endpoint_id, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
        active=False, disabled_at=now(), disabled_reason=reason[:300]
    )


# --- the sweeper ---------------------------------------------------------------------------------
def sweep_due(*, limit: int = 1000) -> int:
    """Re-enqueue PENDING deliveries that are due and not leased (broker was down, worker died)."""
    from .selectors import deliveries_due

    ids = list(deliveries_due(at=now()).values_list("pk", flat=True)[:limit])
    for delivery_id in ids:
        enqueue_delivery(delivery_id)
    return len(ids)
