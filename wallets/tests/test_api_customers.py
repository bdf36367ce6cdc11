"""Customers endpoints: GET/POST /customers, GET/PATCH /customers/:id, GET /customers/by-phone/:phone."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.tests.factories import make_tier
from conftest import assert_error
from nuvlyx.core.models import Event
from wallets.models import Customer, Wallet
from wallets.tests.factories import PHONE, PHONE_2, make_customer

pytestmark = pytest.mark.django_db

CUSTOMER_KEYS = {"id", "name", "email", "phone", "phoneLinked", "phoneLinkedAt", "tier", "createdAt"}


# --- POST /customers ---------------------------------------------------------------------------
def test_create_customer_with_phone_links_it_creates_wallet_and_emits_event(api, store):
    tier = make_tier(store, "Gold")
    resp = api.post("/customers", {"name": "Ana", "phone": PHONE, "email": "ana@example.com", "tierId": str(tier.pk)})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert set(body) == CUSTOMER_KEYS
    assert body["name"] == "Ana"
    assert body["phone"] == PHONE
    assert body["phoneLinked"] is True
    assert body["phoneLinkedAt"].endswith("Z") and len(body["phoneLinkedAt"]) == 24
    assert body["tier"] == {"id": str(tier.pk), "name": "Gold", "level": 2}
    customer = Customer.objects.get(pk=body["id"])
    assert customer.store_id == store.pk
    wallet = Wallet.objects.get(customer=customer)
    assert str(wallet.balance) == "0.00"
    event = Event.objects.get(type="customer.created", store=store)
    assert event.payload["data"] == body


def test_create_customer_minimal(api):
    resp = api.post("/customers", {"name": "Solo nombre"})
    assert resp.status_code == 201
    body = resp.json()
    assert body["phone"] is None and body["phoneLinked"] is False and body["phoneLinkedAt"] is None
    assert body["tier"] is None and body["email"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 12}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "A", "phone": "3001234567"}, "phone"),
        ({"name": "A", "phone": "+57 300 123 4567"}, "phone"),
        ({"name": "A", "phone": "+5730012345"}, "phone"),
        ({"name": "A", "email": "not-an-email"}, "email"),
        ({"name": "A", "tierId": "nope"}, "tierId"),
        ({"name": "A", "tierId": 5}, "tierId"),
        ({"name": "A", "tierId": str(uuid.uuid4())}, "tierId"),
    ],
)
def test_create_customer_validation(api, payload, field):
    body = assert_error(api.post("/customers", payload), 422, "validation_error")
    assert body["errors"][0]["field"] == field
    assert not Customer.objects.exists()


def test_create_customer_with_other_stores_tier_is_422(api, other_store):
    tier = make_tier(other_store)
    body = assert_error(api.post("/customers", {"name": "A", "tierId": str(tier.pk)}), 422, "validation_error")
    assert body["errors"][0]["field"] == "tierId"


def test_create_customer_duplicate_linked_phone_is_409(api, store, other_store):
    make_customer(store, phone=PHONE)
    make_customer(other_store, phone=PHONE)  # another store: no clash
    assert_error(api.post("/customers", {"name": "B", "phone": PHONE}), 409, "conflict")
    assert Customer.objects.filter(store=store).count() == 1


def test_create_customer_phone_held_unlinked_by_someone_else_is_allowed(api, store):
    make_customer(store, phone=PHONE, linked=False)
    assert api.post("/customers", {"name": "B", "phone": PHONE}).status_code == 201


# --- GET /customers/:id ------------------------------------------------------------------------
def test_get_customer(api, store):
    customer = make_customer(store, phone=PHONE)
    resp = api.get(f"/customers/{customer.pk}")
    assert resp.status_code == 200
    assert resp.json()["id"] == str(customer.pk)
    assert api.get(f"/customers/{str(customer.pk).upper()}").status_code == 200


def test_get_customer_unknown_and_malformed(api):
    body = assert_error(api.get(f"/customers/{uuid.uuid4()}"), 404, "not_found")
    assert body["message"] == "Customer not found"
    assert_error(api.get("/customers/not-a-uuid"), 404)


# --- PATCH /customers/:id ----------------------------------------------------------------------
def test_patch_customer_fields_and_phone_link_unlink(api, store):
    customer = make_customer(store, phone=PHONE)
    tier = make_tier(store)
    resp = api.patch(f"/customers/{customer.pk}", {"name": "Nuevo", "email": "n@example.com", "tierId": str(tier.pk)})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["name"] == "Nuevo" and body["email"] == "n@example.com" and body["tier"]["id"] == str(tier.pk)
    assert body["phoneLinked"] is True
    linked_at = body["phoneLinkedAt"]

    # same phone again keeps the original link time
    assert api.patch(f"/customers/{customer.pk}", {"phone": PHONE}).json()["phoneLinkedAt"] == linked_at
    # a new phone is linked
    body = api.patch(f"/customers/{customer.pk}", {"phone": PHONE_2}).json()
    assert body["phone"] == PHONE_2 and body["phoneLinked"] is True
    # null unlinks
    body = api.patch(f"/customers/{customer.pk}", {"phone": None, "tierId": None}).json()
    assert body["phone"] is None and body["phoneLinked"] is False and body["phoneLinkedAt"] is None
    assert body["tier"] is None
    assert_error(api.get(f"/customers/by-phone/{PHONE_2}"), 404, "phone_not_linked")


def test_patch_customer_phone_clash_is_409(api, store):
    make_customer(store, phone=PHONE)
    other = make_customer(store, name="Otro", phone=PHONE_2)
    assert_error(api.patch(f"/customers/{other.pk}", {"phone": PHONE}), 409, "conflict")
    other.refresh_from_db()
    assert other.phone == PHONE_2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"phone": "abc"}, "phone"),
        ({"tierId": "x"}, "tierId"),
        ({"tierId": str(uuid.uuid4())}, "tierId"),
    ],
)
def test_patch_customer_validation(api, store, payload, field):
    customer = make_customer(store, phone=PHONE)
    body = assert_error(api.patch(f"/customers/{customer.pk}", payload), 422, "validation_error")
    assert body["errors"][0]["field"] == field
    customer.refresh_from_db()
    assert customer.name == "Juan Pérez" and customer.phone == PHONE


# --- GET /customers/by-phone/:phone ------------------------------------------------------------
@pytest.mark.parametrize("path_phone", ["+573001234567", "%2B573001234567", "%2b573001234567"])
def test_by_phone_accepts_raw_plus_and_encoded(api, store, path_phone):
    customer = make_customer(store, phone=PHONE)
    resp = api.get(f"/customers/by-phone/{path_phone}")
    assert resp.status_code == 200, resp.content
    assert resp.json()["id"] == str(customer.pk)


@pytest.mark.parametrize("path_phone", ["573001234567", "+57300123", "+57%20300%201234567", "abc", "00573001234567"])
def test_by_phone_invalid_is_422(api, store, path_phone):
    body = assert_error(api.get(f"/customers/by-phone/{path_phone}"), 422, "validation_error")
    assert body["errors"][0]["field"] == "phone"


def test_by_phone_nobody_linked_is_404_phone_not_linked_with_explicit_message(api, store):
    body = assert_error(api.get(f"/customers/by-phone/{PHONE}"), 404, "phone_not_linked")
    assert PHONE in body["message"] and "link" in body["message"].lower()


def test_by_phone_unlinked_customer_is_404_phone_not_linked(api, store):
    make_customer(store, phone=PHONE, linked=False)
    body = assert_error(api.get(f"/customers/by-phone/%2B{PHONE[1:]}"), 404, "phone_not_linked")
    assert "not linked" in body["message"].lower() or "linked" in body["message"].lower()


def test_by_phone_is_read_only(api, store):
    make_customer(store, phone=PHONE)
    assert_error(api.patch(f"/customers/by-phone/{PHONE}", {"name": "x"}), 405)


# --- GET /customers ----------------------------------------------------------------------------
def test_list_customers_filters_and_pagination(api, store, other_store):
    gold = make_tier(store, "Gold")
    a = make_customer(store, name="Ana Gómez", phone=PHONE, email="ana@example.com", tier=gold)
    b = make_customer(store, name="Bruno", phone=PHONE_2, linked=False)
    make_customer(store, name="Carla", email="carla@shop.co")
    make_customer(other_store, name="Ana Other", phone=PHONE)

    body = api.get("/customers").json()
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 3}
    assert [c["name"] for c in body["data"]] == ["Carla", "Bruno", "Ana Gómez"]  # newest first

    assert [c["id"] for c in api.get("/customers", {"search": "ana"}).json()["data"]] == [str(a.pk)]
    assert [c["name"] for c in api.get("/customers", {"search": "SHOP.CO"}).json()["data"]] == ["Carla"]
    assert [c["name"] for c in api.get("/customers", {"search": "1234568"}).json()["data"]] == ["Bruno"]
    assert [c["id"] for c in api.get("/customers", {"phone": PHONE_2}).json()["data"]] == [str(b.pk)]
    assert [c["id"] for c in api.get("/customers", {"tierId": str(gold.pk)}).json()["data"]] == [str(a.pk)]
    assert api.get("/customers", {"tierId": str(uuid.uuid4())}).json()["data"] == []

    page2 = api.get("/customers", {"page": 2, "limit": 2}).json()
    assert page2["pagination"] == {"page": 2, "limit": 2, "total": 3}
    assert [c["name"] for c in page2["data"]] == ["Ana Gómez"]
    past = api.get("/customers", {"page": 9, "limit": 2}).json()
    assert past == {"data": [], "pagination": {"page": 9, "limit": 2, "total": 3}}


@pytest.mark.parametrize(("params", "field"), [({"phone": "3001234567"}, "phone"), ({"tierId": "abc"}, "tierId")])
def test_list_customers_bad_filters_are_422(api, params, field):
    body = assert_error(api.get("/customers", params), 422, "validation_error")
    assert body["errors"][0]["field"] == field


@pytest.mark.parametrize("params", [{"page": "0"}, {"limit": "101"}, {"limit": "abc"}, {"page": "-1"}, {"limit": "0"}])
def test_list_customers_bad_pagination_is_400(api, params):
    assert_error(api.get("/customers", params), 400, "invalid_pagination")


def _count_queries(api, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_list_customers_query_count_is_constant(api, store, django_assert_num_queries):
    tiers = [make_tier(store, name=f"T{i}", level=i) for i in range(3)]
    make_customer(store, name="first", tier=tiers[0])
    api.get("/customers")  # warm up (token last_used_at is written at most once a minute)
    baseline = _count_queries(api, "/customers?limit=100")
    assert baseline > 0
    for i in range(29):
        make_customer(store, name=f"c{i}", tier=tiers[i % 3], phone=f"+5730012345{i:02d}")
    with django_assert_num_queries(baseline):
        body = api.get("/customers?limit=100").json()
    assert len(body["data"]) == 30
    assert {c["tier"]["name"] for c in body["data"]} == {"T0", "T1", "T2"}
