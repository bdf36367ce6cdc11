"""Wallet endpoints: GET wallet (by id / by phone), recharge (by id / by phone), transactions."""

import json
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import assert_error
from nuvlyx.core.models import Event
from wallets.models import LedgerEntry, Wallet
from wallets.services import wallet_debit, wallet_recharge
from wallets.tests.factories import PHONE, make_customer

pytestmark = pytest.mark.django_db


def balance_of(customer) -> Decimal:
    return Wallet.objects.get(customer=customer).balance


# --- GET wallet --------------------------------------------------------------------------------
def test_wallet_by_id_and_by_phone(api, store):
    customer = make_customer(store, phone=PHONE, balance="150.50")
    for path in (
        f"/customers/{customer.pk}/wallet",
        f"/customers/by-phone/{PHONE}/wallet",
        f"/customers/by-phone/%2B{PHONE[1:]}/wallet",
    ):
        resp = api.get(path)
        assert resp.status_code == 200, (path, resp.content)
        body = resp.json()
        assert set(body) == {"customerId", "balance", "currency", "updatedAt"}
        assert body["customerId"] == str(customer.pk)
        assert body["balance"] == "150.50"
        assert body["currency"] == store.currency
        assert body["updatedAt"].endswith("Z")


def test_wallet_by_phone_404s_say_why(api, store):
    make_customer(store, phone="+573001234568", linked=False)
    body = assert_error(api.get("/customers/by-phone/+573001234568/wallet"), 404, "phone_not_linked")
    assert "+573001234568" in body["message"]
    body = assert_error(api.get(f"/customers/{uuid.uuid4()}/wallet"), 404, "not_found")
    assert body["message"] == "Customer not found"
    assert_error(api.get("/customers/by-phone/12345/wallet"), 422, "validation_error")


# --- recharge ----------------------------------------------------------------------------------
RECHARGE_KEYS = {"transactionId", "customerId", "amount", "newBalance", "currency", "createdAt"}


