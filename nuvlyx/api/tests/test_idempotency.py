"""Idempotency-Key: replay byte-for-byte, 422 on reuse, nothing stored for refusals before execution,
and concurrent duplicates against a live server produce one effect."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from conftest import assert_error
from nuvlyx.api.idempotency import purge_expired
from nuvlyx.api.models import IdempotencyKey
from nuvlyx.core.timeutil import now

KERNEL = pytest.mark.urls("nuvlyx.api.tests.kernel_urls")


@KERNEL
def test_replay_is_byte_for_byte_with_header(api):
    first = api.post("/echo", {"amount": "12.50"}, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    second = api.post("/echo", {"amount": "12.50"}, headers={"Idempotency-Key": "abc-1"})
    assert second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert second["Content-Type"] == "application/json"


@KERNEL
def test_same_body_with_other_key_order_and_spacing_replays(api):
    api.post("/echo", raw='{"amount": "1.00", "phone": "+573001234567"}', headers={"Idempotency-Key": "k2"})
    again = api.post("/echo", raw='{ "phone":"+573001234567","amount":"1.00" }', headers={"Idempotency-Key": "k2"})
    assert again["Idempotent-Replayed"] == "true"


@KERNEL
def test_reuse_with_different_body_is_422(api):
    api.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": "k3"})
    assert_error(
        api.post("/echo", {"amount": "2.00"}, headers={"Idempotency-Key": "k3"}), 422, "idempotency_key_reused"
    )


@KERNEL
def test_reuse_on_a_different_path_is_422(api, store):
    api.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": "k4"})
    response = api.post("/echo?x=1", {"amount": "1.00"}, headers={"Idempotency-Key": "k4"})
    assert_error(response, 422, "idempotency_key_reused")


@KERNEL
def test_validation_failure_is_not_stored_so_a_fixed_retry_runs(api):
    assert_error(api.post("/echo", {"amount": "-1"}, headers={"Idempotency-Key": "k5"}), 422, "validation_error")
    assert not IdempotencyKey.objects.filter(key="k5").exists()
    fixed = api.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": "k5"})
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed


@KERNEL
def test_401_403_are_not_stored(api_for, store, client):
    read_only = api_for(store, scopes=["products:read"])
    assert_error(read_only.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": "k6"}), 403, "forbidden")
    assert not IdempotencyKey.objects.exists()


@KERNEL
@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tkey", "ñandú", "bell\x07"])
def test_bad_keys_are_400(api, key):
    response = api.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": key})
    assert_error(response, 400, "bad_request")
    assert not IdempotencyKey.objects.exists()


@KERNEL
def test_keys_are_scoped_per_store(api, api_for, other_store):
    api.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": "shared"})
    other = api_for(other_store).post("/echo", {"amount": "2.00"}, headers={"Idempotency-Key": "shared"})
    assert other.status_code == 201 and other.json()["amount"] == "2.00"


@KERNEL
def test_expired_keys_are_purged_and_reusable(api):
    api.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": "old"})
    IdempotencyKey.objects.filter(key="old").update(created_at=now() - timedelta(hours=25))
    fresh = api.post("/echo", {"amount": "3.00"}, headers={"Idempotency-Key": "old"})
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh
    IdempotencyKey.objects.filter(key="old").update(created_at=now() - timedelta(hours=25))
    assert purge_expired() == 1
    assert not IdempotencyKey.objects.exists()


@KERNEL
def test_a_key_whose_request_is_running_is_409_and_free_again_when_it_ends(api, store):
    """The in-flight rule, with a real second PostgreSQL session holding the key's lock as a running
    request's transaction does (the request under test cannot take it and answers 409 at once)."""
    import psycopg
    from django.db import connection

    from nuvlyx.api.idempotency import lock_name

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [lock_name(store.pk, "busy")])
        busy = api.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": "busy"})
        assert_error(busy, 409, "idempotency_conflict")
        assert not IdempotencyKey.objects.filter(key="busy").exists()
        other.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [lock_name(store.pk, "busy")])
    done = api.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": "busy"})
    assert done.status_code == 201 and "Idempotent-Replayed" not in done
    again = api.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": "busy"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true" and again.content == done.content


@KERNEL
def test_a_keyed_post_commits_once(api, django_assert_max_num_queries):
    """The key's lock, its read and its stored response ride in the request's own transaction: no
    separate claim commit (issue 15)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = api.post("/echo", {"amount": "1.00"}, headers={"Idempotency-Key": "one-commit"})
    assert response.status_code == 201
    sql = [q["sql"] for q in queries]
    assert sum("pg_try_advisory_xact_lock" in q for q in sql) == 1
    assert sum(q.startswith("INSERT") and "api_idempotencykey" in q for q in sql) == 1
    assert not any(q.startswith("UPDATE") and "api_idempotencykey" in q for q in sql)


@pytest.mark.live
@pytest.mark.concurrency
def test_ten_concurrent_duplicates_against_a_live_server_credit_once(live_server_proc, store, make_token):
    from wallets.models import Customer, LedgerEntry, Wallet

    customer = Customer.objects.create(store=store, name="Ana")
    Wallet.objects.create(customer=customer, store=store)
    token = make_token(store)
    server = live_server_proc()
    url = f"{server.api}/customers/{customer.pk}/wallet/recharge"
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "recharge-123"}
    barrier = threading.Barrier(10)
    results: list = []

    def fire():
        barrier.wait()
        r = requests.post(url, json={"amount": "5000.00"}, headers=headers, timeout=30)
        results.append((r.status_code, r.headers.get("Idempotent-Replayed"), r.content))

    threads = [threading.Thread(target=fire) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _, _ in results)
    assert set(statuses) <= {201, 409}, results
    assert statuses.count(201) >= 1
    created = [body for s, replayed, body in results if s == 201]
    assert len(set(created)) == 1  # every 201 is the same response, replayed byte for byte
    assert Wallet.objects.get(pk=customer.pk).balance == Decimal("5000.00")
    assert LedgerEntry.objects.filter(wallet_id=customer.pk).count() == 1
    # Once the first finished, a late retry is a replay.
    late = requests.post(url, json={"amount": "5000.00"}, headers=headers, timeout=30)
    assert late.status_code == 201 and late.headers["Idempotent-Replayed"] == "true"
    assert late.content == created[0]
