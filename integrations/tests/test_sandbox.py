"""Test mode (issue 17): nvl_test_ tokens on the store's sandbox, POST /sandbox/reset, livemode, SIMULATED
WhatsApp. The tenancy matrix between a store and its sandbox is nuvlyx/api/tests/test_route_matrix.py;
real worker + HTTP receiver / fake Mosend: test_sandbox_live.py."""

import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from catalog.models import Product
from conftest import assert_error
from integrations import tokens, whatsapp
from integrations.models import ApiToken, MessageLog
from integrations.sandbox import KEPT_MODELS, LEDGER_DELETE, LEDGER_RESET_SETTING, reset_models, sandbox_reset
from integrations.services import api_token_authenticate, api_token_create
from integrations.tests.whatsapp_helpers import connect, linked_customer, order_data, route
from nuvlyx.api.tests.worlds import build_world, world_state
from nuvlyx.core import events
from nuvlyx.core.models import Event, Store
from nuvlyx.core.sandbox import SandboxError, store_sandbox
from orders.models import Order
from wallets.models import Customer, LedgerEntry, Wallet
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


# --- the sandbox and its tokens -------------------------------------------------------------------
def test_sandbox_is_created_once_with_the_live_stores_settings(make_store):
    live = make_store("tienda", name="Tienda Ana", currency="BRL")
    sandbox = store_sandbox(store=live)
    assert store_sandbox(store=live) == sandbox
    assert Store.objects.filter(sandbox_of=live).count() == 1
    assert (sandbox.name, sandbox.currency, sandbox.country, sandbox.timezone) == (
        live.name,
        live.currency,
        live.country,
        live.timezone,
    )
    assert sandbox.slug == "tienda--sandbox" and not sandbox.livemode and live.livemode
    with pytest.raises(SandboxError):
        store_sandbox(store=sandbox)


def test_test_token_is_nvl_test_on_the_sandbox_and_me_says_livemode(client, store):
    assert not Store.objects.filter(sandbox_of=store).exists()  # lazily: the first test token creates it
    token, plaintext = api_token_create(store=store, name="bot", scopes=["orders:read"], livemode=False)
    sandbox = Store.objects.get(sandbox_of=store)
    assert plaintext.startswith("nvl_test_") and tokens.is_well_formed(plaintext)
    assert token.store == sandbox and token.prefix.startswith("nvl_test_")
    assert token.token_hash == tokens.hash_token(plaintext)  # hashed like live tokens
    _, live_plaintext = api_token_create(store=store, name="bot", scopes=["orders:read"])
    assert live_plaintext.startswith("nvl_live_")

    me = client.get("/api/v1/external/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}").json()
    assert me["livemode"] is False and me["store"]["id"] == str(sandbox.pk)
    me = client.get("/api/v1/external/me", HTTP_AUTHORIZATION=f"Bearer {live_plaintext}").json()
    assert me["livemode"] is True and me["store"]["id"] == str(store.pk)


def test_a_token_whose_prefix_and_store_disagree_is_refused(client, store, sandbox):
    """A live-prefixed token row on the sandbox, or a test-prefixed one on the live store (which the
    service never creates), is not authenticated: the prefix alone must tell the world."""
    for raw, owner in ((tokens.generate(livemode=True), sandbox), (tokens.generate(livemode=False), store)):
        ApiToken.objects.create(
            store=owner,
            name="forged",
            scopes=["orders:read"],
            prefix=tokens.display_prefix(raw),
            token_hash=tokens.hash_token(raw),
        )
        assert api_token_authenticate(raw) is None
        assert_error(client.get("/api/v1/external/me", HTTP_AUTHORIZATION=f"Bearer {raw}"), 401, "unauthorized")
    # a typo in the prefix breaks nothing but the checksum rules: still refused without a lookup
    good = tokens.generate(livemode=False)
    assert not tokens.is_well_formed("nvl_tset_" + good[len("nvl_test_") :])


def test_a_sandbox_cannot_get_a_live_token(sandbox):
    from integrations.services import TokenError

    with pytest.raises(TokenError):
        api_token_create(store=sandbox, name="x", scopes=["orders:read"], livemode=True)


# --- POST /sandbox/reset --------------------------------------------------------------------------
def test_reset_with_a_live_token_is_403_with_a_clear_message(api):
    body = assert_error(api.post("/sandbox/reset", {"copyCatalog": True}), 403, "forbidden")
    assert "nvl_test_" in body["message"] and "live" in body["message"]


