"""Celery tasks of the orders app."""

from celery import shared_task

from .reminders import reminders_run


@shared_task(name="orders.send_license_reminders", ignore_result=True)
def send_license_reminders() -> dict:
    """Beat: emit license.expiring / license.expired for every due point, once (orders/reminders.py).
    Returns {"sent": n, "skipped": m}; skipped points are also logged and counted in the database."""
    return reminders_run().as_dict()
