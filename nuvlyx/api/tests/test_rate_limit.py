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