def test_reset_needs_products_write_and_a_boolean(api_for, sandbox):
    assert_error(api_for(sandbox, scopes=["products:read"]).post("/sandbox/reset", {}), 403, "forbidden")
    body = assert_error(api_for(sandbox).post("/sandbox/reset", {"copyCatalog": "yes"}), 422, "validation_error")
    assert body["errors"][0]["field"] == "copyCatalog"


def test_reset_wipes_the_sandbox_keeps_its_settings_and_never_touches_live(api_for, store, sandbox):
    live_world = build_world(store, phone="+573001112233")
    build_world(sandbox, phone="+573001112233")  # the same phone may be linked in both worlds
    connect(sandbox)
    route(sandbox)
    test_api = api_for(sandbox)
    live_before = world_state(store)
    assert LedgerEntry.objects.filter(store=sandbox).exists() and Order.objects.filter(store=sandbox).exists()

    response = test_api.post("/sandbox/reset", {})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "storeId": str(sandbox.pk),
        "livemode": False,
        "catalogCopied": False,
        "products": 0,
        "variations": 0,
        "categories": 0,
        "priceTiers": 0,
    }
    for model in reset_models():
        assert not model._default_manager.filter(store_id=sandbox.pk).exists(), model
    # configuration stays: the token that called, its webhook endpoint, the WhatsApp settings
    assert ApiToken.objects.filter(store=sandbox).exists()
    assert WebhookEndpoint.objects.filter(store=sandbox).count() == 1
    assert test_api.get("/me").status_code == 200
    assert world_state(store) == live_before  # live: every row as it was (the ledger included)
    assert Customer.objects.filter(pk=live_world["customers/pk"]).exists()
    # and the sandbox works again from scratch: order numbers start over
    assert test_api.post("/customers", {"name": "Ana", "phone": "+573001112233"}).status_code == 201
    from catalog.tests.factories import make_variation, stock

    variation = make_variation(sandbox, price="0.00")
    stock(variation, 1)
    order = test_api.post("/orders", {"customerPhone": "+573001112233", "items": [{"variationId": str(variation.pk)}]})
    assert order.status_code == 201, order.content
    assert order.json()["orderNumber"] == "ORD-000001"


def test_reset_is_refused_for_a_live_store_by_the_service(store):
    from integrations.sandbox import SandboxResetRefused

    with pytest.raises(SandboxResetRefused):
        sandbox_reset(sandbox=store)


def _without_ids_and_stock(value):
    if isinstance(value, dict):
        return {k: _without_ids_and_stock(v) for k, v in value.items() if k not in ("id", "stockQuantity")}
    if isinstance(value, list):
        return [_without_ids_and_stock(v) for v in value]
    return value


def test_reset_with_copy_catalog_gives_the_live_products_apart_from_ids_and_stock(api, api_for, sandbox):
    # given: a live catalog with a category, a tier, tier prices, stock, an inactive product
    category = api.post("/categories", {"name": "Streaming"}).json()
    tier = api.post("/price-tiers", {"name": "Reseller", "level": 1}).json()
    for n, status in ((1, "ACTIVE"), (2, "INACTIVE")):
        product = {
            "name": f"Netflix {n}",
            "status": status,
            "description": "4K",
            "postSaleInstructions": "No cambies la clave",
            "categoryIds": [category["id"]],
            "variations": [
                {"sku": f"NFX-{n}M", "name": "1 mes", "price": "15000.00", "durationDays": 30},
                {
                    "sku": f"NFX-{n}Y",
                    "price": "150000.00",
                    "tierPrices": [{"tierId": tier["id"], "price": "120000.00"}],
                },
            ],
        }
        created = api.post("/products", product)
        assert created.status_code == 201, created.content
    variation_id = created.json()["variations"][0]["id"]
    stocked = api.post("/inventory/licenses", {"variationId": variation_id, "licenses": [{"credentials": "a:b"}]})
    assert stocked.status_code == 201
    test_api = api_for(sandbox)
    test_api.post("/categories", {"name": "Old test category"})

    # when
    response = test_api.post("/sandbox/reset", {"copyCatalog": True})

    # then
    assert response.status_code == 200, response.content
    assert response.json()["catalogCopied"] is True
    assert (response.json()["products"], response.json()["variations"], response.json()["categories"]) == (2, 4, 1)
    live_list, test_list = api.get("/products").json(), test_api.get("/products").json()
    assert _without_ids_and_stock(test_list) == _without_ids_and_stock(live_list)
    assert {p["id"] for p in test_list}.isdisjoint({p["id"] for p in live_list})
    for live_product, test_product in zip(live_list, test_list, strict=True):
        live_detail = api.get(f"/products/{live_product['id']}").json()
        test_detail = test_api.get(f"/products/{test_product['id']}").json()
        assert _without_ids_and_stock(
            {k: v for k, v in test_detail.items() if k != "updatedAt"}
        ) == _without_ids_and_stock({k: v for k, v in live_detail.items() if k != "updatedAt"})
    assert [v["stockQuantity"] for p in test_list for v in p["variations"]] == [0, 0, 0, 0]  # no stock copied
    assert not Customer.objects.filter(store=sandbox).exists()
    # the usual license upload gives the sandbox fake stock
    test_variation = test_list[0]["variations"][0]["id"] if test_list[0]["status"] == "INACTIVE" else None
    test_variation = test_variation or test_list[1]["variations"][0]["id"]
    upload = test_api.post("/inventory/licenses", {"variationId": test_variation, "licenses": [{"credentials": "x"}]})
    assert upload.status_code == 201 and upload.json()["availableStock"] == 1
    # an id of the live catalog is still nothing to the test token
    assert_error(test_api.get(f"/products/{live_list[0]['id']}"), 404, "not_found")