def test_recharge_by_id(api, store):
    customer = make_customer(store, phone=PHONE, balance="10.00")
    resp = api.post(
        f"/customers/{customer.pk}/wallet/recharge",
        {"amount": "25000.00", "reference": "nequi-123", "note": "Recarga Nequi"},
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert set(body) == RECHARGE_KEYS
    assert body["customerId"] == str(customer.pk)
    assert body["amount"] == "25000.00" and body["newBalance"] == "25010.00"
    assert body["currency"] == store.currency
    entry = LedgerEntry.objects.get(pk=body["transactionId"])
    assert entry.kind == "RECHARGE" and entry.reference == "nequi-123" and entry.note == "Recarga Nequi"
    assert entry.actor_token_id is not None
    assert balance_of(customer) == Decimal("25010.00")
    event = Event.objects.filter(type="wallet.recharged", store=store).latest("created_at")
    assert event.payload["data"]["transactionId"] == body["transactionId"]
    assert event.payload["data"]["newBalance"] == "25010.00"


@pytest.mark.parametrize("path_phone", ["+573001234567", "%2B573001234567"])
def test_recharge_by_phone(api, store, path_phone):
    customer = make_customer(store, phone=PHONE)
    resp = api.post(f"/customers/by-phone/{path_phone}/wallet/recharge", {"amount": 100})
    assert resp.status_code == 201, resp.content
    assert resp.json()["newBalance"] == "100.00"
    assert balance_of(customer) == Decimal("100.00")


def test_recharge_by_unlinked_phone_is_404_phone_not_linked(api, store):
    customer = make_customer(store, phone=PHONE, linked=False)
    assert_error(api.post(f"/customers/by-phone/{PHONE}/wallet/recharge", {"amount": "5.00"}), 404, "phone_not_linked")
    assert balance_of(customer) == 0


def test_json_number_with_two_decimals_is_accepted_exactly(api, store):
    customer = make_customer(store)
    resp = api.post(f"/customers/{customer.pk}/wallet/recharge", raw=b'{"amount": 10000.5}')
    assert resp.status_code == 201, resp.content
    assert resp.json()["amount"] == "10000.50"
    assert balance_of(customer) == Decimal("10000.50")


BAD_AMOUNTS = [
    ('{"amount": 0}', "0"),
    ('{"amount": "0.00"}', '"0.00"'),
    ('{"amount": -1}', "-1"),
    ('{"amount": "-5.00"}', '"-5.00"'),
    ('{"amount": "1.001"}', '"1.001"'),
    ('{"amount": 1.001}', "1.001 number"),
    ('{"amount": "1e3"}', '"1e3"'),
    ('{"amount": 1e3}', "1e3 number"),
    ('{"amount": "NaN"}', '"NaN"'),
    ('{"amount": "Infinity"}', '"Infinity"'),
    ('{"amount": "١٠"}', "Arabic-Indic digits"),
    ('{"amount": "１０.００"}', "full-width digits"),
    ('{"amount": "abc"}', '"abc"'),
    ('{"amount": true}', "true"),
    ('{"amount": null}', "null"),
    ("{}", "missing"),
    ('{"amount": "10000000000.00"}', "too large"),
    ('{"amount": 10000000000}', "too large number"),
    ('{"amount": "  5"}', "leading spaces"),
    ('{"amount": ""}', "empty string"),
    ('{"amount": ["5"]}', "list"),
    ('{"amount": {"v": 5}}', "object"),
]


@pytest.mark.parametrize(("raw", "label"), BAD_AMOUNTS, ids=[label for _, label in BAD_AMOUNTS])
def test_bad_amounts_are_422_and_change_nothing(api, store, raw, label):
    customer = make_customer(store, phone=PHONE, balance="7.00")
    entries_before = LedgerEntry.objects.count()
    events_before = Event.objects.count()
    for path in (f"/customers/{customer.pk}/wallet/recharge", f"/customers/by-phone/{PHONE}/wallet/recharge"):
        body = assert_error(api.post(path, raw=raw), 422, "validation_error")
        assert body["errors"][0]["field"] == "amount", body
        assert "amount" in body["message"]
    assert balance_of(customer) == Decimal("7.00")
    assert LedgerEntry.objects.count() == entries_before
    assert Event.objects.count() == events_before


@pytest.mark.parametrize("raw", ['{"amount": NaN}', '{"amount": Infinity}', '{"amount": -Infinity}'])
def test_non_finite_literals_are_malformed_json_and_change_nothing(api, store, raw):
    """NaN and Infinity are not JSON (RFC 8259): the body is refused as a whole, before any field."""
    customer = make_customer(store, phone=PHONE, balance="7.00")
    entries_before = LedgerEntry.objects.count()
    assert_error(api.post(f"/customers/{customer.pk}/wallet/recharge", raw=raw), 400, "bad_request")
    assert balance_of(customer) == Decimal("7.00")
    assert LedgerEntry.objects.count() == entries_before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": "1.00", "reference": "r" * 121}, "reference"),
        ({"amount": "1.00", "note": "n" * 501}, "note"),
        ({"amount": "1.00", "reference": 123}, "reference"),
    ],
)
def test_recharge_reference_and_note_limits(api, store, payload, field):
    customer = make_customer(store)
    body = assert_error(api.post(f"/customers/{customer.pk}/wallet/recharge", payload), 422, "validation_error")
    assert body["errors"][0]["field"] == field
    assert balance_of(customer) == 0


def test_recharge_malformed_json_is_400(api, store):
    customer = make_customer(store)
    assert_error(api.post(f"/customers/{customer.pk}/wallet/recharge", raw=b'{"amount": '), 400)
    assert balance_of(customer) == 0


