"""The fast paths of issue 8: POST /orders' fixed query count, the unfiltered list total read from the
order counter, and order.* event data built in memory (equal to GET /orders/:id)."""

from decimal import Decimal

import pytest

from catalog.models import Product
from catalog.tests.factories import make_tier, make_variation, set_tier_price, stock
from nuvlyx.core.models import Event
from orders.models import Order, OrderCounter
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db

# A 1-item order from stock, steady state (counter row exists, token already used), in a test transaction:
# SAVEPOINT order_place; customer (1); variations + tier prices (1); wallet_debit (no savepoint of its own):
# lock, then ledger insert + balance update in one statement (2); license_take: the SKIP LOCKED update … returning
# and the counters update in one statement, which also says whether the low-stock flag can flip (1); items insert
# (1); counter bump + order insert (1); both events in one insert, which also asks whether anyone wants them (1);
# RELEASE = 10. The token is authenticated from the process cache.
# Before issue 8 it was 24 (separate tier-price query; counter get_or_create + lock + update; order insert;
# order + items re-read for the events; wallet savepoint; license select then update); 13 after it, 12 with the
# token cache, 10 with the combined statements (issue 15).
POST_ONE_ITEM_QUERIES = 10
PER_EXTRA_STOCK_VARIATION = 1  # license_take of one more variation (catalog.stock)


def _warm_up(api, store):
    variation = make_variation(store, depends_on_stock=False, kind=Product.Kind.SERVICE, price="0.00")
    customer = make_customer(store)
    assert (
        api.post("/orders", {"customerId": str(customer.pk), "items": [{"variationId": str(variation.pk)}]}).status_code
        == 201
    )


def test_post_orders_query_count_is_fixed(api, store, django_assert_num_queries):
    _warm_up(api, store)
    tier = make_tier(store)
    a, b = make_variation(store, price="100.00"), make_variation(store, price="50.00")
    stock(a, 5)
    stock(b, 5)
    set_tier_price(a, tier, "80.00")
    customer = make_customer(store, balance="1000.00", tier=tier)

    with django_assert_num_queries(POST_ONE_ITEM_QUERIES):
        one = api.post("/orders", {"customerId": str(customer.pk), "items": [{"variationId": str(a.pk)}]})
    assert one.status_code == 201 and one.json()["totalAmount"] == "80.00"

    items = [{"variationId": str(a.pk)}] * 3 + [{"variationId": str(b.pk)}] * 2
    with django_assert_num_queries(POST_ONE_ITEM_QUERIES + PER_EXTRA_STOCK_VARIATION):
        five = api.post("/orders", {"customerId": str(customer.pk), "items": items})
    assert five.status_code == 201 and five.json()["totalAmount"] == "340.00"
    assert five.json()["newBalance"] == "580.00"


def test_first_order_of_a_store_creates_its_counter(api, store):
    variation = make_variation(store, depends_on_stock=False, kind=Product.Kind.SERVICE, price="1.00")
    customer = make_customer(store, balance="5.00")
    assert not OrderCounter.objects.filter(store=store).exists()
    body = {"customerId": str(customer.pk), "items": [{"variationId": str(variation.pk)}]}
    assert [api.post("/orders", body).json()["orderNumber"] for _ in range(2)] == ["ORD-000001", "ORD-000002"]
    assert OrderCounter.objects.get(store=store).last_number == 2


def test_events_equal_detail_for_mixed_tier_priced_orders(api, store):
    tier = make_tier(store, level=3)
    digital = make_variation(store, price="100.00", duration_days=None, post_sale_instructions="")
    other = make_variation(store, price="30.00", duration_days=7)
    service = make_variation(store, kind=Product.Kind.SERVICE, depends_on_stock=False, price="20.00")
    stock(digital, 3)
    stock(other, 1)
    set_tier_price(digital, tier, "90.00")
    customer = make_customer(store, balance="1000.00", tier=tier, phone="+573001112233", name="Ana Ñandú")

    items = [digital, other, digital, service]
    mixed = api.post(
        "/orders",
        {"customerPhone": "+573001112233", "items": [{"variationId": str(v.pk)} for v in items], "notes": "x"},
    ).json()
    complete = api.post("/orders", {"customerId": str(customer.pk), "items": [{"variationId": str(digital.pk)}]}).json()

    assert (mixed["status"], mixed["totalAmount"]) == ("PROCESSING", "230.00")
    assert (complete["status"], complete["totalAmount"]) == ("COMPLETED", "90.00")
    for placed, types in ((mixed, ["order.created"]), (complete, ["order.created", "order.completed"])):
        detail = api.get(f"/orders/{placed['orderId']}").json()
        events = [
            e for e in Event.objects.filter(type__startswith="order.") if e.payload["data"]["id"] == placed["orderId"]
        ]
        assert sorted(e.type for e in events) == sorted(types)
        for event in events:
            assert event.payload["data"] == detail
    detail = api.get(f"/orders/{mixed['orderId']}").json()
    assert [item["sku"] for item in detail["items"]] == [v.sku for v in items]
    assert [item["pricePaid"] for item in detail["items"]] == ["90.00", "30.00", "90.00", "20.00"]
    assert [item["license"] is None for item in detail["items"]] == [False, False, False, True]
    assert detail["items"][0]["license"]["expiresAt"] is None
    assert detail["items"][1]["license"]["expiresAt"] is not None