def test_reset_honours_idempotency_key(api_for, sandbox):
    test_api = api_for(sandbox)
    first = test_api.post("/sandbox/reset", {"copyCatalog": False}, headers={"Idempotency-Key": "reset-1"})
    test_api.post("/customers", {"name": "Ana"})
    again = test_api.post("/sandbox/reset", {"copyCatalog": False}, headers={"Idempotency-Key": "reset-1"})
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Customer.objects.filter(store=sandbox).count() == 1  # the replay did not run the reset again


def test_every_store_owned_model_is_either_reset_or_kept():
    """A new model with a store must be sorted into integrations/sandbox.py (wiped by a reset, or kept)."""
    handled = {m._meta.label for m in reset_models()} | set(KEPT_MODELS)
    store_owned = {m._meta.label for m in apps.get_models() if any(f.name == "store" for f in m._meta.concrete_fields)}
    assert store_owned - handled == set(), "add these to OWN_RESET_MODELS (or PEER_RESET_MODELS) or KEPT_MODELS"


def test_the_ledger_trigger_never_lets_a_live_stores_entries_go(store, sandbox):
    from wallets.tests.factories import make_customer

    live_customer = make_customer(store, balance="100.00")
    make_customer(sandbox, balance="100.00")
    for target in (store, sandbox):  # without the reset's setting: refused in both worlds
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(LEDGER_DELETE, [target.pk])
    with pytest.raises(DatabaseError), transaction.atomic():  # the setting naming a LIVE store: refused
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [LEDGER_RESET_SETTING, str(store.pk)])
            cursor.execute(LEDGER_DELETE, [store.pk])
    assert LedgerEntry.objects.filter(wallet_id=live_customer.pk).count() == 1
    assert Wallet.objects.get(customer=live_customer).balance == Decimal("100.00")


# --- money moved with a test token: nothing live changes ------------------------------------------
def test_order_replacement_refund_and_recharge_with_a_test_token_change_nothing_live(api_for, store, sandbox):
    from catalog.tests.factories import make_variation, stock
    from wallets.tests.factories import make_customer

    build_world(store, phone="+573001112233")
    live_before = world_state(store)
    live_balances = dict(Wallet.objects.filter(store=store).values_list("pk", "balance"))
    variation = make_variation(sandbox, price="1000.00")
    stock(variation, 2)
    customer = make_customer(sandbox, balance="0.00", phone="+573001112233")
    test_api = api_for(sandbox)

    recharge = test_api.post(f"/customers/{customer.pk}/wallet/recharge", {"amount": "5000.00"})
    order = test_api.post("/orders", {"customerPhone": "+573001112233", "items": [{"variationId": str(variation.pk)}]})
    order_id = order.json()["orderId"]
    item_id = test_api.get(f"/orders/{order_id}").json()["items"][0]["id"]
    replace = test_api.post(f"/orders/{order_id}/items/{item_id}/replace", {"reason": "stopped working"})
    refund = test_api.post(f"/orders/{order_id}/refund", {})

    statuses = (recharge.status_code, order.status_code, replace.status_code, refund.status_code)
    assert statuses == (201, 201, 200, 200), (replace.content, refund.content)
    assert refund.json()["newBalance"] == "5000.00"
    assert world_state(store) == live_before
    assert dict(Wallet.objects.filter(store=store).values_list("pk", "balance")) == live_balances
    sandbox_events = list(Event.objects.filter(store=sandbox).values_list("type", flat=True))
    assert {"wallet.recharged", "order.created", "order.completed", "order.item_replaced", "order.refunded"} <= set(
        sandbox_events
    )
    assert all(e.payload["livemode"] is False for e in Event.objects.filter(store=sandbox))
    assert not Event.objects.filter(
        store=store, created_at__gte=Event.objects.filter(store=sandbox).earliest("created_at").created_at
    ).exists()


