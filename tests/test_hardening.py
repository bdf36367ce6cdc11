"""Issue 12's reproducers, each a regression test (in-process; the live ones are in
test_hardening_live.py): bounded body parsing, ASCII-only pagination, OPTIONS, bodies of
body-less POSTs, Redis unreachable, no secret in the idempotency table, Cache-Control, proxies."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from conftest import API, BASE_DIR, assert_error, free_port
from tests.test_robustness import _fill, api_routes

BIG_INT = b'{"name":"x","level":1,"junk":18446744073709551616}'
DEEP_256 = b'{"name":"x","level":1,"junk":' + b"[" * 256 + b"]" * 256 + b"}"
SURROGATE = b'{"name":"x\\ud800","level":1}'


def _tiers(api) -> list:
    return api.get("/price-tiers").json()


# --- the body is parsed and validated once, fingerprint included ---------------------------
@pytest.mark.parametrize(
    ("raw", "status"),
    [(BIG_INT, 422), (DEEP_256, 400), (SURROGATE, 422), (b'{"name":"x","level":1,"j":"\\udfff"}', 422)],
    ids=["int-2**64", "nesting-256", "lone-surrogate", "lone-low-surrogate"],
)
def test_idempotency_fingerprint_never_crashes(api, raw, status):
    # when: a POST with an Idempotency-Key and a body no field of ours can hold
    response = api.post("/price-tiers", raw=raw, headers={"Idempotency-Key": "k1"})
    # then: the contract's error, nothing created, and the key is not burnt
    assert_error(response, status, "validation_error" if status == 422 else "bad_request")
    assert _tiers(api) == []
    ok = api.post("/price-tiers", {"name": "Gold", "level": 1}, headers={"Idempotency-Key": "k1"})
    assert ok.status_code == 201, ok.content


def test_integer_error_names_the_field(api):
    body = assert_error(api.post("/price-tiers", raw=BIG_INT), 422, "validation_error")
    assert body["errors"] == [{"field": "junk", "message": "Integer out of range."}]
    # the largest bigint still parses (and is ignored as an unknown field)
    fine = api.post("/price-tiers", raw=b'{"name":"x","level":1,"junk":9223372036854775807}')
    assert fine.status_code == 201, fine.content


def test_ten_thousand_deep_body_is_a_400(api):
    assert_error(api.post("/price-tiers", raw=b"[" * 10_000 + b"]" * 10_000), 400, "bad_request")


@pytest.mark.parametrize("field", ["kind", "status"])
def test_lone_surrogate_in_product_enum_is_a_422(api, field):
    raw = json.dumps({"name": "P", field: "@", "variations": [{"sku": "S1", "price": "1.00"}]})
    raw = raw.replace('"@"', '"\\ud800"').encode()
    body = assert_error(api.post("/products", raw=raw), 422, "validation_error")
    assert body["errors"][0]["field"] == field
    assert api.get("/products").json() == []
    created = api.post("/products", {"name": "P", "variations": [{"sku": "S1", "price": "1.00"}]})
    assert created.status_code == 201
    product_id = created.json()["id"]
    patched = api.client.patch(
        f"{API}/products/{product_id}",
        data=json.dumps({field: "@"}).replace('"@"', '"\\ud800"').encode(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert_error(patched, 422, "validation_error")
    assert api.get(f"/products/{product_id}").json()[field] == {"kind": "DIGITAL", "status": "ACTIVE"}[field]


# --- pagination: ASCII digits only; a page past the end is empty with the true total --------
@pytest.mark.parametrize("params", [{"page": "²"}, {"page": "１"}, {"limit": " 5"}, {"limit": "5 "}, {"page": "+1"}])
def test_pagination_accepts_ascii_digits_only(api, params):
    assert_error(api.get("/customers", params), 400, "invalid_pagination")


def test_page_far_past_the_end_is_empty_with_the_true_total(api):
    customer = api.post("/customers", {"name": "Ana"}).json()
    response = api.get("/customers", {"page": "1000000000", "limit": "100"})
    assert response.status_code == 200, response.content
    assert response.json() == {"data": [], "pagination": {"page": 1000000000, "limit": 100, "total": 1}}
    for path in ("/orders", f"/customers/{customer['id']}/wallet/transactions"):
        far = api.get(path, {"page": "999999999999999"})
        assert far.status_code == 200, (path, far.content)
        assert far.json()["data"] == []


# --- OPTIONS on every route ----------------------------------------------------------------
def test_options_on_every_route_is_200_never_500(api):
    checked = []
    for path, _methods in api_routes():
        url = f"{API}/" + _fill(path, {})
        response = api.client.options(url, HTTP_AUTHORIZATION=f"Bearer {api.token}")
        assert response.status_code == 200, (url, response.status_code, response.content[:200])
        assert "allowedMethods" in response.json()
        checked.append(path)
    for expected in ("products", "categories", "price-tiers", "orders", "orders/<id:pk>/refund"):
        assert expected in checked, checked


# --- a POST that ignores its body still parses it ------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [b'{"a":', b"not json", b"\xff\xfe{}", b"[" * 10_000 + b"]" * 10_000, b'{"x":"\\ud800"}'],
    ids=["truncated", "not-json", "invalid-utf8", "10k-deep", "surrogate"],
)
def test_webhook_test_endpoint_refuses_a_bad_body(api, raw):
    from webhooks.models import Delivery

    hook = api.post("/webhooks", {"url": "https://example.com/hook", "events": ["*"]}).json()
    response = api.post(f"/webhooks/{hook['id']}/test", raw=raw)
    assert response.status_code in (400, 422), response.content
    assert_error(response, response.status_code)
    assert not Delivery.objects.exists()
    # an empty body is still fine, and so is {}
    assert api.post(f"/webhooks/{hook['id']}/test", raw=b"").status_code == 202
    assert api.post(f"/webhooks/{hook['id']}/test", {}).status_code == 202


def test_webhook_test_endpoint_refuses_a_non_json_body(api):
    hook = api.post("/webhooks", {"url": "https://example.com/hook", "events": ["*"]}).json()
    response = api.post(f"/webhooks/{hook['id']}/test", raw=b"hello", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


# --- Redis unreachable ---------------------------------------------------------------------
@pytest.fixture
def redis_unreachable(settings):
    from nuvlyx.api import throttling

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    throttling._redis_script.cache_clear()
    yield
    throttling._redis_script.cache_clear()


def test_rate_limiter_fails_closed_with_503_when_configured(api, redis_unreachable, settings):
    settings.RATE_LIMIT_FAIL_OPEN = False
    response = api.get("/price-tiers")
    body = assert_error(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) >= 1
    assert "Traceback" not in body["message"]
    # a POST with a key is not stored: the retry runs again once Redis is back
    posted = api.post("/price-tiers", {"name": "Gold", "level": 1}, headers={"Idempotency-Key": "r1"})
    assert_error(posted, 503, "service_unavailable")
    from nuvlyx.api.models import IdempotencyKey

    assert not IdempotencyKey.objects.exists()


def test_rate_limiter_fails_open_by_default(api, redis_unreachable, settings):
    assert settings.RATE_LIMIT_FAIL_OPEN is True
    response = api.get("/price-tiers")
    assert response.status_code == 200, response.content
    assert "X-RateLimit-Limit" not in response  # nothing counted: said honestly
    created = api.post("/price-tiers", {"name": "Gold", "level": 1})
    assert created.status_code == 201


def test_rate_limit_clock_is_redis_time(api, make_token, store):
    """The bucket is driven by Redis TIME: the web process's clock plays no part."""
    from unittest import mock

    from nuvlyx.api import throttling

    throttling._redis_script.cache_clear()
    limited = type(api)(api.client, make_token(store, rate_limit_per_minute=3))
    with mock.patch("time.time", return_value=4_000_000_000.0):  # a host whose clock is in 2096
        statuses = [limited.get("/price-tiers").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


# --- secrets in the idempotency table --------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_database_dump_holds_no_webhook_secret_in_clear(api):
    hook = {"url": "https://example.com/a", "events": ["*"]}
    created = api.post("/webhooks", hook, headers={"Idempotency-Key": "w1"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    replay = api.post("/webhooks", hook, headers={"Idempotency-Key": "w1"})
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == created.content  # byte for byte, decrypted
    db = settings.DATABASES["default"]
    dump = subprocess.run(
        [
            *("pg_dump", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)),
            *("-U", db["USER"] or "postgres", "--data-only", connection.settings_dict["NAME"]),
        ],
        capture_output=True,
        check=True,
        env={**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""},
    ).stdout
    assert b"api_idempotencykey" in dump  # the table is in the dump...
    assert b"whsec_" not in dump  # ...and no secret is, in clear
    assert secret.split("_", 1)[1].encode() not in dump


# --- Cache-Control and the proxy header ----------------------------------------------------
def test_no_store_on_responses_with_secrets_or_credentials(api):
    created = api.post("/webhooks", {"url": "https://example.com/a", "events": ["*"]})
    assert created["Cache-Control"] == "no-store"
    assert api.get("/webhooks")["Cache-Control"] == "no-store"
    assert api.get("/orders/00000000-0000-4000-8000-000000000000")["Cache-Control"] == "no-store"
    assert api.get("/products")["Cache-Control"] == "private, no-cache"  # ETag revalidation kept


def _setting_with_env(name: str, **env) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    environ = {k: v for k, v in os.environ.items() if k != "TRUSTED_PROXY"}
    environ.update(env, DJANGO_SETTINGS_MODULE="nuvlyx.test_settings")
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=environ, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_forwarded_proto_is_believed_only_behind_a_declared_proxy(client, settings):
    assert _setting_with_env("SECURE_PROXY_SSL_HEADER") == "None"
    assert _setting_with_env("SECURE_PROXY_SSL_HEADER", TRUSTED_PROXY="true") == "('HTTP_X_FORWARDED_PROTO', 'https')"
    # and a client claiming https over plain HTTP is still redirected
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(f"{API}/me", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # what TRUSTED_PROXY=true sets
    assert client.get(f"{API}/me", HTTP_X_FORWARDED_PROTO="https").status_code == 401


def test_json_body_for_a_bad_host(client):
    response = client.get(f"{API}/me", HTTP_HOST="evil.example")
    assert_error(response, 400, "bad_request")
    assert json.loads(response.content)["statusCode"] == 400


def test_admin_pages_that_reveal_a_secret_are_no_store(store):
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from nuvlyx.core.models import StoreMember

    user = get_user_model().objects.create_user("owner12", password="pw-123456789", is_staff=True)
    StoreMember.objects.create(store=store, user=user)
    owner = Client()
    owner.force_login(user)
    response = owner.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"url": "http://127.0.0.1:9/hooks", "events": ["order.created"], "description": "bot", "active": "on"},
    )
    assert response.status_code == 302 and response["Location"].endswith("/reveal/")  # POST → redirect → GET
    reveal = owner.get(response["Location"])
    assert reveal.status_code == 200 and b"whsec_" in reveal.content
    assert "no-store" in reveal["Cache-Control"]


def test_object_deleted_by_a_concurrent_request_is_a_404_not_a_500(api, store):
    """PATCH /products/:id racing DELETE: the view found the product, the service's locked re-read
    does not (found by schemathesis with two workers). Replayed here at the service boundary."""
    from catalog import services
    from catalog.models import Product
    from nuvlyx.api.errors import api_exception_handler

    created = api.post("/products", {"name": "P", "variations": [{"sku": "S1", "price": "1.00"}]}).json()
    product = Product.objects.get(pk=created["id"])  # what the view's get_object() returned
    assert api.delete(f"/products/{product.pk}").status_code == 204  # the concurrent DELETE
    with pytest.raises(Product.DoesNotExist) as raised:
        services.product_update(product=product, name="Q")
    response = api_exception_handler(raised.value, {})
    assert response.status_code == 404
    assert response.data == {"statusCode": 404, "message": "Not found", "error": "Not Found", "code": "not_found"}


def test_a_method_the_path_does_not_serve_is_a_405_whatever_the_body(api):
    response = api.client.put(
        f"{API}/price-tiers", data=b'{"a":', content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}"
    )
    assert_error(response, 405, "method_not_allowed")