def test_unfiltered_total_is_the_true_count(api, store, django_assert_num_queries):
    variation = make_variation(store, depends_on_stock=False, kind=Product.Kind.SERVICE, price="1.00")
    alice, bob = make_customer(store, balance="10.00"), make_customer(store, balance="10.00")
    ids = [
        api.post("/orders", {"customerId": str(c.pk), "items": [{"variationId": str(variation.pk)}]}).json()["orderId"]
        for c in (alice, bob, alice, alice, bob)
    ]
    api.post(f"/orders/{ids[0]}/refund")
    api.post(f"/orders/{ids[1]}/cancel")
    # a refused order (insufficient balance) bumps nothing: the counter stays equal to the count
    poor = make_customer(store, balance="0.00")
    assert (
        api.post("/orders", {"customerId": str(poor.pk), "items": [{"variationId": str(variation.pk)}]}).status_code
        == 400
    )

    with django_assert_num_queries(3):  # counter + page + items (the token is cached)
        body = api.get("/orders", {"limit": "2", "page": "2"}).json()
    assert body["pagination"] == {"page": 2, "limit": 2, "total": Order.objects.filter(store=store).count()}
    assert body["pagination"]["total"] == 5
    assert [row["id"] for row in body["data"]] == [ids[2], ids[1]]
    with django_assert_num_queries(1):  # past the end: counter, no page query
        assert api.get("/orders", {"page": "9"}).json() == {
            "data": [],
            "pagination": {"page": 9, "limit": 20, "total": 5},
        }
    # filtered lists still COUNT(*)
    assert api.get("/orders", {"userId": str(alice.pk)}).json()["pagination"]["total"] == 3
    assert api.get("/orders", {"status": "COMPLETED"}).json()["pagination"]["total"] == 0
    assert api.get("/orders", {"status": "PROCESSING"}).json()["pagination"]["total"] == 3


def test_store_without_counter_row_counts(api, store):
    """Orders written outside order_place (no counter row): the total falls back to COUNT(*)."""
    variation = make_variation(store, depends_on_stock=False, price="1.00")
    customer = make_customer(store)
    Order.objects.create(
        store=store, number=7, customer=customer, status="COMPLETED", total_amount=Decimal("1.00"), currency="COP"
    )
    body = api.get("/orders").json()
    assert body["pagination"]["total"] == 1 and len(body["data"]) == 1
    assert body["data"][0]["orderNumber"] == "ORD-000007" and body["data"][0]["items"] == []
    assert variation.pk  # unused otherwise


# An Idempotency-Key adds: its advisory lock, the stored-response lookup, the savepoint the handler runs in
# (SAVEPOINT, RELEASE: a refusal is rolled back, then stored), order_place's own block becoming a savepoint
# too (its BEGIN/COMMIT are the key's transaction now: SAVEPOINT, RELEASE), the stored response's INSERT = 7.
# The same 7 in a test transaction (the key's transaction is a savepoint there).
KEYED_EXTRA_QUERIES = 7


def test_a_keyed_post_orders_costs_seven_statements_more(api, store, django_assert_num_queries):
    _warm_up(api, store)
    variation = make_variation(store, price="10.00")
    stock(variation, 2)
    customer = make_customer(store, balance="100.00")
    body = {"customerId": str(customer.pk), "items": [{"variationId": str(variation.pk)}]}
    with django_assert_num_queries(POST_ONE_ITEM_QUERIES + KEYED_EXTRA_QUERIES):
        keyed = api.post("/orders", body, headers={"Idempotency-Key": "fast-path"})
    assert keyed.status_code == 201
    with django_assert_num_queries(4):  # its transaction (a savepoint here), the lock, the lookup: nothing else
        replay = api.post("/orders", body, headers={"Idempotency-Key": "fast-path"})
    assert replay["Idempotent-Replayed"] == "true" and replay.content == keyed.content
    assert Order.objects.filter(customer=customer).count() == 1


def test_no_task_and_no_statement_after_commit_when_nobody_listens(api, store, django_capture_on_commit_callbacks):
    """No webhook endpoint, no WhatsApp route: the order's events are written dispatched by their INSERT
    itself, so the commit queues nothing and runs nothing after it (issue 15). Once an endpoint listens,
    the same order leaves its events undispatched and queues one fan-out for both."""
    _warm_up(api, store)
    variation = make_variation(store, price="10.00")
    stock(variation, 2)
    customer = make_customer(store, balance="100.00")
    body = {"customerId": str(customer.pk), "items": [{"variationId": str(variation.pk)}]}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        placed = api.post("/orders", body)
    assert placed.status_code == 201
    assert callbacks == []
    events = Event.objects.filter(store=store, type__in=["order.created", "order.completed"])
    assert events.count() == 3  # the warm-up's order.created (a service: not completed) and this order's two
    assert all(event.dispatched_at is not None for event in events)

    created = api.post("/webhooks", {"url": "https://93.184.215.14/hook", "events": ["order.completed"]})
    assert created.status_code == 201, created.content
    with django_capture_on_commit_callbacks() as callbacks:
        wanted = api.post("/orders", body)
    assert wanted.status_code == 201
    assert len(callbacks) == 1  # one fan-out task for both events
    latest = Event.objects.filter(store=store, type__in=["order.created", "order.completed"]).order_by("-created_at")
    assert [event.dispatched_at for event in latest[:2]] == [None, None]
