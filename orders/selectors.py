"""Reads of orders: the list page and detail queryset (fixed query counts) and their JSON shapes."""

from django.db import connection, models
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from nuvlyx.core.crypto import decrypt
from nuvlyx.core.money import format_amount
from nuvlyx.core.timeutil import format_datetime, now

from . import sql
from .models import Order, OrderCounter, OrderItem, OrderItemReplacement, SubscriptionSettings


def order_list_queryset(*, store, filters: dict | None = None) -> QuerySet:
    """The store's orders matching the GET /orders filters, newest first (no rows loaded)."""
    filters = filters or {}
    qs = Order.objects.for_store(store)
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
    return qs.order_by("-created_at", "-number")


def order_total(*, store, filters: dict | None = None) -> int:
    """How many orders match. Unfiltered: the store's OrderCounter (one primary-key read), exact because
    numbers are gap-free (1..last_number, a rollback undoes the bump) and orders are never deleted
    (refunds and cancellations change a status; the admin cannot delete). Filtered: COUNT(*)."""
    if not any((filters or {}).values()):
        last = OrderCounter.objects.filter(store_id=store.pk).values_list("last_number", flat=True).first()
        if last is not None:
            return last
    return order_list_queryset(store=store, filters=filters).count()


_LIST_FIELDS = (
    "id",
    "number",
    "status",
    "total_amount",
    "currency",
    "created_at",
    "customer_id",
    "customer__name",
    "customer__phone",
)


def order_list_page(*, store, filters: dict | None, offset: int, limit: int) -> list[dict]:
    """One page of GET /orders as JSON rows: one query for the orders (customer joined), one for their items.

    values_list() rows, no model instances; the shape is seed 002's (no credentials in lists).
    """
    orders = list(order_list_queryset(store=store, filters=filters).values_list(*_LIST_FIELDS)[offset : offset + limit])
    if not orders:
        return []
    items: dict = {row[0]: [] for row in orders}
    item_rows = (
        OrderItem.objects.filter(order_id__in=list(items))
        .order_by("position", "id")
        .values_list("order_id", "id", "variation_id", "price_paid", "status")
    )
    for order_id, item_id, variation_id, price_paid, status in item_rows:
        items[order_id].append(
            {
                "id": str(item_id),
                "variationId": str(variation_id),
                "pricePaid": format_amount(price_paid),
                "status": status,
            }
        )
    return [
        {
            "id": str(order_id),
            "orderNumber": f"ORD-{number:06d}",
            "status": status,
            "totalAmount": format_amount(total_amount),
            "currencyCode": currency,
            "createdAt": format_datetime(created_at),
            "user": {"id": str(customer_id), "name": name, "phone": phone},
            "items": items[order_id],
        }
        for order_id, number, status, total_amount, currency, created_at, customer_id, name, phone in orders
    ]


def subscription_settings_for(store) -> SubscriptionSettings:
    """The store's subscription rules (reminder days, replacements per item); the defaults when never saved."""
    found = SubscriptionSettings.objects.filter(store_id=store.pk).first()
    return found or SubscriptionSettings(store=store)


def order_detail_queryset(*, store) -> QuerySet:
    replacements = OrderItemReplacement.objects.order_by("replaced_at", "id")
    items = OrderItem.objects.select_related("license", "product").prefetch_related(
        Prefetch("replacements", queryset=replacements)
    )
    return Order.objects.for_store(store).select_related("customer").prefetch_related(Prefetch("items", queryset=items))


def order_get(*, store, order_id) -> Order | None:
    return order_detail_queryset(store=store).filter(pk=order_id).first()


def _user(order: Order) -> dict:
    customer = order.customer
    return {"id": str(customer.pk), "name": customer.name, "phone": customer.phone}


def order_list_data(order: Order, items=None) -> dict:
    """One row of GET /orders for a loaded Order (seed 002's shape, no credentials); order_list_page() is
    the list endpoint's fast path and renders the same shape from values() rows."""
    items = order.items.all() if items is None else items
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
            for item in items
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


