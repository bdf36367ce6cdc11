"""Reads of orders: the list and detail querysets (fixed query counts) and their JSON shapes."""

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from nuvlyx.core.crypto import decrypt
from nuvlyx.core.money import format_amount
from nuvlyx.core.timeutil import format_datetime

from .models import Order, OrderItem


def order_list_queryset(*, store, filters: dict | None = None) -> QuerySet:
    """Newest first; customer joined, items prefetched with only the list fields (3 queries with the count)."""
    filters = filters or {}
    qs = Order.objects.for_store(store).select_related("customer")
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("user_id"):
        qs = qs.filter(customer_id=filters["user_id"])
    if filters.get("product_id"):
        qs = qs.filter(Exists(OrderItem.objects.filter(order_id=OuterRef("pk"), product_id=filters["product_id"])))
    if filters.get("variation_id"):
        qs = qs.filter(Exists(OrderItem.objects.filter(order_id=OuterRef("pk"), variation_id=filters["variation_id"])))
    if filters.get("date_from"):
        qs = qs.filter(created_at__gte=filters["date_from"])
    if filters.get("date_to"):
        qs = qs.filter(created_at__lt=filters["date_to"])
    items = OrderItem.objects.only("id", "order_id", "variation_id", "price_paid", "status", "position")
    return qs.order_by("-created_at", "-number").prefetch_related(Prefetch("items", queryset=items))


def order_detail_queryset(*, store) -> QuerySet:
    items = OrderItem.objects.select_related("license", "product")
    return Order.objects.for_store(store).select_related("customer").prefetch_related(Prefetch("items", queryset=items))


def order_get(*, store, order_id) -> Order | None:
    return order_detail_queryset(store=store).filter(pk=order_id).first()


def _user(order: Order) -> dict:
    customer = order.customer
    return {"id": str(customer.pk), "name": customer.name, "phone": customer.phone}


def order_list_data(order: Order) -> dict:
    """One row of GET /orders: exactly seed 002's shape (no credentials)."""
    return {
        "id": str(order.pk),
        "orderNumber": order.order_number,
        "status": order.status,
        "totalAmount": format_amount(order.total_amount),
        "currencyCode": order.currency,
        "createdAt": format_datetime(order.created_at),
        "user": _user(order),
        "items": [
            {
                "id": str(item.pk),
                "variationId": str(item.variation_id),
                "pricePaid": format_amount(item.price_paid),
                "status": item.status,
            }
            for item in order.items.all()
        ],
    }


def _license_data(item: OrderItem) -> dict | None:
    lic = item.license
    if lic is None:
        return None
    return {
        "id": str(lic.pk),
        "credentials": decrypt(lic.credentials_encrypted),
        "deliveredAt": format_datetime(lic.delivered_at),
        "expiresAt": format_datetime(lic.expires_at),
    }


def _fulfilment_data(item: OrderItem) -> dict | None:
    """What the owner entered when fulfilling an item by hand (SERVICE / non-stock items)."""
    if item.license_id is not None or item.status == OrderItem.Status.PENDING or item.delivered_at is None:
        return None
    credentials = decrypt(item.fulfilment_credentials_encrypted) if item.fulfilment_credentials_encrypted else None
    return {
        "credentials": credentials,
        "note": item.fulfilment_note or None,
        "deliveredAt": format_datetime(item.delivered_at),
        "expiresAt": format_datetime(item.expires_at),
    }


def order_detail_data(order: Order) -> dict:
    """GET /orders/:id (and the data of every order.* event): items with decrypted credentials.

    Load the order with order_detail_queryset() (or order_get()) so this makes no query.
    """
    data = order_list_data(order)
    data.update(
        {
            "notes": order.notes,
            "updatedAt": format_datetime(order.updated_at),
            "completedAt": format_datetime(order.completed_at),
            "refundedAt": format_datetime(order.refunded_at),
            "cancelledAt": format_datetime(order.cancelled_at),
            "items": [
                {
                    "id": str(item.pk),
                    "productId": str(item.product_id),
                    "productName": item.product_name,
                    "variationId": str(item.variation_id),
                    "sku": item.sku,
                    "pricePaid": format_amount(item.price_paid),
                    "status": item.status,
                    "postSaleInstructions": item.product.post_sale_instructions,
                    "license": _license_data(item),
                    "fulfilment": _fulfilment_data(item),
                }
                for item in order.items.all()
            ],
        }
    )
    return data
