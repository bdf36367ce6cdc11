from datetime import timedelta

from celery import shared_task
from django.conf import settings

from . import delivery
from .events import dispatch, enqueue_dispatch
from .models import Event
from .timeutil import now


@shared_task(name="core.dispatch_events", bind=True, max_retries=10, default_retry_delay=10)
def dispatch_events(self, event_ids: list[str]) -> None:
    """Fan out the events of one transaction, in order. Dispatch is idempotent, so a retry
    after a partial failure re-runs only what is not yet marked dispatched."""
    try:
        with delivery.batched():  # the rows these events create are queued together, in event order
            for event_id in event_ids:
                dispatch(event_id)
    except Exception as exc:
        raise self.retry(exc=exc)


@shared_task(name="core.sweep_events")
def sweep_events() -> int:
    """Re-enqueue events that were never fanned out (broker down at commit, worker died); dead ones stay."""
    cutoff = now() - timedelta(seconds=settings.EVENT_SWEEP_GRACE_SECONDS)  # its own task may still be queued
    ids = list(
        Event.objects.filter(dispatched_at__isnull=True, dead_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:1000]
    )
    for start in range(0, len(ids), 100):
        enqueue_dispatch(ids[start : start + 100])
    return len(ids)
