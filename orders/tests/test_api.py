"""POST/GET /orders, refund and cancel through the API (test client, rolled-back db)."""

import uuid
from datetime import UTC, timedelta
from decimal import Decimal

import pytest

from catalog.models import License, Product, Variation
from catalog.tests.factories import make_tier, make_variation, set_tier_price, stock
from conftest import assert_error
from nuvlyx.core.crypto import decrypt
from nuvlyx.core.models import Event
from orders.models import Order, OrderItem
from wallets.models import LedgerEntry, Wallet
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def fmt(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def balance(customer) -> Decimal:
    return Wallet.objects.get(customer=customer).balance


def place(api, customer, *variations, **extra):
    body = {"customerId": str(customer.pk), "items": [{"variationId": str(v.pk)} for v in variations]}
    body.update(extra)
    return api.post("/orders", body)


# --- placing -------------------------------------------------------------------------------------
def test_place_order_from_stock_completes_and_delivers(api, store):
    variation = make_variation(store, price="10000.00", duration_days=30)
    creds = stock(variation, 3)
    customer = make_customer(store, balance="25000.00", phone="+573001234567")

    response = api.post(
        "/orders", {"customerPhone": "+573001234567", "items": [{"variationId": str(variation.pk)}] * 2, "notes": "vip"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"orderId", "orderNumber", "status", "totalAmount", "newBalance"}
    assert body["orderNumber"] == "ORD-000001"
    assert body["status"] == "COMPLETED"
    assert body["totalAmount"] == "20000.00"
    assert body["newBalance"] == "5000.00"
    assert balance(customer) == Decimal("5000.00")
    variation.refresh_from_db()
    assert (variation.stock_available, variation.stock_delivered) == (1, 2)
    order = Order.objects.get(pk=body["orderId"])
    assert order.notes == "vip" and order.completed_at is not None
    delivered = License.objects.filter(status="DELIVERED")
    assert delivered.count() == 2
    clear = {decrypt(lic.credentials_encrypted) for lic in delivered}
    assert len(clear) == 2 and clear <= set(creds)
    for lic in delivered:
        assert lic.expires_at - lic.delivered_at == timedelta(days=30)
    types = Event.objects.filter(type__startswith="order.").values_list("type", flat=True)
    assert sorted(types) == ["order.completed", "order.created"]
    detail = api.get(f"/orders/{order.pk}").json()
    for event in Event.objects.filter(type__startswith="order."):
        assert event.payload["data"] == detail


def test_order_numbers_count_up_per_store(api, api_for, store, other_store):
    variation = make_variation(store, depends_on_stock=False, kind=Product.Kind.SERVICE, price="1.00")
    customer = make_customer(store, balance="10.00")
    numbers = [place(api, customer, variation).json()["orderNumber"] for _ in range(3)]
    assert numbers == ["ORD-000001", "ORD-000002", "ORD-000003"]
    other_variation = make_variation(other_store, depends_on_stock=False, price="1.00")
    other_customer = make_customer(other_store, balance="10.00")
    other = place(api_for(other_store), other_customer, other_variation)
    assert other.json()["orderNumber"] == "ORD-000001"


def test_service_item_stays_pending_and_order_processing(api, store):
    service = make_variation(store, kind=Product.Kind.SERVICE, depends_on_stock=False, price="5000.00")
    digital = make_variation(store, price="1000.00")
    stock(digital, 1)
    customer = make_customer(store, balance="6000.00")
    body = place(api, customer, service, digital).json()
    assert body["status"] == "PROCESSING"
    detail = api.get(f"/orders/{body['orderId']}").json()
    statuses = {item["sku"]: item["status"] for item in detail["items"]}
    assert statuses == {service.sku: "PENDING", digital.sku: "DELIVERED"}
    assert [item["license"] is None for item in detail["items"]] == [True, False]
    assert list(Event.objects.filter(type__startswith="order.").values_list("type", flat=True)) == ["order.created"]


def test_tier_price_is_what_the_customer_pays(api, store):
    variation = make_variation(store, price="10000.00", depends_on_stock=False)
    tier = make_tier(store, level=2)
    set_tier_price(variation, tier, "8500.00")
    customer = make_customer(store, balance="10000.00", tier=tier)
    body = place(api, customer, variation).json()
    assert body["totalAmount"] == "8500.00" and body["newBalance"] == "1500.00"
    entry = LedgerEntry.objects.get(kind="PURCHASE")
    assert entry.amount == Decimal("-8500.00") and str(entry.order_id) == body["orderId"]


# --- every error path of seed 002 leaves everything unchanged ---------------------------------
@pytest.fixture
def world(store, other_store):
    variation = make_variation(store, price="10000.00")
    stock(variation, 2)
    inactive = make_variation(store, status=Product.Status.INACTIVE)
    stock(inactive, 1)
    empty = make_variation(store, price="1.00")
    foreign = make_variation(other_store)
    rich = make_customer(store, balance="50000.00", phone="+573001234567")
    poor = make_customer(store, balance="5000.00")
    unlinked = make_customer(store, phone="+573009999999", linked=False, balance="50000.00")
    return locals()


def _snapshot():
    return (
        list(Wallet.objects.order_by("pk").values_list("pk", "balance")),
        LedgerEntry.objects.count(),
        list(Variation.objects.order_by("pk").values_list("pk", "stock_available", "stock_delivered")),
        License.objects.filter(status="AVAILABLE").count(),
        Order.objects.count(),
        OrderItem.objects.count(),
        Event.objects.filter(type__startswith="order.").count(),
    )


@pytest.mark.parametrize(
    "case, status, code",
    [
        ("missing_customer", 400, "bad_request"),
        ("both_ids", 400, "bad_request"),
        ("unknown_customer", 404, "not_found"),
        ("other_store_customer", 404, "not_found"),
        ("unlinked_phone", 404, "phone_not_linked"),
        ("bad_phone", 422, "validation_error"),
        ("insufficient_balance", 400, "insufficient_balance"),
        ("out_of_stock", 400, "out_of_stock"),
        ("inactive_product", 400, "product_unavailable"),
        ("unknown_variation", 400, "bad_request"),
        ("other_store_variation", 400, "bad_request"),
        ("malformed_variation", 422, "validation_error"),
        ("too_many_items", 422, "validation_error"),
        ("no_items", 422, "validation_error"),
        ("scope", 403, "forbidden"),
    ],
)
def test_error_paths_change_nothing(api, api_for, store, other_store, world, case, status, code):
    w = world
    client = api
    item = {"variationId": str(w["variation"].pk)}
    body = {"customerId": str(w["rich"].pk), "items": [item]}
    if case == "missing_customer":
        body.pop("customerId")
    elif case == "both_ids":
        body["customerPhone"] = "+573001234567"
    elif case == "unknown_customer":
        body["customerId"] = str(uuid.uuid4())
    elif case == "other_store_customer":
        body["customerId"] = str(make_customer(other_store, balance="100.00").pk)
    elif case == "unlinked_phone":
        body = {"customerPhone": "+573009999999", "items": [item]}
    elif case == "bad_phone":
        body = {"customerPhone": "+57 300 123", "items": [item]}
    elif case == "insufficient_balance":
        body["customerId"] = str(w["poor"].pk)
    elif case == "out_of_stock":
        body["items"] = [item, item, item]
    elif case == "inactive_product":
        body["items"] = [item, {"variationId": str(w["inactive"].pk)}]
    elif case == "unknown_variation":
        body["items"] = [item, {"variationId": str(uuid.uuid4())}]
    elif case == "other_store_variation":
        body["items"] = [{"variationId": str(w["foreign"].pk)}]
    elif case == "malformed_variation":
        body["items"] = [{"variationId": "not-a-uuid"}]
    elif case == "too_many_items":
        body["items"] = [item] * 21
    elif case == "no_items":
        body["items"] = []
    elif case == "scope":
        client = api_for(store, scopes=["orders:read"])
    before = _snapshot()

    response = client.post("/orders", body)

    err = assert_error(response, status, code)
    if case == "scope":
        assert "orders:write" in err["message"]
    if case == "too_many_items":
        assert err["errors"][0]["field"] == "items"
    assert _snapshot() == before


def test_insufficient_balance_message_is_clear(api, world):
    body = assert_error(place(api, world["poor"], world["variation"]), 400, "insufficient_balance")
    assert "5000.00" in body["message"] and "10000.00" in body["message"]


# --- reading ---------------------------------------------------------------------------------------
def test_list_shape_is_seed_002_field_for_field(api, store):
    variation = make_variation(store, price="10000.00")
    stock(variation, 1)
    customer = make_customer(store, balance="10000.00", phone="+573001234567", name="Juan Pérez")
    order_id = place(api, customer, variation).json()["orderId"]

    response = api.get("/orders", {"status": "COMPLETED", "limit": "10"})

    assert response.status_code == 200
    body = response.json()
    assert body["pagination"] == {"page": 1, "limit": 10, "total": 1}
    order = Order.objects.get(pk=order_id)
    item = order.items.get()
    assert body["data"] == [
        {
            "id": order_id,
            "orderNumber": "ORD-000001",
            "status": "COMPLETED",
            "totalAmount": "10000.00",
            "currencyCode": "COP",
            "createdAt": fmt(order.created_at),
            "user": {"id": str(customer.pk), "name": "Juan Pérez", "phone": "+573001234567"},
            "items": [
                {"id": str(item.pk), "variationId": str(variation.pk), "pricePaid": "10000.00", "status": "DELIVERED"}
            ],
        }
    ]
    assert b"credentials" not in response.content


def test_list_page_is_the_detail_summary_in_page_order(api, store):
    """GET /orders renders each order from one statement of pre-formatted values (orders/sql.py
    ORDER_LIST_PAGE): newest first, items in position order, every value equal to GET /orders/:id's."""
    a, b = make_variation(store, price="1000.50"), make_variation(store, price="20.00")
    stock(a, 3)
    stock(b, 3)
    customer = make_customer(store, balance="100000.00", name="Ana")
    placed = [
        place(api, customer, a).json()["orderId"],
        place(api, customer, b, a, b).json()["orderId"],
        place(api, customer, b).json()["orderId"],
    ]
    body = api.get("/orders", {"limit": "2", "page": "1"}).json()
    assert [order["id"] for order in body["data"]] == [placed[2], placed[1]]
    second = api.get("/orders", {"limit": "2", "page": "2"}).json()["data"]
    assert [order["id"] for order in second] == [placed[0]]
    for order in body["data"] + second:
        detail = api.get(f"/orders/{order['id']}").json()
        assert order == {
            **{key: detail[key] for key in order if key != "items"},
            "items": [
                {"id": i["id"], "variationId": i["variationId"], "pricePaid": i["pricePaid"], "status": i["status"]}
                for i in detail["items"]
            ],
        }
    assert [item["variationId"] for item in body["data"][1]["items"]] == [str(b.pk), str(a.pk), str(b.pk)]


def test_detail_shape_with_decrypted_credentials(api, store):
    variation = make_variation(store, price="10000.00", duration_days=30, post_sale_instructions="Use the app")
    creds = stock(variation, 1)
    customer = make_customer(store, balance="10000.00")
    order_id = place(api, customer, variation).json()["orderId"]

    body = api.get(f"/orders/{order_id}").json()

    order = Order.objects.get(pk=order_id)
    item = order.items.select_related("license").get()
    lic = item.license
    assert body["items"] == [
        {
            "id": str(item.pk),
            "productId": str(variation.product_id),
            "productName": variation.product.name,
            "variationId": str(variation.pk),
            "sku": variation.sku,
            "pricePaid": "10000.00",
            "status": "DELIVERED",
            "postSaleInstructions": "Use the app",
            "license": {
                "id": str(lic.pk),
                "credentials": creds[0],
                "deliveredAt": fmt(lic.delivered_at),
                "expiresAt": fmt(lic.expires_at),
            },
            "fulfilment": None,
            "replacements": [],
        }
    ]
    assert {k: body[k] for k in ("id", "orderNumber", "status", "totalAmount", "currencyCode", "notes")} == {
        "id": order_id,
        "orderNumber": "ORD-000001",
        "status": "COMPLETED",
        "totalAmount": "10000.00",
        "currencyCode": "COP",
        "notes": "",
    }
    assert body["completedAt"] == fmt(order.completed_at)
    assert body["user"] == {"id": str(customer.pk), "name": customer.name, "phone": None}


def test_detail_other_store_and_malformed_ids_are_404(api, api_for, other_store, store):
    variation = make_variation(other_store, depends_on_stock=False, price="1.00")
    customer = make_customer(other_store, balance="1.00")
    order_id = place(api_for(other_store), customer, variation).json()["orderId"]
    assert_error(api.get(f"/orders/{order_id}"), 404, "not_found")
    assert_error(api.get("/orders/not-a-uuid"), 404, "not_found")
    assert_error(api.post(f"/orders/{order_id}/refund"), 404, "not_found")
    assert api.get("/orders").json()["pagination"]["total"] == 0


def test_list_filters(api, api_for, store):
    a = make_variation(store, depends_on_stock=False, price="1.00")
    b = make_variation(store, depends_on_stock=False, price="2.00")
    alice = make_customer(store, balance="100.00")
    bob = make_customer(store, balance="100.00")
    o1 = place(api, alice, a).json()["orderId"]
    o2 = place(api, bob, b).json()["orderId"]
    o3 = place(api, alice, a, b).json()["orderId"]
    api.post(f"/orders/{o1}/refund")
    Order.objects.filter(pk=o1).update(created_at="2026-01-01T00:00:00Z")
    Order.objects.filter(pk=o2).update(created_at="2026-02-01T00:00:00Z")
    Order.objects.filter(pk=o3).update(created_at="2026-03-01T12:00:00.123Z")

    def ids(**params):
        response = api.get("/orders", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["data"]]

    assert ids() == [o3, o2, o1]  # newest first
    assert ids(status="REFUNDED") == [o1]
    assert ids(status="PROCESSING") == [o3, o2]
    assert ids(userId=str(alice.pk)) == [o3, o1]
    assert ids(productId=str(b.product_id)) == [o3, o2]
    assert ids(variationId=str(a.pk)) == [o3, o1]
    assert ids(dateFrom="2026-02-01T00:00:00.000Z") == [o3, o2]  # inclusive
    assert ids(dateTo="2026-02-01") == [o1]  # exclusive, bare date
    assert ids(dateFrom="2026-03-01T12:00:00.123Z", dateTo="2026-03-01T12:00:00.124Z") == [o3]
    assert ids(dateFrom="2026-01-31T19:00:00-05:00") == [o3, o2]  # offset
    assert ids(limit="1", page="2") == [o2]
    assert ids(page="9") == []
    assert_error(api.get("/orders", {"status": "DONE"}), 422, "validation_error")
    for name in ("userId", "productId", "variationId"):
        body = assert_error(api.get("/orders", {name: "nope"}), 422, "validation_error")
        assert body["errors"][0]["field"] == name
    body = assert_error(api.get("/orders", {"dateFrom": "yesterday"}), 422, "validation_error")
    assert body["errors"][0]["field"] == "dateFrom"
    assert_error(api.get("/orders", {"limit": "101"}), 400, "invalid_pagination")
    assert_error(api_for(store, scopes=["orders:write"]).get("/orders"), 403, "forbidden")


def _bulk_orders(store, count: int, items_per_order: int):
    variation = make_variation(store, price="1.00")
    stock(variation, count * items_per_order)
    customer = make_customer(store, balance=str(count * items_per_order))
    from orders.services import order_place

    return [
        order_place(store=store, customer_id=customer.pk, items=[variation.pk] * items_per_order).order.pk
        for _ in range(count)
    ]


# total (counter row when unfiltered) + page + items; order and its items (with license, product) in one
# statement. The token is cached after the first request.
LIST_QUERIES = 3
DETAIL_QUERIES = 1


@pytest.mark.parametrize("count, per_order", [(1, 1), (50, 5)])
def test_query_counts_are_constant(api, store, django_assert_num_queries, count, per_order):
    order_ids = _bulk_orders(store, count, per_order)
    api.get("/orders")  # the token's last_used_at write happens on first use only
    with django_assert_num_queries(LIST_QUERIES):
        response = api.get("/orders", {"limit": "100"})
    assert len(response.json()["data"]) == count
    assert all(len(row["items"]) == per_order for row in response.json()["data"])
    with django_assert_num_queries(DETAIL_QUERIES):
        response = api.get(f"/orders/{order_ids[-1]}")
    assert len(response.json()["items"]) == per_order


# --- refund / cancel ------------------------------------------------------------------------------
def test_refund_completed_order_then_second_refund_conflicts(api, store):
    variation = make_variation(store, price="10000.00")
    stock(variation, 1)
    customer = make_customer(store, balance="12000.00")
    order_id = place(api, customer, variation).json()["orderId"]

    response = api.post(f"/orders/{order_id}/refund")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "orderId": order_id,
        "orderNumber": "ORD-000001",
        "status": "REFUNDED",
        "refundedAmount": "10000.00",
        "newBalance": "12000.00",
    }
    assert balance(customer) == Decimal("12000.00")
    assert set(OrderItem.objects.values_list("status", flat=True)) == {"REFUNDED"}
    assert License.objects.get().status == "DELIVERED"  # shown to the customer: never back to stock
    assert Event.objects.filter(type="order.refunded").count() == 1
    assert_error(api.post(f"/orders/{order_id}/refund"), 409, "conflict")
    assert_error(api.post(f"/orders/{order_id}/cancel"), 409, "conflict")
    assert balance(customer) == Decimal("12000.00")


def test_cancel_processing_order_and_not_completed(api, store):
    service = make_variation(store, kind=Product.Kind.SERVICE, depends_on_stock=False, price="3000.00")
    digital = make_variation(store, depends_on_stock=False, kind=Product.Kind.SERVICE, price="1.00")
    customer = make_customer(store, balance="5000.00")
    order_id = place(api, customer, service, digital).json()["orderId"]

    response = api.post(f"/orders/{order_id}/cancel")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "orderId": order_id,
        "orderNumber": "ORD-000001",
        "status": "CANCELLED",
        "refundedAmount": "3001.00",
        "newBalance": "5000.00",
    }
    assert Event.objects.filter(type="order.cancelled").count() == 1
    assert_error(api.post(f"/orders/{order_id}/cancel"), 409, "conflict")
    assert_error(api.post(f"/orders/{order_id}/refund"), 409, "conflict")

    stocked = make_variation(store, price="100.00")
    stock(stocked, 1)
    completed = place(api, customer, stocked).json()
    assert completed["status"] == "COMPLETED"
    assert_error(api.post(f"/orders/{completed['orderId']}/cancel"), 409, "conflict")
    assert balance(customer) == Decimal("4900.00")


