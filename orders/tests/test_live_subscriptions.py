"""Issue 16 "done when", live: real gunicorn, real Celery workers and beats, real Redis, real PostgreSQL.

- 20 concurrent warranty replacements on 20 items with 5 licenses in stock: exactly 5 replaced, 15 × 400
  out_of_stock, no credential delivered twice, no wallet touched; concurrent requests with one
  Idempotency-Key replace once.
- Expiry reminders with TWO beat processes and TWO workers: each reminder point of a 30-day license is
  delivered exactly once to a webhook receiver; an item whose points all passed 3 days ago (an outage) is
  skipped and counted, never sent. "Now" is driven by moving expiresAt, never by faking clocks.
"""

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Sum

from catalog.models import License, Variation
from catalog.tests.factories import make_variation, stock
from conftest import BASE_DIR, stop, subprocess_env, wait_until
from nuvlyx.core.models import Event
from nuvlyx.core.timeutil import now
from orders.models import LicenseReminder, OrderItem, OrderItemReplacement
from orders.services import order_place
from wallets.models import LedgerEntry, Wallet
from wallets.tests.factories import make_customer
from webhooks.tests.receiver import Receiver

from .test_concurrency import fire

pytestmark = [pytest.mark.live, pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def test_20_concurrent_replacements_with_5_licenses_in_stock(live_server_proc, store, make_token):
    variation = make_variation(store, price="1000.00", duration_days=30)
    stock(variation, 20, prefix="sold")
    customer = make_customer(store, balance="20000.00")
    items = [
        order_place(store=store, customer_id=customer.pk, items=[variation.pk]).order.items.get() for _ in range(20)
    ]
    stock(variation, 5, prefix="spare")
    delivered_before = {item.license_id for item in items}
    ledger_before = LedgerEntry.objects.count()
    balance_before = Wallet.objects.get(customer=customer).balance
    token = make_token(store, rate_limit_per_minute=100000)
    server = live_server_proc()

    responses = _fire_each(server.api, token, items)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 5, 400: 15}, [(r.status_code, r.text[:200]) for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"out_of_stock"}
    new_credentials = [r.json()["license"]["credentials"] for r in responses if r.status_code == 200]
    assert len(set(new_credentials)) == 5 and all(c.startswith("spare-") for c in new_credentials)
    new_ids = {r.json()["license"]["id"] for r in responses if r.status_code == 200}
    assert not new_ids & {str(i) for i in delivered_before}
    assert License.objects.filter(variation=variation, status="REPLACED").count() == 5
    assert License.objects.filter(variation=variation, status="AVAILABLE").count() == 0
    assert OrderItemReplacement.objects.count() == 5
    assert OrderItem.objects.filter(license__isnull=False).values("license").distinct().count() == 20
    assert LedgerEntry.objects.count() == ledger_before  # no wallet touched
    wallet = Wallet.objects.get(customer=customer)
    assert wallet.balance == balance_before == LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"]
    counters = Variation.objects.get(pk=variation.pk)
    assert (counters.stock_available, counters.stock_delivered) == (0, 20)


def _fire_each(api: str, token: str, items) -> list:
    """One POST per item, all released at once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    barrier = threading.Barrier(len(items))

    def one(item):
        with requests.Session() as session:
            barrier.wait(timeout=30)
            return session.post(
                f"{api}/orders/{item.order_id}/items/{item.pk}/replace",
                json={"reason": "broken"},
                timeout=60,
                headers={"Authorization": f"Bearer {token}"},
            )

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(one, items))


def test_concurrent_requests_with_one_idempotency_key_replace_once(live_server_proc, store, make_token):
    variation = make_variation(store, duration_days=30)
    stock(variation, 6)
    item = order_place(
        store=store, customer_id=make_customer(store, balance="10000.00").pk, items=[variation.pk]
    ).order.items.get()
    token = make_token(store, rate_limit_per_minute=100000)
    server = live_server_proc()

    url = f"{server.api}/orders/{item.order_id}/items/{item.pk}/replace"
    responses = fire(url, token, [{"reason": "x"}] * 5, headers={"Idempotency-Key": "same-key"})

    assert OrderItemReplacement.objects.filter(item=item).count() == 1
    assert Counter(r.status_code for r in responses)[200] >= 1
    assert {r.status_code for r in responses} <= {200, 409}
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {"idempotency_conflict"}


def _beat(tmp_path, n: int, env: dict) -> subprocess.Popen:
    log = open(tmp_path / f"beat-{n}.log", "ab")
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "nuvlyx", "beat", "--loglevel", "INFO"),
            *("--schedule", str(tmp_path / f"beat-schedule-{n}")),
        ],
        cwd=BASE_DIR,
        env=subprocess_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _due_in(item_id, delta) -> None:
    """Move the item's expiry to `delta` from now (delivered 30 days before it)."""
    expires = now() + delta
    OrderItem.objects.filter(pk=item_id).update(expires_at=expires, delivered_at=expires - timedelta(days=30))


