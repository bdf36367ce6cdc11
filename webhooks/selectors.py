"""Reads used by the API, the admin and the sweeper (query counts fixed here)."""

from django.db.models import QuerySet

from nuvlyx.core.errors import NotFound
from nuvlyx.core.models import Store

from .filters import DeliveryFilter
from .models import Delivery, WebhookEndpoint

DELIVERY_LIST_FIELDS = (
    "id",
    "event_id",
    "event_type",
    "status",
    "attempts",
    "response_status",
    "duration_ms",
    "last_error",
    "next_attempt_at",
    "created_at",
    "delivered_at",
)


def endpoint_list(*, store: Store) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_store(store).order_by("created_at", "id")


def endpoint_get(*, store: Store, endpoint_id) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_store(store).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("Webhook not found")
    return endpoint


def delivery_list(*, endpoint: WebhookEndpoint, filters: dict | None = None) -> QuerySet[Delivery]:
    """The endpoint's deliveries matching DeliveryFilter.parse()'s filters, newest first."""
    qs = Delivery.objects.for_store(endpoint.store_id).filter(endpoint=endpoint)
    return DeliveryFilter.apply(qs, filters or {}).only(*DELIVERY_LIST_FIELDS).order_by("-created_at", "-id")


def delivery_get(*, endpoint: WebhookEndpoint, delivery_id) -> Delivery:
    delivery = (
        Delivery.objects.for_store(endpoint.store_id)
        .filter(endpoint=endpoint, pk=delivery_id)
        .select_related("endpoint")
        .first()
    )
    if delivery is None:
        raise NotFound("Delivery not found")
    return delivery