def test_refund_processing_order(api, store):
    service = make_variation(store, kind=Product.Kind.SERVICE, depends_on_stock=False, price="3000.00")
    customer = make_customer(store, balance="3000.00")
    order_id = place(api, customer, service).json()["orderId"]
    body = api.post(f"/orders/{order_id}/refund").json()
    assert body["status"] == "REFUNDED" and body["newBalance"] == "3000.00"


def test_refund_needs_orders_write(api_for, api, store):
    service = make_variation(store, kind=Product.Kind.SERVICE, depends_on_stock=False, price="3000.00")
    customer = make_customer(store, balance="3000.00")
    order_id = place(api, customer, service).json()["orderId"]
    reader = api_for(store, scopes=["orders:read"])
    assert_error(reader.post(f"/orders/{order_id}/refund"), 403, "forbidden")
    assert_error(reader.post(f"/orders/{order_id}/cancel"), 403, "forbidden")
    assert Order.objects.get().status == "PROCESSING"


def test_fulfil_service_item_completes_order(api, store):
    from orders.services import order_fulfil_item

    service = make_variation(
        store, kind=Product.Kind.SERVICE, depends_on_stock=False, price="3000.00", duration_days=10
    )
    customer = make_customer(store, balance="3000.00")
    order_id = place(api, customer, service).json()["orderId"]
    item = OrderItem.objects.get()
    order_fulfil_item(store=store, item_id=item.pk, credentials="netflix: a@b.c / pw", note="Profile 3")
    body = api.get(f"/orders/{order_id}").json()
    assert body["status"] == "COMPLETED" and body["completedAt"]
    fulfilment = body["items"][0]["fulfilment"]
    assert fulfilment["credentials"] == "netflix: a@b.c / pw" and fulfilment["note"] == "Profile 3"
    assert body["items"][0]["status"] == "DELIVERED"
    assert Event.objects.filter(type="order.completed").get().payload["data"] == body
    assert "netflix" not in OrderItem.objects.get().fulfilment_credentials_encrypted