def test_reminders_once_each_with_two_beats_and_two_workers(api, store, celery_worker_proc, tmp_path):
    receiver = Receiver().start()
    beats: list[subprocess.Popen] = []
    try:
        response = api.post("/webhooks", {"url": receiver.url, "events": ["license.expiring", "license.expired"]})
        assert response.status_code == 201, response.content
        variation = make_variation(store, duration_days=30)
        stock(variation, 2)
        customer = make_customer(store, balance="20000.00")
        item = order_place(store=store, customer_id=customer.pk, items=[variation.pk]).order.items.get()
        late = order_place(store=store, customer_id=customer.pk, items=[variation.pk]).order.items.get()
        _due_in(late.pk, -timedelta(days=3))  # all its points passed during a 3-day outage

        env = {"LICENSE_REMINDER_INTERVAL_SECONDS": "0.5"}
        celery_worker_proc(**env)
        celery_worker_proc(**env)
        beats = [_beat(tmp_path, 1, env), _beat(tmp_path, 2, env)]

        def bodies() -> list[dict]:
            return [json.loads(r.body) for r in list(receiver.requests)]

        def received():
            return Counter((b["type"], b["data"].get("daysLeft"), b["data"]["itemId"]) for b in bodies())

        wait_until(
            lambda: LicenseReminder.objects.filter(item=late, status="SKIPPED").count() == 4, 60, message="late skips"
        )
        expected = Counter()
        for delta, points in (
            (timedelta(days=3) - timedelta(minutes=1), [("license.expiring", 3)]),
            (timedelta(days=1) - timedelta(minutes=1), [("license.expiring", 1)]),
            (-timedelta(minutes=1), [("license.expiring", 0), ("license.expired", None)]),
        ):
            _due_in(item.pk, delta)
            expected.update((kind, days, str(item.pk)) for kind, days in points)
            wait_until(lambda: received() == expected, 60, message=f"reminders {dict(expected)}")
            time.sleep(3)  # several more ticks of both beats: nothing more arrives
            assert received() == expected

        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 4
        assert Event.objects.filter(type__startswith="license.").count() == 4
        assert not any(b["data"]["itemId"] == str(late.pk) for b in bodies())
        assert "credentials" not in str(bodies())
    finally:
        for beat in beats:
            stop(beat)
        receiver.stop()


def test_concurrent_renewals_of_one_item_renew_it_once(live_server_proc, store, make_token):
    variation = make_variation(store, price="1000.00", duration_days=30)
    stock(variation, 10)
    customer = make_customer(store, balance="10000.00")
    item = order_place(store=store, customer_id=customer.pk, items=[variation.pk]).order.items.get()
    token = make_token(store, rate_limit_per_minute=100000)
    server = live_server_proc()
    body = {"customerId": str(customer.pk), "items": [{"variationId": str(variation.pk), "renewsItemId": str(item.pk)}]}

    responses = fire(server.api + "/orders", token, [body] * 6)

    assert Counter(r.status_code for r in responses) == {201: 1, 409: 5}, [r.text[:200] for r in responses]
    assert OrderItem.objects.filter(renews_item=item).count() == 1
    assert Wallet.objects.get(customer=customer).balance == 8000  # two purchases: the item and one renewal