def replacement_data(replacement: OrderItemReplacement) -> dict:
    """One entry of an item's `replacements` (never the old credentials)."""
    return {
        "id": str(replacement.pk),
        "replacedAt": format_datetime(replacement.replaced_at),
        "reason": replacement.reason,
        "previousLicenseId": str(replacement.old_license_id),
        "licenseId": str(replacement.new_license_id),
    }


def _replacements_data(item: OrderItem) -> list[dict]:
    return [replacement_data(r) for r in item.replacements.all()]


def order_detail_data(order: Order, items=None) -> dict:
    """GET /orders/:id (and the data of every order.* event): items with decrypted credentials.

    Load the order with order_detail_queryset() (or order_get()) so this makes no query, or pass the
    items (with their product and license attached) as order_place does with the rows it just built.
    """
    items = order.items.all() if items is None else items
    data = order_list_data(order, items)
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
                    "replacements": _replacements_data(item),
                }
                for item in items
            ],
        }
    )
    return data


# --- GET /orders/:id fast path: two statements (orders/sql.py) that render ids, amounts and timestamps as
# the API writes them, so Python builds dicts of strings (order_detail_data() is the same body from instances).
_PENDING = OrderItem.Status.PENDING.value


def _detail_item(row) -> dict:
    (
        item_id,
        product_id,
        product_name,
        variation_id,
        sku,
        price_paid,
        status,
        instructions,
        license_id,
        license_credentials,
        license_delivered_at,
        license_expires_at,
        fulfilment_credentials,
        fulfilment_note,
        delivered_at,
        expires_at,
        replacements,
    ) = row
    fulfilment = None
    if license_id is None and status != _PENDING and delivered_at is not None:  # as _fulfilment_data()
        fulfilment = {
            "credentials": decrypt(fulfilment_credentials) if fulfilment_credentials else None,
            "note": fulfilment_note or None,
            "deliveredAt": delivered_at,
            "expiresAt": expires_at,
        }
    return {
        "id": item_id,
        "productId": product_id,
        "productName": product_name,
        "variationId": variation_id,
        "sku": sku,
        "pricePaid": price_paid,
        "status": status,
        "postSaleInstructions": instructions,
        "license": None
        if license_id is None
        else {
            "id": license_id,
            "credentials": decrypt(license_credentials),
            "deliveredAt": license_delivered_at,
            "expiresAt": license_expires_at,
        },
        "fulfilment": fulfilment,
        "replacements": replacements,
    }


