"""Rate limits: headers on every response, 429 + Retry-After past the limit, shared across processes."""

import pytest
import requests

from conftest import assert_error


def test_headers_on_every_authenticated_response(api):
    response = api.get("/me")
    assert response["X-RateLimit-Limit"] == "120"
    assert int(response["X-RateLimit-Remaining"]) == 119
    assert int(response["X-RateLimit-Reset"]) >= 0
    not_found = api.get("/nowhere")
    assert not_found.status_code == 404
    assert int(not_found["X-RateLimit-Remaining"]) == 118


def test_per_token_override_and_independent_buckets(api_for, store):
    a = api_for(store, rate_limit_per_minute=2)
    b = api_for(store, rate_limit_per_minute=2)
    assert [a.get("/me").status_code for _ in range(3)] == [200, 200, 429]
    assert b.get("/me").status_code == 200  # another token has its own bucket


def test_429_body_and_retry_after(api_for, store):
    limited = api_for(store, rate_limit_per_minute=1)
    limited.get("/me")
    response = limited.get("/me")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["X-RateLimit-Limit"] == "1"


def test_unauthenticated_requests_are_not_counted(client, api_for, store):
    limited = api_for(store, rate_limit_per_minute=2)
    for _ in range(5):
        assert client.get("/api/v1/external/me").status_code == 401
    assert limited.get("/me").status_code == 200


@pytest.mark.live
def test_limit_is_shared_across_processes(live_server_proc, api_for, store):
    """The bucket lives in Redis: requests through a separate gunicorn process and through this
    process draw from the same allowance."""
    limited = api_for(store, rate_limit_per_minute=4)
    server = live_server_proc(workers=2, threads=1)
    headers = {"Authorization": f"Bearer {limited.token}"}
    statuses = []
    for i in range(6):
        if i % 2:
            statuses.append(requests.get(f"{server.api}/me", headers=headers, timeout=10).status_code)
        else:
            statuses.append(limited.get("/me").status_code)
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_a_refused_read_answers_429_whatever_its_handler_answered(api_for, store):
    """A read's limiter answer is read after its handler ran (the round trip overlaps the work), but
    the order of checks stays the contract's: past the limit a lookup of a missing or existing
    object, a list with a bad filter, all answer 429, never 404 / 422 / 200."""
    limited = api_for(store, rate_limit_per_minute=1)
    assert limited.get("/me").status_code == 200
    from wallets.tests.factories import make_customer

    customer = make_customer(store)
    for path in (
        "/orders/00000000-0000-0000-0000-000000000000",  # would be 404
        "/orders?status=NOPE",  # would be 422
        f"/customers/{customer.pk}",  # would be 200
        "/products",
    ):
        response = limited.get(path)
        assert_error(response, 429, "rate_limited")
        assert response["X-RateLimit-Remaining"] == "0", path
        assert int(response["Retry-After"]) >= 1


def test_a_write_is_refused_before_it_runs(api_for, store):
    from catalog.models import PriceTier

    limited = api_for(store, rate_limit_per_minute=1)
    assert limited.get("/me").status_code == 200
    response = limited.post("/price-tiers", {"name": "Gold", "level": 1})
    assert_error(response, 429, "rate_limited")
    assert not PriceTier.objects.filter(store=store, name="Gold").exists()


def test_a_reply_left_unread_is_drained_before_the_next_command():
    """A request that dies between sending its count and reading the answer leaves a reply on this
    thread's connection; the next count must read its own answer, not that one."""
    import uuid

    from nuvlyx.api import throttling

    key = f"nvl:rl:test-{uuid.uuid4()}"
    throttling.Pending(key, 3)  # counted, answer never read
    assert throttling.hit(key, 3)[:2] == (True, 1)  # the second request's own answer: 1 left, not 2
    throttling.Pending(key, 3)
    throttling.Pending(key, 3)  # two unread replies in a row
    allowed, remaining, _, retry_after = throttling.hit(key, 3)
    assert (allowed, remaining) == (False, 0) and retry_after > 0


