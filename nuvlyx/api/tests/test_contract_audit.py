"""Found by a black-box audit of API.md (2026-12-03), each fixed and pinned here.

- `?format=` is an unknown query parameter like any other (DRF's override answered 404 before auth);
- NaN / Infinity are not JSON: 400 wherever they sit, and nothing happens;
- a blank (whitespace-only) body is not JSON: 400;
- a NUL in page/limit is a non-integer: 400 invalid_pagination;
- amounts take ASCII digits only (Decimal() also reads "١٠", "１０", "१०");
- a path id that is not a UUID goes through authentication, scope and rate limit like any id, then is
  the resource's own 404 (API.md: "same as unknown").
"""

import threading

import pytest
import requests

from conftest import assert_error
from wallets.models import LedgerEntry
from wallets.tests.factories import make_customer


@pytest.mark.parametrize("path", ["/customers", "/products", "/me"])
def test_format_is_an_ignored_query_parameter(client, api, path):
    assert_error(client.get(f"/api/v1/external{path}", {"format": "x"}), 401, "unauthorized")
    assert api.get(path, {"format": "csv"}).status_code == 200
    assert api.get(path, {"format": "json"}).status_code == 200


def test_format_does_not_skip_the_scope_or_the_rate_limit(api_for, store):
    reader = api_for(store, scopes=["products:read"], rate_limit_per_minute=1)
    assert_error(reader.get("/customers", {"format": "x"}), 403, "forbidden")
    assert reader.get("/products", {"format": "x"}).status_code == 200
    assert_error(reader.get("/products", {"format": "x"}), 429, "rate_limited")


@pytest.mark.parametrize(
    "raw", ['{"amount": "5.00", "foo": NaN}', '{"amount": "5.00", "x": [Infinity]}', '{"amount": -Infinity}']
)
def test_non_finite_literals_are_not_json(api, store, raw):
    customer = make_customer(store, balance="7.00")
    before = LedgerEntry.objects.count()
    response = api.post(f"/customers/{customer.pk}/wallet/recharge", raw=raw)
    assert_error(response, 400, "bad_request")
    assert LedgerEntry.objects.count() == before


@pytest.mark.parametrize("raw", ["   ", "\n", "\t \r\n"])
def test_a_blank_body_is_not_json(api, store, raw):
    customer = make_customer(store, balance="7.00")
    response = api.post(f"/customers/{customer.pk}/wallet/recharge", raw=raw)
    assert_error(response, 400, "bad_request")


def test_an_empty_body_is_no_body(api, store):
    customer = make_customer(store, balance="7.00")
    body = assert_error(api.post(f"/customers/{customer.pk}/wallet/recharge", raw=""), 422, "validation_error")
    assert body["errors"][0]["field"] == "amount"


@pytest.mark.parametrize("param", ["page", "limit"])
@pytest.mark.parametrize("path", ["/customers", "/orders", "/licenses"])
def test_nul_in_pagination_is_invalid_pagination(api, path, param):
    assert_error(api.get(path, {param: "\x00"}), 400, "invalid_pagination")
    assert_error(api.get(path, {param: "1\x00"}), 400, "invalid_pagination")
    # elsewhere a NUL is still refused by name
    body = assert_error(api.get(path, {"status": "\x00"}), 422, "validation_error")
    assert body["errors"][0]["field"] == "status"


@pytest.mark.parametrize("amount", ["١٠", "１０", "१०.५०", "10.٥٠"])
def test_amounts_take_ascii_digits_only(api, store, amount):
    customer = make_customer(store, balance="7.00")
    before = LedgerEntry.objects.count()
    body = assert_error(
        api.post(f"/customers/{customer.pk}/wallet/recharge", {"amount": amount}), 422, "validation_error"
    )
    assert body["errors"][0]["field"] == "amount"
    assert LedgerEntry.objects.count() == before


@pytest.mark.parametrize(
    "path",
    [
        "/customers/{}",
        "/customers/{}/wallet",
        "/orders/{}",
        "/products/{}",
        "/products/{}/price",
        "/webhooks/{}",
    ],
)
@pytest.mark.parametrize(
    "bad", ["not-a-uuid", "12345678123412341234123456789012", "1234567812341234123412345678901----"]
)
def test_a_path_id_that_is_not_a_uuid_is_an_unknown_id(api, api_for, store, path, bad):
    unknown = api.get(path.format("00000000-0000-4000-8000-000000000000"))
    malformed = api.get(path.format(bad))
    assert unknown.status_code == malformed.status_code == 404
    assert malformed.json() == unknown.json()  # the resource's own message, nothing revealed
    assert malformed["X-RateLimit-Limit"]  # counted like any request
    nobody = api_for(store, scopes=["webhooks:manage"] if not path.startswith("/webhooks") else ["products:read"])
    assert_error(nobody.get(path.format(bad)), 403, "forbidden")  # scope before lookups, as for a UUID