def test_recharge_past_the_maximum_balance_is_refused(api, store):
    customer = make_customer(store)
    for _ in range(100):  # 100 × 9,999,999,999.99 = 999,999,999,999.00: DecimalField(14, 2) is nearly full
        wallet_recharge(customer=customer, amount=Decimal("9999999999.99"))
    before = balance_of(customer)
    body = assert_error(
        api.post(f"/customers/{customer.pk}/wallet/recharge", {"amount": "1.00"}), 422, "validation_error"
    )
    assert body["errors"][0]["field"] == "amount"
    assert balance_of(customer) == before == Decimal("999999999999.00")


def test_recharge_with_idempotency_key_credits_once_and_replays(api, store):
    customer = make_customer(store)
    path = f"/customers/{customer.pk}/wallet/recharge"
    headers = {"Idempotency-Key": "recharge-abc-1"}
    first = api.post(path, {"amount": "50.00", "reference": "pay-1"}, headers=headers)
    assert first.status_code == 201
    second = api.post(path, {"amount": "50.00", "reference": "pay-1"}, headers=headers)
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.content == first.content
    assert balance_of(customer) == Decimal("50.00")
    assert LedgerEntry.objects.filter(wallet_id=customer.pk).count() == 1
    assert Event.objects.filter(type="wallet.recharged").count() == 1
    # same key, different body → 422 idempotency_key_reused, still one credit
    assert_error(api.post(path, {"amount": "60.00"}, headers=headers), 422, "idempotency_key_reused")
    # a new key is a new recharge
    assert api.post(path, {"amount": "50.00"}, headers={"Idempotency-Key": "recharge-abc-2"}).status_code == 201
    assert balance_of(customer) == Decimal("100.00")


def test_recharge_with_key_and_bad_amount_is_not_stored(api, store):
    customer = make_customer(store)
    path = f"/customers/{customer.pk}/wallet/recharge"
    headers = {"Idempotency-Key": "k-bad"}
    assert_error(api.post(path, {"amount": "0"}, headers=headers), 422, "validation_error")
    assert_error(api.post(path, {"amount": "0"}, headers=headers), 422, "validation_error")
    assert balance_of(customer) == 0


# --- transactions ------------------------------------------------------------------------------
def test_transactions_newest_first_with_signed_amounts(api, store):
    customer = make_customer(store, balance="100.00")
    order_id = uuid.uuid4()
    wallet_debit(customer=customer, amount=Decimal("85.00"), order_id=order_id)
    api.post(f"/customers/{customer.pk}/wallet/recharge", {"amount": "5.00", "reference": "ref-9", "note": "n"})
    body = api.get(f"/customers/{customer.pk}/wallet/transactions").json()
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 3}
    rows = body["data"]
    assert set(rows[0]) == {"id", "type", "amount", "balanceAfter", "reference", "note", "orderId", "createdAt"}
    assert [(r["type"], r["amount"], r["balanceAfter"]) for r in rows] == [
        ("RECHARGE", "5.00", "20.00"),
        ("PURCHASE", "-85.00", "15.00"),
        ("RECHARGE", "100.00", "100.00"),
    ]
    assert rows[0]["reference"] == "ref-9" and rows[0]["note"] == "n" and rows[0]["orderId"] is None
    assert rows[1]["orderId"] == str(order_id)
    page = api.get(f"/customers/{customer.pk}/wallet/transactions", {"page": 2, "limit": 2}).json()
    assert [r["type"] for r in page["data"]] == ["RECHARGE"]
    past = api.get(f"/customers/{customer.pk}/wallet/transactions", {"page": 5}).json()
    assert past == {"data": [], "pagination": {"page": 5, "limit": 20, "total": 3}}


@pytest.mark.parametrize("params", [{"page": "0"}, {"limit": "101"}, {"limit": "abc"}])
def test_transactions_bad_pagination(api, store, params):
    customer = make_customer(store)
    assert_error(api.get(f"/customers/{customer.pk}/wallet/transactions", params), 400, "invalid_pagination")