def test_the_limiter_reconnects_after_its_connection_broke(api_for, store):
    from nuvlyx.api import throttling

    limited = api_for(store, rate_limit_per_minute=5)
    assert limited.get("/me")["X-RateLimit-Remaining"] == "4"
    import redis
    from django.conf import settings

    host, port = throttling._line.connection()._sock.getsockname()[:2]
    killed = redis.Redis.from_url(settings.REDIS_URL).client_kill(f"{host}:{port}")  # a restart, an idle timeout
    assert killed is True
    response = limited.get("/me")
    assert response.status_code == 200 and response["X-RateLimit-Remaining"] == "3"


def test_a_redis_that_lost_the_script_gets_it_again():
    """Redis restarted empty (SCRIPT FLUSH): the next count loads the script and is still exact."""
    import uuid

    import redis
    from django.conf import settings

    from nuvlyx.api import throttling

    key = f"nvl:rl:test-{uuid.uuid4()}"
    assert throttling.hit(key, 2)[:2] == (True, 1)
    redis.Redis.from_url(settings.REDIS_URL).script_flush()
    assert throttling.hit(key, 2)[:2] == (True, 0)
    assert throttling.hit(key, 2)[0] is False


def test_a_403_carries_the_bucket_without_counting(api_for, store):
    """API.md: every response carries X-RateLimit-*; the scope check comes before the limiter, so a
    403 shows the bucket as it stands and does not use it up."""
    token = api_for(store, scopes=["products:read"], rate_limit_per_minute=3)
    refused = token.get("/customers")
    assert_error(refused, 403, "forbidden")
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("3", "3")
    assert token.get("/products")["X-RateLimit-Remaining"] == "2"  # the 403 took nothing
    again = token.get("/customers")
    assert again["X-RateLimit-Remaining"] == "2" and int(again["X-RateLimit-Reset"]) >= 1
    token.get("/products")
    token.get("/products")
    assert token.get("/products").status_code == 429
    assert token.get("/customers")["X-RateLimit-Remaining"] == "0"  # still 403, and says so


def test_peek_agrees_with_counting_in_process_and_in_redis(settings):
    """The embedded mode's in-process bucket and Redis's answer the same."""
    import uuid

    from nuvlyx.api import throttling

    for redis_url in (settings.REDIS_URL, ""):
        settings.REDIS_URL = redis_url
        key = f"nvl:rl:test-{uuid.uuid4()}"
        assert throttling.peek(key, 4)[0] == 4
        throttling.hit(key, 4)
        throttling.hit(key, 4)
        available, reset = throttling.peek(key, 4)
        assert available == 2 and 0 < reset <= 15, (redis_url, available, reset)


def _queries(call):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, [q["sql"] for q in captured.captured_queries]


def test_near_the_limit_a_read_is_refused_before_its_handler_runs(api_for, store):
    """A client hammering past its limit gets cheap 429s: no lookup runs for them."""
    from wallets.tests.factories import make_customer

    customer = make_customer(store)
    limited = api_for(store, rate_limit_per_minute=3)
    for _ in range(3):
        assert limited.get(f"/customers/{customer.pk}").status_code == 200
    refused, sql = _queries(lambda: limited.get(f"/customers/{customer.pk}"))
    assert_error(refused, 429, "rate_limited")
    assert not [q for q in sql if "wallets_customer" in q], sql


def test_with_headroom_a_read_overlaps_and_is_still_refused_when_another_process_emptied_the_bucket(api_for, store):
    """Far from the limit a read runs while its count travels to Redis; if another process used the
    bucket up meanwhile, the answer still wins: 429, whatever the handler found."""
    from nuvlyx.api import throttling
    from wallets.tests.factories import make_customer

    customer = make_customer(store)
    limited = api_for(store, rate_limit_per_minute=40)
    assert limited.get(f"/customers/{customer.pk}")["X-RateLimit-Remaining"] == "39"  # headroom seen
    token_id = limited.get("/me").json()["token"]["id"]
    while throttling.hit(f"nvl:rl:{token_id}", 40)[0]:  # another process takes the rest
        pass
    refused, sql = _queries(lambda: limited.get(f"/customers/{customer.pk}"))
    assert_error(refused, 429, "rate_limited")
    assert [q for q in sql if "wallets_customer" in q]  # the handler ran, its answer was dropped
