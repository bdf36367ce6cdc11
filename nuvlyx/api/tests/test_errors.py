"""Every layer renders the contract's error body: 400/401/403/404/405/413/415/422/429/500."""

import json

import pytest

from conftest import API, assert_error

pytestmark = pytest.mark.urls("nuvlyx.api.tests.kernel_urls")


def test_400_malformed_json(api):
    body = assert_error(api.post("/echo", raw=b'{"amount": "1.00"'), 400, "bad_request")
    assert set(body) >= {"statusCode", "message", "error", "code"}
    assert body["error"] == "Bad Request"


def test_400_invalid_utf8(api):
    assert_error(api.post("/echo", raw=b'{"amount": "\xff"}'), 400, "bad_request")


def test_401(client, db):
    assert_error(client.post(API + "/echo", data="{}", content_type="application/json"), 401, "unauthorized")


def test_403_names_scope(api_for, store):
    read_only = api_for(store, scopes=["products:read"])
    body = assert_error(read_only.post("/echo", {"amount": "1.00"}), 403, "forbidden")
    assert "products:write" in body["message"]


def test_404_unknown_route_and_non_uuid_id(api):
    assert_error(api.get("/no/such/thing"), 404, "not_found")
    assert_error(api.get("/products/not-a-uuid"), 404, "not_found")
    assert_error(api.post("/no/such/thing", {}), 404, "not_found")


def test_405_known_path_wrong_method(api):
    body = assert_error(api.delete("/echo"), 405, "method_not_allowed")
    assert body["error"] == "Method Not Allowed"
    assert_error(api.put("/me", {}), 405, "method_not_allowed")


def test_413_body_over_one_megabyte(api):
    big = json.dumps({"amount": "1.00", "pad": "x" * (1024 * 1024)})
    body = assert_error(api.post("/echo", raw=big), 413, "payload_too_large")
    assert body["error"] == "Content Too Large" or body["error"] == "Request Entity Too Large"


def test_413_with_idempotency_key_too(api):
    big = json.dumps({"amount": "1.00", "pad": "x" * (1024 * 1024)})
    assert_error(api.post("/echo", raw=big, headers={"Idempotency-Key": "k-big"}), 413, "payload_too_large")


def test_415_body_not_json(api):
    assert_error(
        api.post("/echo", raw="amount=1", content_type="application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
    )
    assert_error(api.post("/echo", raw="amount", content_type="text/plain"), 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "amount",
    ["0", "0.00", "-1.00", "1.001", "1e3", "NaN", "Infinity", "abc", "", " 1.00", True, None, [], {}, "10000000000.00"],
)
def test_422_bad_amounts_name_the_field(api, amount):
    body = assert_error(api.post("/echo", {"amount": amount}), 422, "validation_error")
    assert body["errors"][0]["field"] == "amount"
    assert body["message"].startswith("Validation failed")


@pytest.mark.parametrize(
    "raw",
    [
        '{"amount": 1.001}',
        '{"amount": 1e3}',
        '{"amount": 0}',
        '{"amount": -5}',
    ],
)
def test_422_bad_json_number_amounts(api, raw):
    body = assert_error(api.post("/echo", raw=raw), 422, "validation_error")
    assert body["errors"][0]["field"] == "amount"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ('{"amount": 10000.5}', "10000.50"),
        ('{"amount": 7}', "7.00"),
        ('{"amount": "9999999999.99"}', "9999999999.99"),
        ('{"amount": 0.1}', "0.10"),
    ],
)
def test_amounts_accepted_exactly(api, raw, expected):
    response = api.post("/echo", raw=raw)
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == expected


@pytest.mark.parametrize(
    "phone",
    [
        "573001234567",
        "+57 300 123 4567",
        "+57-300-1234567",
        "+(57)3001234567",
        "00573001234567",
        "+5730012345",
        "+570001234567",
        "+",
        "+abc",
    ],
)
def test_422_bad_phones(api, phone):
    body = assert_error(api.post("/echo", {"amount": "1.00", "phone": phone}), 422, "validation_error")
    assert body["errors"][0]["field"] == "phone"


def test_422_nested_field_paths(api):
    body = assert_error(
        api.post(
            "/echo",
            {
                "amount": "1.00",
                "items": [{"variationId": "00000000-0000-4000-8000-000000000000"}, {"variationId": "nope"}],
            },
        ),
        422,
        "validation_error",
    )
    assert body["errors"][0]["field"] == "items[1].variationId"


def test_429_after_the_limit_with_retry_after(api_for, store):
    limited = api_for(store, rate_limit_per_minute=3)
    statuses = [limited.get("/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = limited.get("/me")
    body = assert_error(response, 429, "rate_limited")
    assert body["error"] == "Too Many Requests"
    assert int(response["Retry-After"]) >= 1
    assert response["X-RateLimit-Remaining"] == "0"


def test_500_is_generic_with_request_id_and_logged(api, caplog):
    with caplog.at_level("ERROR", logger="nuvlyx.api"):
        response = api.get("/boom")
    body = assert_error(response, 500, "internal_error")
    text = response.content.decode()
    assert "secret-internal-detail" not in text and "Traceback" not in text and "SELECT" not in text
    assert body["requestId"] == response["X-Request-Id"]
    assert any(body["requestId"] in record.getMessage() for record in caplog.records)


def test_500_body_is_the_same_from_every_entry_point(api, client, rf, caplog):
    """DRF's handler, ApiErrorMiddleware (outside DRF) and handler500 render one body (one function)."""
    from nuvlyx.api.middleware import RequestIdMiddleware
    from nuvlyx.urls import handler500

    bodies = []
    with caplog.at_level("ERROR", logger="nuvlyx.api"):
        drf_response = api.get("/boom")
        client.raise_request_exception = False
        plain_response = client.get(API + "/boom-plain")
    django_response = RequestIdMiddleware(handler500)(rf.get(API + "/anything"))
    django_response.json = lambda: json.loads(django_response.content)  # what the test client adds
    for response in (drf_response, plain_response, django_response):
        body = assert_error(response, 500, "internal_error")
        assert response["Content-Type"] == "application/json"
        assert body.pop("requestId") == response["X-Request-Id"]
        assert "secret-internal-detail" not in response.content.decode()
        bodies.append(body)
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0] == {
        "statusCode": 500,
        "message": "Internal server error",
        "error": "Internal Server Error",
        "code": "internal_error",
    }
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert drf_response["X-Request-Id"] in logged and plain_response["X-Request-Id"] in logged


def test_nul_characters_are_refused_with_422_naming_the_field(api):
    body = assert_error(
        api.post("/echo", raw='{"amount": "1.00", "items": [{"a\\u0000": 1}]}'), 422, "validation_error"
    )
    assert body["errors"][0]["field"].startswith("items[0]")
    body = assert_error(api.get("/me", {"search": "x\x00"}), 422, "validation_error")
    assert body["errors"][0]["field"] == "search"


def test_deeply_nested_json_is_a_400_not_a_crash(api):
    assert_error(api.post("/echo", raw="[" * 100_000 + "]" * 100_000), 400, "bad_request")
