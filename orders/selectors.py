"""Reads of orders: the list page and the detail (fixed query counts), rendered by orders.render."""

from django.db import models
from django.db.models import Prefetch, QuerySet

from nuvlyx.core.formats import format_amount, format_datetime, format_id
from nuvlyx.core.sql import prepared_cursor
from nuvlyx.core.timeutil import now

from . import render, sql
from .filters import LicenseFilter, OrderFilter
from .models import LicenseState, Order, OrderCounter, OrderItem, OrderItemReplacement, SubscriptionSettings


def order_list_queryset(*, store, filters: dict | None = None) -> QuerySet:
    """The store's orders matching the GET /orders filters (OrderFilter.parse()), newest first (no rows loaded)."""
    return OrderFilter.apply(Order.objects.for_store(store), filters or {}).order_by("-created_at", "-number")


def order_total(*, store, filters: dict | None = None) -> int:
    """How many orders match. Unfiltered: the store's OrderCounter (one primary-key read), exact because
    numbers are gap-free (1..last_number, a rollback undoes the bump) and orders are never deleted
    (refunds and cancellations change a status; the admin cannot delete). Filtered: COUNT(*)."""
    if not any((filters or {}).values()):
        last = OrderCounter.objects.filter(store_id=store.pk).values_list("last_number", flat=True).first()
        if last is not None:
            return last
    return order_list_queryset(store=store, filters=filters).count()


def order_list_page(*, store, filters: dict | None, offset: int, limit: int) -> list[dict]:
    """One page of GET /orders (orders.render.order_summary), no credentials: the page's ids from the
    filtered, ordered ORM query, then one prepared statement (orders/sql.py ORDER_LIST_PAGE) returning
    every value as the API writes it, so no UUID, Decimal or datetime is built per row (issue 15)."""
    ids = list(order_list_queryset(store=store, filters=filters).values_list("id", flat=True)[offset : offset + limit])
    if not ids:
        return []
    with prepared_cursor() as cursor:
        cursor.execute(sql.ORDER_LIST_PAGE, [ids])
        rows = cursor.fetchall()
    split = sql.ORDER_SUMMARY_COLUMNS
    page: list[dict] = []
    current = None
    for row in rows:
        if current is None or row[0] != current["id"]:
            current = render.order_summary(row[:split], [])
            page.append(current)
        if row[split] is not None:
            current["items"].append(render.order_summary_item(row[split:]))
    return page


def subscription_settings_for(store) -> SubscriptionSettings:
    """The store's subscription rules (reminder days, replacements per item); the defaults when never saved."""
    found = SubscriptionSettings.objects.filter(store_id=store.pk).first()
    return found or SubscriptionSettings(store=store)


def order_get(*, store, order_id) -> Order | None:
    return Order.objects.for_store(store).select_related("customer").filter(pk=order_id).first()


def _replacements_of(item: OrderItem) -> list[OrderItemReplacement]:
    """The item's replacements when they were loaded with it; a new item (order_place) has none."""
    cache = getattr(item, "_prefetched_objects_cache", {})
    return list(cache["replacements"]) if "replacements" in cache else []


def order_detail_data(order: Order, items: list[OrderItem] | None = None) -> dict:
    """orders.render.order_detail of an order in memory (customer attached) and its items (product and
    license attached), as order_place has them before the commit: no query. Without `items`, one
    query loads them. order_detail() is the same body read by SQL."""
    if items is None:
        replacements = Prefetch("replacements", queryset=OrderItemReplacement.objects.order_by("replaced_at", "id"))
        items = list(
            order.items.select_related("license", "product").prefetch_related(replacements).order_by("position", "id")
        )
    customer = order.customer
    order_row = (
        format_id(order.pk),
        order.number,
        order.status,
        format_amount(order.total_amount),
        order.currency,
        format_datetime(order.created_at),
        format_id(customer.pk),
        customer.name,
        customer.phone,
    )
    detail_row = (
        order.notes,
        format_datetime(order.updated_at),
        format_datetime(order.completed_at),
        format_datetime(order.refunded_at),
        format_datetime(order.cancelled_at),
    )
    item_rows = []
    for item in items:
        lic = item.license
        item_rows.append(
            (
                format_id(item.pk),
                format_id(item.product_id),
                item.product_name,
                format_id(item.variation_id),
                item.sku,
                format_amount(item.price_paid),
                item.status,
                item.product.post_sale_instructions,
                format_id(item.license_id),
                lic.credentials_encrypted if lic else None,
                format_datetime(lic.delivered_at) if lic else None,
                format_datetime(lic.expires_at) if lic else None,
                item.fulfilment_credentials_encrypted,
                item.fulfilment_note,
                format_datetime(item.delivered_at),
                format_datetime(item.expires_at),
                [render.item_replacement(r) for r in _replacements_of(item)],
            )
        )
    return render.order_detail(order_row, detail_row, item_rows)


def order_detail(*, store, order_id) -> dict | None:
    """GET /orders/:id of the store's order (and the data of the order.* events emitted after a
    change), or None (unknown id, or another store's order). One statement (orders/sql.py ORDER_DETAIL)
    returning the values as the API writes them: the order's columns, then one item's, per row."""
    with prepared_cursor() as cursor:
        cursor.execute(sql.ORDER_DETAIL, [str(order_id), str(store.pk)])
        rows = cursor.fetchall()
    if not rows:
        return None
    row, split = rows[0], sql.ORDER_DETAIL_COLUMNS
    columns = len(render.ORDER_COLUMNS)
    item_rows = [r[split:] for r in rows if r[split] is not None]
    return render.order_detail(row[:columns], row[columns:split], item_rows)


# --- GET /licenses: what customers hold (never credentials) ------------------------------------------
def license_list_queryset(*, store, filters: dict | None = None, at=None) -> QuerySet:
    """The store's order items holding a license (the current one: a replaced license is not listed),
    matching the GET /licenses filters, soonest expiry first (no expiry last). `at` = "now" for the status."""
    filters = filters or {}
    at = at or now()
    qs = LicenseFilter.apply(OrderItem.objects.for_store(store).filter(license__isnull=False), filters, store=store)
    status = filters.get("status")
    if status == LicenseState.REFUNDED:
        qs = qs.filter(status=OrderItem.Status.REFUNDED)
    elif status == LicenseState.EXPIRED:
        qs = qs.filter(status=OrderItem.Status.DELIVERED, expires_at__lte=at)
    elif status == LicenseState.ACTIVE:
        qs = qs.filter(status=OrderItem.Status.DELIVERED).exclude(expires_at__lte=at)
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


def license_list_page(*, store, filters: dict | None, offset: int, limit: int, at=None) -> tuple[list[dict], int]:
    """One page of GET /licenses and the total: two queries (COUNT, then the page with order and customer
    joined). The shape has no credentials: they are only in GET /orders/:id and order events."""
    at = at or now()
    qs = license_list_queryset(store=store, filters=filters, at=at)
    total = qs.count()
    if offset >= total:
        return [], total
    rows = qs.values_list(*_LICENSE_FIELDS)[offset : offset + limit]
    return [render.license_holding(row, at) for row in rows], total


def license_item_data(*, store, item_id, at=None) -> dict | None:
    """One GET /licenses row for an item (the data of license.expiring / license.expired)."""
    at = at or now()
    row = OrderItem.objects.for_store(store).filter(pk=item_id).values_list(*_LICENSE_FIELDS).first()
    return render.license_holding(row, at) if row else None
