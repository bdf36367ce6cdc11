"""Reads of orders: the list page and the detail (fixed query counts), rendered by orders.render."""

from django.db import connection
from django.db.models import QuerySet

from nuvlyx.core.formats import format_amount, format_datetime, format_id

from . import render, sql
from .filters import OrderFilter
from .models import Order, OrderCounter, OrderItem


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
    """One page of GET /orders (orders.render.order_summary): one query for the orders (customer
    joined), one for their items; values_list() rows, no model instances, no credentials."""
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
            render.order_summary_item((format_id(item_id), format_id(variation_id), format_amount(price_paid), status))
        )
    return [
        render.order_summary(
            (
                format_id(order_id),
                number,
                status,
                format_amount(total_amount),
                currency,
                format_datetime(created_at),
                format_id(customer_id),
                name,
                phone,
            ),
            items[order_id],
        )
        for order_id, number, status, total_amount, currency, created_at, customer_id, name, phone in orders
    ]


def order_get(*, store, order_id) -> Order | None:
    return Order.objects.for_store(store).select_related("customer").filter(pk=order_id).first()


def order_detail_data(order: Order, items: list[OrderItem] | None = None) -> dict:
    """orders.render.order_detail of an order in memory (customer attached) and its items (product and
    license attached), as order_place has them before the commit: no query. Without `items`, one
    query loads them. order_detail() is the same body read by SQL."""
    if items is None:
        items = list(order.items.select_related("license", "product").order_by("position", "id"))
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
            )
        )
    return render.order_detail(order_row, detail_row, item_rows)


def order_detail(*, store, order_id) -> dict | None:
    """GET /orders/:id of the store's order (and the data of the order.* events emitted after a
    change), or None (unknown id, or another store's order). Two statements (orders/sql.py:
    ORDER_DETAIL, ORDER_DETAIL_ITEMS) that return the values as the API writes them; one when the
    order is not found."""
    with connection.cursor() as cursor:
        cursor.execute(sql.ORDER_DETAIL, [str(order_id), str(store.pk)])
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(sql.ORDER_DETAIL_ITEMS, [row[0]])
        item_rows = cursor.fetchall()
    columns = len(render.ORDER_COLUMNS)
    return render.order_detail(row[:columns], row[columns:], item_rows)