def order_detail(*, store, order_id) -> dict | None:
    """GET /orders/:id of the store's order, or None (unknown id, or another store's order).

    The same dict, key for key and in the same key order, as order_detail_data(order_get(...)); on
    PostgreSQL two queries (orders/sql.py: ORDER_DETAIL, ORDER_DETAIL_ITEMS), one when the order is not found.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql.ORDER_DETAIL, [str(order_id), str(store.pk)])
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(sql.ORDER_DETAIL_ITEMS, [row[0]])
        item_rows = cursor.fetchall()
    (
        oid,
        number,
        status,
        total_amount,
        currency,
        created_at,
        customer_id,
        customer_name,
        customer_phone,
        notes,
        updated_at,
        completed_at,
        refunded_at,
        cancelled_at,
    ) = row
    return {  # order_list_data()'s keys, then order_detail_data()'s (orjson keeps this order)
        "id": oid,
        "orderNumber": f"ORD-{number:06d}",
        "status": status,
        "totalAmount": total_amount,
        "currencyCode": currency,
        "createdAt": created_at,
        "user": {"id": customer_id, "name": customer_name, "phone": customer_phone},
        "items": [_detail_item(item) for item in item_rows],
        "notes": notes,
        "updatedAt": updated_at,
        "completedAt": completed_at,
        "refundedAt": refunded_at,
        "cancelledAt": cancelled_at,
    }


# --- GET /licenses: what customers hold (never credentials) ------------------------------------------
class LicenseState:
    ACTIVE = "ACTIVE"  # delivered, no expiry or not expired yet
    EXPIRED = "EXPIRED"  # delivered, expiresAt reached
    REFUNDED = "REFUNDED"  # its order was refunded or cancelled

    values = (ACTIVE, EXPIRED, REFUNDED)


def license_list_queryset(*, store, filters: dict | None = None, at=None) -> QuerySet:
    """The store's order items holding a license (the current one: a replaced license is not listed),
    matching the GET /licenses filters, soonest expiry first (no expiry last). `at` = "now" for the status."""
    filters = filters or {}
    at = at or now()
    qs = OrderItem.objects.for_store(store).filter(license__isnull=False)
    if filters.get("customer_id"):
        qs = qs.filter(order__customer_id=filters["customer_id"])
    if filters.get("customer_phone"):
        qs = qs.filter(order__customer__phone=filters["customer_phone"], order__customer__phone_linked_at__isnull=False)
    if filters.get("variation_id"):
        qs = qs.filter(variation_id=filters["variation_id"])
    status = filters.get("status")
    if status == LicenseState.REFUNDED:
        qs = qs.filter(status=OrderItem.Status.REFUNDED)
    elif status == LicenseState.EXPIRED:
        qs = qs.filter(status=OrderItem.Status.DELIVERED, expires_at__lte=at)
    elif status == LicenseState.ACTIVE:
        qs = qs.filter(status=OrderItem.Status.DELIVERED).exclude(expires_at__lte=at)
    if filters.get("expires_after"):
        qs = qs.filter(expires_at__gte=filters["expires_after"])
    if filters.get("expires_before"):
        qs = qs.filter(expires_at__lt=filters["expires_before"])
    return qs.order_by(models.F("expires_at").asc(nulls_last=True), "id")


_LICENSE_FIELDS = (
    "license_id",
    "id",
    "order_id",
    "order__number",
    "order__customer_id",
    "order__customer__name",
    "order__customer__phone",
    "product_id",
    "product_name",
    "variation_id",
    "sku",
    "status",
    "delivered_at",
    "expires_at",
    "renews_item_id",
    "renewed_by__id",
)


def license_row(row: tuple, at) -> dict:
    (
        license_id,
        item_id,
        order_id,
        number,
        customer_id,
        customer_name,
        customer_phone,
        product_id,
        product_name,
        variation_id,
        sku,
        item_status,
        delivered_at,
        expires_at,
        renews_item_id,
        renewed_by_id,
    ) = row
    if item_status == OrderItem.Status.REFUNDED:
        state = LicenseState.REFUNDED
    elif expires_at is not None and expires_at <= at:
        state = LicenseState.EXPIRED
    else:
        state = LicenseState.ACTIVE
    return {
        "id": str(license_id) if license_id else None,
        "itemId": str(item_id),
        "orderId": str(order_id),
        "orderNumber": f"ORD-{number:06d}",
        "customer": {"id": str(customer_id), "name": customer_name, "phone": customer_phone},
        "productId": str(product_id),
        "productName": product_name,
        "variationId": str(variation_id),
        "sku": sku,
        "status": state,
        "deliveredAt": format_datetime(delivered_at),
        "expiresAt": format_datetime(expires_at),
        "renewsItemId": str(renews_item_id) if renews_item_id else None,
        "renewedByItemId": str(renewed_by_id) if renewed_by_id else None,
    }


def license_list_page(*, store, filters: dict | None, offset: int, limit: int, at=None) -> tuple[list[dict], int]:
    """One page of GET /licenses and the total: two queries (COUNT, then the page with order and customer
    joined). The shape has no credentials: they are only in GET /orders/:id and order events."""
    at = at or now()
    qs = license_list_queryset(store=store, filters=filters, at=at)
    total = qs.count()
    if offset >= total:
        return [], total
    rows = qs.values_list(*_LICENSE_FIELDS)[offset : offset + limit]
    return [license_row(row, at) for row in rows], total


def license_item_data(*, store, item_id, at=None) -> dict | None:
    """One GET /licenses row for an item (the data of license.expiring / license.expired)."""
    at = at or now()
    row = OrderItem.objects.for_store(store).filter(pk=item_id).values_list(*_LICENSE_FIELDS).first()
    return license_row(row, at) if row else None
