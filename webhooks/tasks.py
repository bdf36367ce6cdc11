"""Celery tasks: one delivery attempt, and the sweeper (beat, every minute). Tasks take ids only."""

from celery import shared_task

from nuvlyx.core import delivery

from . import services


@shared_task(name="webhooks.deliver", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(delivery_id: str) -> str:
    """One attempt. Safe to run twice: the lease lets only one worker send a due delivery at a time."""
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.deliver_in_order", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_in_order(delivery_ids: list[str]) -> list[str]:
    """The first attempts of one endpoint's deliveries of one transaction's events, one after the other
    (order.created before order.completed). Retries after a failure are queued one by one, unordered."""
    return [services.delivery_attempt(delivery_id=delivery_id) for delivery_id in delivery_ids]


@shared_task(name="webhooks.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> int:
    """Re-enqueue due deliveries nobody holds (broker down at commit, worker killed mid-send).

    Events never fanned out are re-dispatched by core.sweep_events (its own beat entry).
    """
    return delivery.sweep(services.CHANNEL)
