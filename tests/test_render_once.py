"""One renderer per resource: what an event carries is, byte for byte, what the API answers.

Each shape is built by one function (<app>/render.py); these tests hold the API and the events
together through every path that builds them (the SQL fast path of GET /orders/:id, the in-memory
path of order placement, the ORM path of products, customers and wallets).
"""

import pytest

from catalog.tests.factories import make_variation, stock
from nuvlyx.api.renderers import dumps
from nuvlyx.core.models import Event
from orders.models import OrderItem
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def event_data(store, event_type: str, **match) -> bytes:
    """The data of the newest event of that type (whose data matches), as the API would write it."""
    for event in Event.objects.filter(store=store, type=event_type).order_by("-created_at"):
        data = event.payload["data"]
        if all(data.get(key) == value for key, value in match.items()):
            return dumps(data)
    raise AssertionError(f"no {event_type} event matching {match}")


def test_order_events_are_the_api_order_byte_for_byte(api, store):
    # given an order with a delivered license, a pending SERVICE item, a customer with a quoted name
    license_backed = make_variation(store, price="10000.00", duration_days=30)
    service = make_variation(store, price="2500.50", kind="SERVICE", depends_on_stock=False)
    stock(license_backed, 2)
    customer = make_customer(store, balance="50000.00", phone="+573001234567", name='Ana "Ñandú" Pérez')
    body = {
        "customerId": str(customer.pk),
        "items": [{"variationId": str(license_backed.pk)}, {"variationId": str(service.pk)}],
        "notes": 'vip ✓ "quoted"\nline 2',
    }
    order_id = api.post("/orders", body).json()["orderId"]

    # then order.created (rendered from memory at placement) is GET /orders/:id (rendered from SQL)
    detail = api.get(f"/orders/{order_id}")
    assert detail.status_code == 200
    assert event_data(store, "order.created", id=order_id) == detail.content

    # when the owner fulfils the SERVICE item, order.completed is the order as GET shows it then
    from orders.services import order_fulfil_item

    item = OrderItem.objects.get(order_id=order_id, variation=service)
    order_fulfil_item(store=store, item_id=item.pk, credentials="svc:pässword", note="Renew monthly")
    detail = api.get(f"/orders/{order_id}")
    assert detail.json()["status"] == "COMPLETED"
    assert event_data(store, "order.completed", id=order_id) == detail.content

    # and a refund's event is the refunded order
    assert api.post(f"/orders/{order_id}/refund").status_code == 200
    detail = api.get(f"/orders/{order_id}")
    assert detail.json()["status"] == "REFUNDED"
    assert event_data(store, "order.refunded", id=order_id) == detail.content

    # and each list row is the detail's summary: the same values under the same keys
    row = next(r for r in api.get("/orders").json()["data"] if r["id"] == order_id)
    full = detail.json()
    assert list(row) == list(full)[: len(row)]
    assert {k: v for k, v in row.items() if k != "items"} == {k: full[k] for k in row if k != "items"}


def test_customer_and_wallet_events_are_the_api_shapes_byte_for_byte(api, store):
    created = api.post("/customers", {"name": "Bruno", "phone": "+5511987654321"})
    assert created.status_code == 201
    customer_id = created.json()["id"]
    assert event_data(store, "customer.created", id=customer_id) == created.content
    assert api.get(f"/customers/{customer_id}").content == created.content

    recharge = api.post(f"/customers/{customer_id}/wallet/recharge", {"amount": "25000.50", "reference": "R-1"})
    assert recharge.status_code in (200, 201)
    event = event_data(store, "wallet.recharged", customerId=customer_id)
    # the recharge answer's keys, in order, then the event's own (reference, note, customer)
    assert event.startswith(recharge.content[:-1] + b",")
    wallet = api.get(f"/customers/{customer_id}/wallet").json()
    assert wallet["balance"] == recharge.json()["newBalance"] == "25000.50"


def test_product_events_are_the_api_product_byte_for_byte(api, store):
    body = {
        "name": "Netflix",
        "kind": "DIGITAL",
        "variations": [{"sku": "NF-1M", "name": "1 month", "price": "10000.00", "durationDays": 30}],
    }
    created = api.post("/products", body)
    assert created.status_code == 201, created.content
    product_id = created.json()["id"]
    assert event_data(store, "product.created", id=product_id) == created.content
    assert api.get(f"/products/{product_id}").content == created.content