def test_live_events_say_livemode_true(store, sandbox):
    with transaction.atomic():
        live = events.emit(store=store, type="webhook.test", data={})
        test = events.emit(store=sandbox, type="webhook.test", data={})
    assert Event.objects.get(pk=live.pk).payload["livemode"] is True
    assert Event.objects.get(pk=test.pk).payload["livemode"] is False


# --- WhatsApp in the sandbox: SIMULATED, with what would have been sent -----------------------------
def test_sandbox_whatsapp_is_simulated_with_the_exact_template_and_parameters(sandbox):
    customer = linked_customer(sandbox)
    route(sandbox, parameters=["customer_name", "order_number", "credentials", "store_name"])
    with transaction.atomic():
        event = events.emit(store=sandbox, type="order.completed", data=order_data(customer))
    event = Event.objects.select_related("store").get(pk=event.pk)

    message = whatsapp.handle_event(event)

    assert message.status == MessageLog.Status.SIMULATED  # no Mosend connection needed in the sandbox
    assert (message.template_name, message.language, message.phone) == ("pedido_entregado", "es_CO", customer.phone)
    expected = whatsapp.extract_parameters(
        keys=["customer_name", "order_number", "credentials", "store_name"],
        event_type="order.completed",
        data=event.payload["data"],
        store_name=sandbox.name,
    )
    assert whatsapp.simulated_parameters(message) == expected and expected[0] == customer.name
    assert expected[2] not in message.simulated_parameters_encrypted  # encrypted at rest
    assert json.dumps(expected) not in str(MessageLog.objects.filter(pk=message.pk).values().first())
    assert whatsapp.handle_event(event) == message  # idempotent


def test_sandbox_whatsapp_without_a_linked_phone_is_skipped_not_simulated(sandbox):
    customer = linked_customer(sandbox, linked=False)
    route(sandbox)
    with transaction.atomic():
        event = events.emit(store=sandbox, type="order.completed", data=order_data(customer))
    message = whatsapp.handle_event(Event.objects.select_related("store").get(pk=event.pk))
    assert message.status == MessageLog.Status.SKIPPED and message.simulated_parameters_encrypted == ""


def test_product_slug_and_sku_may_repeat_between_the_worlds(api, api_for, sandbox):
    body = {"name": "Netflix", "variations": [{"sku": "NFX-1M", "price": "15000.00"}]}
    assert api.post("/products", body).status_code == 201
    assert api_for(sandbox).post("/products", body).status_code == 201
    assert Product.objects.filter(slug="netflix").count() == 2


def test_admin_message_log_shows_what_a_simulated_message_would_have_sent(sandbox, store):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from nuvlyx.core.models import AdminPreference, StoreMember

    customer = linked_customer(sandbox)
    route(sandbox, parameters=["customer_name", "order_number"])
    with transaction.atomic():
        event = events.emit(store=sandbox, type="order.completed", data=order_data(customer, number=42))
    message = whatsapp.handle_event(Event.objects.select_related("store").get(pk=event.pk))
    user = get_user_model().objects.create_user("o@example.com", "o@example.com", "pw-12345678", is_staff=True)
    StoreMember.objects.create(store=store, user=user)
    AdminPreference.objects.create(user=user, test_mode=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    page = client.get(f"/admin/integrations/messagelog/{message.pk}/change/").content.decode()
    assert "{{1}}: Ana Gómez" in page and "{{2}}: ORD-000042" in page
    listing = client.get("/admin/integrations/messagelog/").content.decode()
    assert "Ana Gómez" not in listing  # values only on the message's own page


def test_sandbox_whatsapp_dates_are_in_the_stores_time_zone_as_live_ones(sandbox):
    """A simulated message holds exactly what would have been sent, and live sends write dates in the
    store's time zone: 2026-06-18T14:30Z is already the 19th in Kiritimati (UTC+14)."""
    from nuvlyx.core.models import Store

    Store.objects.filter(pk=sandbox.pk).update(timezone="Pacific/Kiritimati")
    customer = linked_customer(sandbox)
    route(sandbox, parameters=["expiry_date"])
    with transaction.atomic():
        event = events.emit(store=sandbox, type="order.completed", data=order_data(customer))
    event = Event.objects.select_related("store").get(pk=event.pk)
    message = whatsapp.handle_event(event)
    assert message.status == MessageLog.Status.SIMULATED
    assert whatsapp.simulated_parameters(message) == ["2026-06-19"]
