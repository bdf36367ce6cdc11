"""GET /orders/:id fast path (orders.selectors.order_detail): fixed queries, byte-identical to the ORM shape."""

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from catalog.models import License, Product
from catalog.tests.factories import make_variation, stock
from conftest import assert_error
from nuvlyx.api.renderers import dumps
from orders.models import Order, OrderItem
from orders.selectors import order_detail, order_detail_data, order_get
from orders.services import order_cancel, order_fulfil_item, order_place, order_refund
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db

# the order (customer joined) and its items (product and license joined) in one statement (issue 15); the
# token is authenticated from the process's cache (integrations/token_cache.py)
DETAIL_QUERIES = 1
# the same statement, no row
NOT_FOUND_QUERIES = 1


def orm_bytes(store, order_id) -> bytes:
    """The reference: the ORM path (what order.* events carry), rendered like the API renders."""
    return dumps(order_detail_data(order_get(store=store, order_id=order_id)))


def _place(store, customer, *variations, notes=""):
    return order_place(store=store, customer_id=customer.pk, items=[v.pk for v in variations], notes=notes).order


@pytest.fixture
def orders(store):
    """Orders covering every item shape: licenses with and without a duration, pending SERVICE items,
    fulfilment with credentials + note and with a note only, refunded and cancelled orders."""
    timed = make_variation(store, price="10000.00", duration_days=30)
    untimed = make_variation(store, price="2500.50", duration_days=None, post_sale_instructions="")
    service = make_variation(store, price="7000.00", kind=Product.Kind.SERVICE, depends_on_stock=False)
    stock(timed, 10)
    stock(untimed, 10)
    rich = make_customer(store, balance="200000.00", phone="+573001234567", name='Ana "Ñandú" Pérez')
    phoneless = make_customer(store, balance="200000.00")

    mixed = _place(store, rich, timed, service, untimed, timed, notes='vip ✓ "quoted"\nline 2')
    fulfilled = _place(store, phoneless, service, untimed)
    service_items = OrderItem.objects.filter(order__in=[mixed, fulfilled], variation=service).order_by("order_id")
    for item in service_items:
        if item.order_id == mixed.pk:
            order_fulfil_item(store=store, item_id=item.pk, credentials="svc-user:pässword", note="Renew monthly")
        else:
            order_fulfil_item(store=store, item_id=item.pk, note="Activated on the customer's TV")
    pending = _place(store, rich, service)
    refunded = _place(store, rich, timed)
    order_refund(store=store, order_id=refunded.pk)
    cancelled = _place(store, phoneless, service, service)
    order_cancel(store=store, order_id=cancelled.pk)
    return {
        "mixed": mixed.pk,
        "fulfilled": fulfilled.pk,
        "pending": pending.pk,
        "refunded": refunded.pk,
        "cancelled": cancelled.pk,
    }


def test_detail_is_byte_identical_to_the_orm_shape(api, store, orders):
    for name, order_id in orders.items():
        response = api.get(f"/orders/{order_id}")
        assert response.status_code == 200, (name, response.content)
        assert response.content == orm_bytes(store, order_id), name
    mixed = api.get(f"/orders/{orders['mixed']}").json()
    assert mixed["status"] == "COMPLETED" and mixed["notes"] == 'vip ✓ "quoted"\nline 2'
    assert [item["license"] is None for item in mixed["items"]] == [False, True, False, False]
    assert mixed["items"][1]["fulfilment"]["credentials"] == "svc-user:pässword"
    assert mixed["items"][2]["license"]["expiresAt"] is None and mixed["items"][2]["postSaleInstructions"] == ""
    fulfilled = api.get(f"/orders/{orders['fulfilled']}").json()
    assert fulfilled["user"]["phone"] is None
    assert fulfilled["items"][0]["fulfilment"]["credentials"] is None
    assert fulfilled["items"][0]["fulfilment"]["note"] == "Activated on the customer's TV"
    assert api.get(f"/orders/{orders['pending']}").json()["items"][0]["fulfilment"] is None
    assert api.get(f"/orders/{orders['refunded']}").json()["refundedAt"] is not None
    assert api.get(f"/orders/{orders['cancelled']}").json()["cancelledAt"] is not None


def test_timestamps_truncate_to_milliseconds_in_utc_like_format_datetime(api, store, orders):
    """PostgreSQL's to_char must render what format_datetime renders, sub-millisecond digits and offsets included."""
    odd = datetime(2026, 5, 18, 9, 30, 0, 123999, tzinfo=timezone(timedelta(hours=-5)))
    order_id = orders["mixed"]
    Order.objects.filter(pk=order_id).update(completed_at=odd, updated_at=odd + timedelta(microseconds=1))
    License.objects.filter(order_item__order_id=order_id).update(delivered_at=odd, expires_at=odd + timedelta(days=1))
    OrderItem.objects.filter(order_id=order_id, license__isnull=True).update(delivered_at=odd)
    body = api.get(f"/orders/{order_id}")
    assert body.json()["completedAt"] == "2026-05-18T14:30:00.123Z"
    assert body.json()["items"][0]["license"]["expiresAt"] == "2026-05-19T14:30:00.123Z"
    assert body.json()["items"][1]["fulfilment"]["deliveredAt"] == "2026-05-18T14:30:00.123Z"
    assert body.content == orm_bytes(store, order_id)


def test_order_detail_selector_matches_order_detail_data(store, other_store, orders):
    for order_id in orders.values():
        assert dumps(order_detail(store=store, order_id=order_id)) == orm_bytes(store, order_id)
        assert order_detail(store=other_store, order_id=order_id) is None
    assert order_detail(store=store, order_id=uuid.uuid4()) is None


@pytest.mark.parametrize("items", [1, 20])
def test_detail_query_count_is_fixed(api, store, django_assert_num_queries, items):
    variation = make_variation(store, price="1.00")
    stock(variation, items)
    customer = make_customer(store, balance="100.00")
    order = _place(store, customer, *[variation] * items)
    api.get(f"/orders/{order.pk}")  # the token's last_used_at write happens on first use only
    with django_assert_num_queries(DETAIL_QUERIES):
        response = api.get(f"/orders/{order.pk}")
    assert response.status_code == 200
    assert len(response.json()["items"]) == items
    with django_assert_num_queries(NOT_FOUND_QUERIES):
        assert_error(api.get(f"/orders/{uuid.uuid4()}"), 404, "not_found")


def test_another_stores_order_is_404(api, api_for, store, other_store, orders):
    other = api_for(other_store, scopes=["orders:read"])
    body = assert_error(other.get(f"/orders/{orders['mixed']}"), 404, "not_found")
    assert body["message"] == "Order not found"
    assert_error(api.get(f"/orders/{uuid.uuid4()}"), 404, "not_found")
    upper = api.get(f"/orders/{str(orders['mixed']).upper()}")  # the path converter accepts any case
    assert upper.status_code == 200 and upper.json()["id"] == str(orders["mixed"])
    assert_error(api_for(store, scopes=["orders:write"]).get(f"/orders/{orders['mixed']}"), 403, "forbidden")
