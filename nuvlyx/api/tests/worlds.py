"""Test data for tenancy checks: one of everything a path parameter can name, and a snapshot of a
store's rows (used by the route matrix and the test-mode tests)."""

from decimal import Decimal

from django.apps import apps


def build_world(store, *, phone: str) -> dict:
    """One of everything a path parameter can name, in `store`, keyed "<segment before it>/<kwarg>"."""
    from catalog.tests.factories import make_variation, stock
    from orders.services import order_place
    from wallets.tests.factories import make_customer
    from webhooks.services import endpoint_create, endpoint_send_test

    variation = make_variation(store, price="1000.00")
    stock(variation, 2)
    customer = make_customer(store, balance="5000.00", phone=phone)
    placed = order_place(store=store, customer_id=customer.pk, items=[variation.pk])
    endpoint, _ = endpoint_create(store=store, url="http://127.0.0.1:9/hooks", events=["*"])
    delivery = endpoint_send_test(endpoint=endpoint)
    order_id = placed.order.pk
    from orders.models import OrderItem

    return {
        "products/pk": variation.product_id,
        "customers/pk": customer.pk,
        "by-phone/phone": phone,
        "orders/pk": order_id,
        # Issue 16's POST /orders/:id/items/:itemId/replace: the item of that order.
        "items/item_id": OrderItem.objects.filter(order_id=order_id).values_list("pk", flat=True).first(),
        "items/itemId": OrderItem.objects.filter(order_id=order_id).values_list("pk", flat=True).first(),
        "webhooks/pk": endpoint.pk,
        "deliveries/delivery_id": delivery.pk,
    }


def world_state(store) -> dict:
    """Every row of every store-owned model of `store` (token bookkeeping aside): any change shows."""
    state = {}
    for model in apps.get_models():
        if not any(f.name == "store" for f in model._meta.concrete_fields):
            continue
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("last_used_at",)]
        rows = model._default_manager.filter(store_id=store.pk).order_by("pk").values_list(*fields)
        state[model._meta.label] = [tuple(str(v) if isinstance(v, Decimal) else v for v in row) for row in rows]
    return state
