"""The webhook endpoint and delivery shapes (API.md "Webhooks"), each built by one function here.

(The payload a webhook delivers is the event envelope, nuvlyx.core.events.envelope.)
"""

from nuvlyx.core.formats import format_datetime, format_id

from .models import Delivery, WebhookEndpoint


def endpoint_payload(endpoint: WebhookEndpoint) -> dict:
    """A webhook endpoint (never its secret: POST /webhooks adds it once)."""
    return {
        "id": format_id(endpoint.pk),
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "active": endpoint.active,
        "createdAt": format_datetime(endpoint.created_at),
    }


def delivery_payload(delivery: Delivery) -> dict:
    """One delivery attempt record of GET /webhooks/:id/deliveries."""
    return {
        "id": format_id(delivery.pk),
        "eventId": format_id(delivery.event_id),
        "eventType": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "responseStatus": delivery.response_status,
        "durationMs": delivery.duration_ms,
        "lastError": delivery.last_error or None,
        "nextAttemptAt": format_datetime(delivery.next_attempt_at),
        "createdAt": format_datetime(delivery.created_at),
        "deliveredAt": format_datetime(delivery.delivered_at),
    }
