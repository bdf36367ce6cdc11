"""Every webhook write: endpoints, fan-out, one delivery attempt, redelivery, tests.

The API, the admin and the Celery tasks all call these functions.
"""

import logging
import time
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from nuvlyx.core import crypto
from nuvlyx.core import delivery as delivery_engine
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

    def __init__(self, message: str, *, field: str | None = None, owner: tuple[str, dict] | None = None):
        if field is None:
            super().__init__(message, status=409, code="conflict", owner=owner)
        else:
            super().__init__(message, status=422, code="validation_error", field=field, owner=owner)


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
        raise WebhookError(str(exc), field="url", owner=exc.owner) from None


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
        raise WebhookError(
            "Webhook endpoint is inactive; enable it before sending a test event",
            owner=(gettext_noop("This endpoint is inactive: enable it before sending a test event."), {}),
        )
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


# --- redelivery --------------------------------------------------------------------------------
@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """A new delivery of the same event (same webhook-id) to the same endpoint."""
    endpoint = delivery.endpoint
    if not endpoint.active:
        raise WebhookError(
            "Webhook endpoint is inactive; enable it before redelivering",
            owner=(gettext_noop("This endpoint is inactive: enable it before sending again."), {}),
        )
    if delivery.status == Delivery.Status.PENDING:
        raise WebhookError(
            "Delivery is still pending; it will be retried automatically",
            owner=(gettext_noop("This delivery is still pending: it is retried automatically."), {}),
        )
    original = delivery.redelivery_of or delivery
    return _delivery_create(endpoint=endpoint, event=delivery.event, redelivery_of=original)


# --- delivery: the webhook channel of the outbound engine (nuvlyx/core/delivery.py) ----------------
class WebhookChannel(delivery_engine.Channel):
    """Webhooks plug into the engine with their transport (a signed POST) and their payload (the event)."""

    name = "webhooks"
    noun = "webhook delivery"
    # API.md §2: "A 2xx within 10 s is success; anything else is retried" (a 410 still disables the
    # endpoint, on_failure). WhatsApp keeps §4's "4xx other than 429: no retry".
    client_errors_final = False

    def enqueue_first_attempts(self, pks: list) -> None:
        """One task per endpoint, its deliveries in event order (API.md: order.created first)."""
        endpoint_of = dict(Delivery.objects.filter(pk__in=pks).values_list("pk", "endpoint_id"))
        by_endpoint: dict[Any, list] = {}
        for pk in pks:
            by_endpoint.setdefault(endpoint_of.get(pk), []).append(pk)
        for ids in by_endpoint.values():
            if len(ids) == 1:
                super().enqueue_first_attempts(ids)
                continue
            delivery_engine.queue_task(self, self.ordered_task, [str(pk) for pk in ids])

    model = Delivery
    schedule_setting = "WEBHOOK_RETRY_SCHEDULE"
    task = "webhooks.tasks.deliver"
    ordered_task = "webhooks.tasks.deliver_in_order"  # several first attempts to one endpoint, in order
    success_status = Delivery.Status.SUCCEEDED
    lease_field = "locked_until"
    error_field = "last_error"
    sent_at_field = "delivered_at"

    def lease_seconds(self) -> float:
        return float(settings.WEBHOOK_LEASE_SECONDS)

    def load(self, pk) -> Delivery | None:
        return Delivery.objects.select_related("endpoint", "event").filter(pk=pk).first()

    def send(self, delivery: Delivery) -> delivery_engine.Sent | delivery_engine.NotSent:
        endpoint = delivery.endpoint
        if not endpoint.active:
            reason = endpoint.disabled_reason or "Webhook endpoint is inactive"
            return delivery_engine.NotSent(Delivery.Status.FAILED, f"Not sent: {reason}", "endpoint_inactive")
        try:
            secret = endpoint_secret(endpoint)
        except crypto.DecryptionError:
            error = "Not sent: the signing secret could not be decrypted with the configured keys"
            return delivery_engine.Sent(None, error, permanent=True, duration_ms=0)
        body = signing.serialize(delivery.event.payload)
        headers = signing.headers(secret=secret, msg_id=str(delivery.event_id), timestamp=int(time.time()), body=body)
        result = transport.post(url=endpoint.url, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
        return delivery_engine.Sent(
            result.status,
            result.error,
            retry_after=result.retry_after,
            duration_ms=result.duration_ms,
            excerpt=result.excerpt,
        )

    def log_attempt(self, delivery: Delivery, number: int, sent: delivery_engine.Sent) -> None:
        Attempt.objects.create(
            store_id=delivery.store_id,
            delivery_id=delivery.pk,
            number=number,
            response_status=sent.status,
            duration_ms=sent.duration_ms or 0,
            error=sent.error[:500],
            response_excerpt=sent.excerpt,
        )

    def attempt_columns(self, sent: delivery_engine.Sent) -> dict:
        return {"response_status": sent.status, "duration_ms": sent.duration_ms}

    def on_success(self, delivery: Delivery, at) -> None:
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=False).update(failing_since=None)

    def on_failure(self, delivery: Delivery, sent: delivery_engine.Sent, at) -> str | None:
        """410 Gone disables the endpoint at once; so does failing for WEBHOOK_DISABLE_AFTER_FAILING_DAYS."""
        endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
        endpoints.filter(failing_since__isnull=True).update(failing_since=at)
        if sent.status == 410:
            endpoint_disable(
                endpoint_id=delivery.endpoint_id,
                reason=f"Disabled {format_datetime(at)}: the receiver answered 410 Gone",
            )
            return "gone"
        days = settings.WEBHOOK_DISABLE_AFTER_FAILING_DAYS
        if endpoints.filter(failing_since__lte=at - timedelta(days=days), active=True).exists():
            endpoint_disable(
                endpoint_id=delivery.endpoint_id,
                reason=f"Disabled {format_datetime(at)}: every delivery failed for "
                f"{days} days (last error: {sent.error})"[:300],
            )
            return "endpoint_disabled"
        return None


CHANNEL = WebhookChannel()  # registered with the engine in WebhooksConfig.ready()


def enqueue_delivery(delivery_id, countdown: float | None = None) -> None:
    delivery_engine.enqueue(CHANNEL, delivery_id, countdown=countdown)


def delivery_attempt(*, delivery_id) -> str:
    """One attempt of a delivery (the `webhooks.deliver` task). Returns what happened."""
    return delivery_engine.attempt(CHANNEL, delivery_id)


def endpoint_disable(*, endpoint_id, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
        active=False, disabled_at=now(), disabled_reason=reason[:300]
    )
