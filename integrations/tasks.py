"""Celery tasks of the WhatsApp (Mosend) integration. They take ids and call integrations.whatsapp."""

from celery import shared_task

from nuvlyx.core import delivery

from . import whatsapp


@shared_task(name="integrations.send_whatsapp", ignore_result=True)
def send_whatsapp(message_id: str) -> str:
    """One send attempt. Retries are scheduled by the delivery engine (MOSEND_RETRY_SCHEDULE)."""
    return whatsapp.message_send(message_id=message_id)


@shared_task(name="integrations.sweep_messages", ignore_result=True)
def sweep_messages() -> int:
    """Beat, every minute: re-enqueue PENDING messages that are due (lost task, long backoff)."""
    return delivery.sweep(whatsapp.CHANNEL, limit=500)