def test_a_write_to_a_malformed_id_is_a_404_that_changes_nothing(api, store):
    before = LedgerEntry.objects.count()
    assert_error(api.post("/customers/nope/wallet/recharge", {"amount": "5.00"}), 404, "not_found")
    assert_error(api.post("/orders/nope/refund", {}), 404, "not_found")
    assert LedgerEntry.objects.count() == before


@pytest.mark.live
@pytest.mark.concurrency
def test_concurrent_creates_with_the_same_name_all_succeed(live_server_proc, store, make_token):
    """The slug derived from the name is free when looked up, but a concurrent request may take it
    before the INSERT: the loser takes the next suffix instead of answering 409."""
    from catalog.models import Category, Product

    server = live_server_proc()
    headers = {"Authorization": f"Bearer {make_token(store, rate_limit_per_minute=100000)}"}
    barrier = threading.Barrier(12)
    results: list = []

    def fire(i):
        barrier.wait()
        product = {"name": "Race", "variations": [{"sku": f"R-{i}", "price": "1.00"}]}
        results.append(requests.post(f"{server.api}/products", json=product, headers=headers, timeout=30).status_code)
        results.append(
            requests.post(f"{server.api}/categories", json={"name": "Race"}, headers=headers, timeout=30).status_code
        )

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(201) == 24, results
    for model in (Product, Category):
        slugs = sorted(model.objects.filter(store=store).values_list("slug", flat=True))
        assert slugs == sorted(["race"] + [f"race-{n}" for n in range(2, 13)])
    # a slug the client chose still conflicts
    taken = requests.post(f"{server.api}/categories", json={"name": "X", "slug": "race"}, headers=headers, timeout=30)
    assert taken.status_code == 409


@pytest.mark.parametrize(
    "path,param,value",
    [
        ("/orders", "dateFrom", "2026-01-01T00:00:00-16:00"),
        ("/orders", "dateFrom", "2026-01-01T00:00:00+18:00"),
        ("/orders", "dateTo", "2026-06-01T00:00:00+23:59"),
        ("/licenses", "expiresBefore", "2026-01-01T00:00:00+20:00"),
    ],
)
def test_offsets_python_reads_and_postgresql_does_not_are_the_same_instant(api, path, param, value):
    """PostgreSQL refuses offsets beyond ±15:59 (a 500 through the API); the instant is what counts."""
    from datetime import UTC

    from nuvlyx.core.timeutil import parse_query_datetime

    response = api.get(path, {param: value})
    assert response.status_code == 200, response.content
    utc = parse_query_datetime(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert api.get(path, {param: utc}).json() == response.json()


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59.999999-23:59", "0001-01-01T00:00:00+23:59"])
def test_an_instant_outside_years_1_to_9999_in_utc_is_a_422(api, value):
    body = assert_error(api.get("/orders", {"dateTo": value}), 422, "validation_error")
    assert body["errors"][0]["field"] == "dateTo"


def test_the_admin_filters_by_an_offset_postgresql_would_refuse(client, store):
    """Every aware datetime goes to PostgreSQL in UTC (nuvlyx.core.sql.send_datetimes_in_utc)."""
    from django.contrib.auth import get_user_model

    from nuvlyx.core.models import StoreMember

    owner = get_user_model().objects.create_user("o@example.com", "o@example.com", "pw-123-secret", is_staff=True)
    StoreMember.objects.create(store=store, user=owner)
    client.force_login(owner)
    response = client.get("/admin/orders/order/", {"created_at__gte": "2026-01-01T00:00:00+20:00"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_aware_datetimes_reach_postgresql_as_the_same_instant():
    from datetime import UTC, datetime, timedelta, timezone

    from django.db import connection

    plus_20 = datetime(2026, 1, 1, 20, 0, tzinfo=timezone(timedelta(hours=20)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz = %s::timestamptz", [plus_20, datetime(2026, 1, 1, tzinfo=UTC)])
        assert cursor.fetchone()[0] is True