def test_transactions_query_count_is_constant(api, store, django_assert_num_queries):
    customer = make_customer(store, balance="1.00")
    path = f"/customers/{customer.pk}/wallet/transactions?limit=100"
    api.get(path)  # warm-up
    with CaptureQueriesContext(connection) as ctx:
        assert len(api.get(path).json()["data"]) == 1
    baseline = len(ctx.captured_queries)  # read now: each request resets connection.queries
    assert baseline > 0
    for _ in range(29):
        api.post(f"/customers/{customer.pk}/wallet/recharge", {"amount": "1.00"})
    with django_assert_num_queries(baseline):
        body = api.get(path).json()
    assert len(body["data"]) == 30 and body["data"][0]["balanceAfter"] == "30.00"


# --- scopes ------------------------------------------------------------------------------------
def test_scopes_are_enforced_before_lookups(api_for, store):
    customer = make_customer(store, phone=PHONE)
    customers_only = api_for(store, scopes=["customers:read", "customers:write"])
    wallet_only = api_for(store, scopes=["wallet:read", "wallet:write"])
    body = assert_error(customers_only.get(f"/customers/{customer.pk}/wallet"), 403, "forbidden")
    assert "wallet:read" in body["message"]
    assert_error(customers_only.get(f"/customers/{uuid.uuid4()}/wallet"), 403, "forbidden")
    body = assert_error(customers_only.post(f"/customers/{customer.pk}/wallet/recharge", {"amount": "1"}), 403)
    assert "wallet:write" in body["message"]
    assert_error(customers_only.get(f"/customers/{customer.pk}/wallet/transactions"), 403, "forbidden")
    assert_error(wallet_only.get(f"/customers/{customer.pk}"), 403, "forbidden")
    assert_error(wallet_only.get("/customers"), 403, "forbidden")
    assert_error(wallet_only.post("/customers", {"name": "x"}), 403, "forbidden")
    read_only = api_for(store, scopes=["customers:read", "wallet:read"])
    assert_error(read_only.patch(f"/customers/{customer.pk}", {"name": "x"}), 403, "forbidden")
    assert_error(read_only.post(f"/customers/by-phone/{PHONE}/wallet/recharge", {"amount": "1"}), 403, "forbidden")
    assert balance_of(customer) == 0
    assert json.loads(read_only.get(f"/customers/by-phone/{PHONE}/wallet").content)["balance"] == "0.00"


def test_no_token_is_401(client, store):
    customer = make_customer(store)
    resp = client.get(f"/api/v1/external/customers/{customer.pk}/wallet")
    assert resp.status_code == 401 and resp.json()["code"] == "unauthorized"


# --- tenancy -----------------------------------------------------------------------------------
def test_other_stores_customer_is_404_on_every_route(api, store, other_store):
    foreign = make_customer(other_store, phone=PHONE, balance="10.00")
    cid = foreign.pk
    routes = [
        ("get", f"/customers/{cid}", None),
        ("patch", f"/customers/{cid}", {"name": "hijack"}),
        ("get", f"/customers/{cid}/wallet", None),
        ("post", f"/customers/{cid}/wallet/recharge", {"amount": "1.00"}),
        ("get", f"/customers/{cid}/wallet/transactions", None),
        ("get", f"/customers/by-phone/{PHONE}", None),
        ("get", f"/customers/by-phone/{PHONE}/wallet", None),
        ("post", f"/customers/by-phone/{PHONE}/wallet/recharge", {"amount": "1.00"}),
        ("post", f"/customers/by-phone/%2B{PHONE[1:]}/wallet/recharge", {"amount": "1.00"}),
    ]
    for method, path, payload in routes:
        resp = getattr(api, method)(path, payload) if payload is not None else getattr(api, method)(path)
        assert resp.status_code == 404, (method, path, resp.content)
        assert resp.json()["code"] in ("not_found", "phone_not_linked")
    assert api.get("/customers").json()["pagination"]["total"] == 0
    assert api.get("/customers", {"phone": PHONE}).json()["data"] == []
    foreign.refresh_from_db()
    assert foreign.name == "Juan Pérez"
    assert balance_of(foreign) == Decimal("10.00")
    assert LedgerEntry.objects.filter(wallet_id=cid).count() == 1
