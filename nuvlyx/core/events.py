"""The event API every domain app uses: `emit(store=, type=, data=)`.

Consumers (webhooks, WhatsApp) register a handler in their AppConfig.ready(); core never
imports them, only their interest tests (SQL). emit() writes the Event row inside the caller's
transaction and, when a consumer wants it, enqueues one fan-out task on commit; events nobody
wants are written dispatched. If the broker is down the row stays undispatched and the periodic
sweeper picks it up.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

from . import sql
from .models import Event, Store
from .timeutil import format_datetime

logger = logging.getLogger(__name__)

EVENT_TYPES = (
    "order.created",
    "order.completed",
    "order.refunded",
    "order.cancelled",
    "order.item_replaced",
    "wallet.recharged",
    "product.created",
    "product.updated",
    "product.deleted",
    "inventory.low_stock",
    "customer.created",
    "license.expiring",
    "license.expired",
    "webhook.test",
)

EventHandler = Callable[[Event], None]
_handlers: dict[str, EventHandler] = {}
# name -> an SQL boolean over `wanted_for.store_id` (uuid) and `wanted_for.types` (text[]) of one batch
_interest: dict[str, str] = {}


def register_event_handler(name: str, handler: EventHandler, *, wants_sql: str | None = None) -> None:
    """Register a consumer. Handlers must be idempotent: an event may be dispatched twice.

    `wants_sql` (optional) is the consumer's interest test as an SQL boolean expression over
    `wanted_for.store_id` and `wanted_for.types` (e.g. "is there an active webhook endpoint for one of
    these types?"). It runs inside the INSERT of the events (sql.event_insert): events no consumer
    wants are written dispatched, and no task is queued for them. Without it, every event is wanted.
    """
    _handlers[name] = handler
    if wants_sql is None:
        _interest.pop(name, None)
    else:
        _interest[name] = wants_sql


def _wanted_expression() -> str:
    return " OR ".join(f"({_interest.get(name, 'TRUE')})" for name in _handlers) or "FALSE"


def anyone_wants(store_id, event_types: list[str]) -> bool:
    """Would a consumer do anything with these events of this store? (the test emit_many runs)"""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(sql.events_wanted(_wanted_expression()), [store_id, list(event_types)])
        return bool(cursor.fetchone()[0])


def event_handlers() -> dict[str, EventHandler]:
    return dict(_handlers)


def emit(*, store: Store, type: str, data: dict[str, Any]) -> Event:
    """Record an event in the caller's transaction; fan it out after commit."""
    return emit_many(store=store, events=[(type, data)])[0]


def emit_many(*, store: Store, events: list[tuple[str, dict[str, Any]]]) -> list[Event]:
    """Several events of one change (order.created + order.completed) in one INSERT, in order; the
    same statement asks the consumers whether they want them (unwanted ones are written dispatched)."""
    for event_type, _ in events:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
    rows = []
    for event_type, data in events:
        event = Event(store=store, type=event_type)
        event.payload = envelope(event, data, livemode=store.sandbox_of_id is None)
        rows.append(event)
    connection = transaction.get_connection()
    params: list[Any] = [store.pk, sorted({event.type for event in rows})]
    params += [v for e in rows for v in (e.pk, e.store_id, e.type, e.payload_encrypted, e.created_at)]
    with sql.prepared_cursor() as cursor:
        cursor.execute(sql.event_insert(len(rows), _wanted_expression()), params)
        wanted = cursor.fetchone()[0]
    for event in rows:
        event._state.adding = False
        event._state.db = connection.alias
        if not wanted:
            event.dispatched_at = event.created_at
    if wanted:
        _dispatch_after_commit([event.pk for event in rows])
    return rows


def _dispatch_after_commit(event_ids: list) -> None:
    """One fan-out task per transaction, not per event (an order emits two events at once).

    The batch rides on this transaction's on-commit callback: if the transaction (or the savepoint
    that registered it) rolls back, Django drops the callback and the next emit starts a new batch.
    If this process dies before the task is queued, the sweeper dispatches the events.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        enqueue_dispatch(event_ids)
        return
    for _sids, callback, _robust in connection.run_on_commit:
        batch = getattr(callback, "event_batch", None)
        if batch is not None:
            batch.extend(event_ids)
            return

    batch = list(event_ids)

    def flush() -> None:
        enqueue_dispatch(batch)

    flush.event_batch = batch  # type: ignore[attr-defined]
    transaction.on_commit(flush)


def envelope(event: Event, data: dict[str, Any], *, livemode: bool) -> dict[str, Any]:
    """The webhook payload shape of API.md, built once when the event is written. `livemode` is false
    for a sandbox's events (test mode)."""
    return {
        "id": str(event.pk),
        "type": event.type,
        "createdAt": format_datetime(event.created_at),
        "storeId": str(event.store_id),
        "livemode": livemode,
        "data": data,
    }


def enqueue_dispatch(event_ids) -> None:
    from .tasks import dispatch_events

    try:
        dispatch_events.delay([str(event_id) for event_id in event_ids])
    except Exception:  # broker down: the sweeper will dispatch them
        logger.warning("could not enqueue dispatch of %d event(s); the sweeper will retry", len(event_ids))


def dispatch(event_id) -> None:
    """Run every registered consumer for one event, then mark it dispatched (idempotent).

    A consumer that raises makes the dispatch fail: it is counted on the event and raised again
    (the task retries, the sweeper comes back); at EVENT_DISPATCH_MAX_ATTEMPTS failures the event
    is dead instead: logged, shown in the admin, never swept again.
    """
    from .timeutil import now

    event = Event.objects.filter(pk=event_id).select_related("store").first()
    if event is None or event.dispatched_at is not None or event.dead_at is not None:
        return
    for name, handler in event_handlers().items():
        try:
            handler(event)
        except Exception as exc:
            logger.exception("event handler %s failed for event %s", name, event.pk)
            if _dispatch_failed(event, consumer=name, exc=exc):
                return  # dead: the rest of the batch goes on
            raise
    Event.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(dispatched_at=now())


def _dispatch_failed(event: Event, *, consumer: str, exc: Exception) -> bool:
    """Count a failed dispatch; True when that was the last one allowed (the event is now dead).

    The error names the consumer and the exception type only: messages may quote the payload.
    """
    from django.conf import settings
    from django.db.models import F

    from .timeutil import now

    error = f"{consumer}: {type(exc).__name__}"[:300]
    Event.objects.filter(pk=event.pk).update(dispatch_attempts=F("dispatch_attempts") + 1, dispatch_error=error)
    attempts = Event.objects.filter(pk=event.pk).values_list("dispatch_attempts", flat=True).first() or 0
    if attempts < settings.EVENT_DISPATCH_MAX_ATTEMPTS:
        return False
    Event.objects.filter(pk=event.pk, dead_at__isnull=True).update(dead_at=now())
    logger.error(
        "event %s (%s) is dead after %s failed dispatches (last: %s); see Events in the admin",
        event.pk,
        event.type,
        attempts,
        error,
    )
    return True
