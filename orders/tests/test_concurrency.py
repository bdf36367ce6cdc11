"""Real concurrent HTTP clients against a real gunicorn on PostgreSQL (issue 5 "Done when")."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from django.db.models import Sum

from catalog.models import License, Variation
from catalog.tests.factories import make_variation, stock
from orders.models import Order, OrderItem
from wallets.models import LedgerEntry, Wallet
from wallets.tests.factories import make_customer

pytestmark = [pytest.mark.live, pytest.mark.concurrency]


def fire(url: str, token: str, bodies: list[dict], headers: dict | None = None) -> list[requests.Response]:
    """POST every body at once (a barrier releases all threads together)."""
    barrier = threading.Barrier(len(bodies))

    def one(body):
        with requests.Session() as session:
            barrier.wait(timeout=30)
            return session.post(
                url,
                json=body,
                timeout=60,
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
            )

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, bodies))


def assert_ledger_consistent(customer):
    wallet = Wallet.objects.get(customer=customer)
    total = LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    assert wallet.balance == total
    return wallet.balance


def test_wallet_affording_seven_units_sells_exactly_seven(live_server_proc, store, make_token):
    variation = make_variation(store, price="1000.00")
    stock(variation, 40)
    customer = make_customer(store, balance="7000.00")
    token = make_token(store, rate_limit_per_minute=100000)
    server = live_server_proc()
    body = {"customerId": str(customer.pk), "items": [{"variationId": str(variation.pk)}]}

    responses = fire(server.api + "/orders", token, [body] * 40)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 7, 400: 33}, [(r.status_code, r.text[:200]) for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"insufficient_balance"}
    assert assert_ledger_consistent(customer) == Decimal("0.00")
    assert LedgerEntry.objects.filter(wallet_id=customer.pk, kind="PURCHASE").count() == 7
    delivered = License.objects.filter(variation=variation, status="DELIVERED")
    assert delivered.count() == 7
    assert OrderItem.objects.filter(license__in=delivered).values("license_id").distinct().count() == 7
    numbers = sorted(r.json()["orderNumber"] for r in responses if r.status_code == 201)
    assert numbers == [f"ORD-{n:06d}" for n in range(1, 8)]
    assert sorted(Order.objects.values_list("number", flat=True)) == list(range(1, 8))
    variation.refresh_from_db()
    assert (variation.stock_available, variation.stock_delivered) == (33, 7)


def test_thirty_licenses_sixty_buyers_no_double_sale(live_server_proc, store, make_token):
    variation = make_variation(store, price="1000.00")
    stock(variation, 30)
    customers = [make_customer(store, balance="1000.00") for _ in range(60)]
    token = make_token(store, rate_limit_per_minute=100000)
    server = live_server_proc()
    bodies = [{"customerId": str(c.pk), "items": [{"variationId": str(variation.pk)}]} for c in customers]

    responses = fire(server.api + "/orders", token, bodies)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 30, 400: 30}, [(r.status_code, r.text[:200]) for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"out_of_stock"}
    assert License.objects.filter(variation=variation, status="AVAILABLE").count() == 0
    license_ids = list(OrderItem.objects.values_list("license_id", flat=True))
    assert len(license_ids) == 30 and len(set(license_ids)) == 30
    balances = Counter(Wallet.objects.filter(customer__in=customers).values_list("balance", flat=True))
    assert balances == {Decimal("0.00"): 30, Decimal("1000.00"): 30}
    for customer in customers:
        assert_ledger_consistent(customer)
    variation.refresh_from_db()
    assert (variation.stock_available, variation.stock_delivered) == (0, 30)
    assert sorted(Order.objects.values_list("number", flat=True)) == list(range(1, 31))


def test_same_idempotency_key_ten_times_makes_one_order(live_server_proc, store, make_token):
    variation = make_variation(store, price="1000.00")
    stock(variation, 10)
    customer = make_customer(store, balance="10000.00")
    token = make_token(store, rate_limit_per_minute=100000)
    server = live_server_proc()
    body = {"customerId": str(customer.pk), "items": [{"variationId": str(variation.pk)}]}

    responses = fire(server.api + "/orders", token, [body] * 10, headers={"Idempotency-Key": "order-abc-1"})

    created = [r for r in responses if r.status_code == 201]
    conflicts = [r for r in responses if r.status_code == 409]
    assert len(created) + len(conflicts) == 10, [(r.status_code, r.text[:200]) for r in responses]
    assert all(r.json()["code"] == "idempotency_conflict" for r in conflicts)
    originals = [r for r in created if r.headers.get("Idempotent-Replayed") != "true"]
    assert len(originals) == 1
    assert {r.content for r in created} == {originals[0].content}
    assert Order.objects.count() == 1
    assert LedgerEntry.objects.filter(wallet_id=customer.pk, kind="PURCHASE").count() == 1
    assert assert_ledger_consistent(customer) == Decimal("9000.00")
    # a retry after the dust settles is a byte-for-byte replay
    replay = requests.post(
        server.api + "/orders",
        json=body,
        timeout=30,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "order-abc-1"},
    )
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == originals[0].content
    assert Variation.objects.get(pk=variation.pk).stock_available == 9
