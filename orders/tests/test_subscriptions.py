"""Issue 16: renewals (renewsItemId), GET /licenses, warranty replacements, expiry reminders (in-process).

Real PostgreSQL; "now" is driven by moving expiresAt / deliveredAt, never by faking clocks.
"""

import uuid
import zoneinfo
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from catalog.models import License, Variation
from catalog.tests.factories import make_variation, stock
from conftest import assert_error
from nuvlyx.core.crypto import decrypt
from nuvlyx.core.models import Event
from nuvlyx.core.timeutil import format_datetime, now
from orders.models import LicenseReminder, OrderItem, OrderItemReplacement, SubscriptionSettings
from orders.reminders import reminder_counts, reminders_run
from orders.services import order_place
from wallets.models import LedgerEntry
from wallets.services import wallet_recharge
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def buy(store, customer, variation, renews=None):
    placed = order_place(store=store, customer_id=customer.pk, items=[variation.pk], renews=[renews])
    return placed.order.items.select_related("license").get()


def place_api(api, customer, variation, renews=None):
    item = {"variationId": str(variation.pk)}
    if renews is not None:
        item["renewsItemId"] = str(renews)
    return api.post("/orders", {"customerId": str(customer.pk), "items": [item]})


def events(store, event_type):
    return [e.payload["data"] for e in Event.objects.filter(store=store, type=event_type).order_by("created_at")]


# --- renewals --------------------------------------------------------------------------------
def test_renewing_5_days_before_expiry_continues_from_the_old_expiry(api, store):
    variation = make_variation(store, price="10000.00", duration_days=30)
    stock(variation, 2)
    customer = make_customer(store, balance="20000.00")
    old = buy(store, customer, variation)
    old_expiry = now() + timedelta(days=5)
    OrderItem.objects.filter(pk=old.pk).update(expires_at=old_expiry)
    License.objects.filter(pk=old.license_id).update(expires_at=old_expiry)

    response = place_api(api, customer, variation, renews=old.pk)

    assert response.status_code == 201, response.content
    new = OrderItem.objects.select_related("license").get(order_id=response.json()["orderId"])
    assert new.renews_item_id == old.pk
    assert new.expires_at == old_expiry + timedelta(days=30)
    assert new.license.expires_at == new.expires_at
    assert new.price_paid == variation.price  # priced as usual
    detail = api.get(f"/orders/{new.order_id}").json()
    assert detail["items"][0]["license"]["expiresAt"] == format_datetime(old_expiry + timedelta(days=30))


def test_renewing_after_expiry_starts_from_delivery(api, store):
    variation = make_variation(store, price="10000.00", duration_days=30)
    stock(variation, 2)
    customer = make_customer(store, balance="20000.00")
    old = buy(store, customer, variation)
    OrderItem.objects.filter(pk=old.pk).update(expires_at=now() - timedelta(days=2))

    response = place_api(api, customer, variation, renews=old.pk)

    assert response.status_code == 201, response.content
    new = OrderItem.objects.get(order_id=response.json()["orderId"])
    assert new.expires_at == new.delivered_at + timedelta(days=30)


def test_renewal_of_someone_elses_item_is_422_and_changes_nothing(api, store, other_store):
    variation = make_variation(store, duration_days=30)
    other_variation = make_variation(store, duration_days=30)
    stock(variation, 5)
    stock(other_variation, 1)
    alice = make_customer(store, balance="50000.00")
    bob = make_customer(store, balance="50000.00")
    alices = buy(store, alice, variation)
    alices_other = buy(store, alice, other_variation)
    foreign_variation = make_variation(other_store, duration_days=30)
    stock(foreign_variation, 1)
    foreign = buy(other_store, make_customer(other_store, balance="10000.00"), foreign_variation)
    entries = LedgerEntry.objects.count()

    for customer, renews in ((bob, alices.pk), (alice, alices_other.pk), (alice, foreign.pk), (alice, uuid.uuid4())):
        body = assert_error(place_api(api, customer, variation, renews=renews), 422, "validation_error")
        assert body["errors"][0]["field"] == "items[0].renewsItemId"
    assert_error(place_api(api, alice, variation, renews="not-a-uuid"), 422, "validation_error")
    assert LedgerEntry.objects.count() == entries
    assert Variation.objects.get(pk=variation.pk).stock_available == 4


def test_a_renewal_past_the_year_9999_is_a_422_not_a_500(api, store):
    """A chain of early renewals of a 100-year variation reached year 9999 (found by an audit: 500)."""
    variation = make_variation(store, price="10.00", duration_days=36500)
    stock(variation, 2)
    customer = make_customer(store, balance="100.00")
    old = buy(store, customer, variation)
    far = now().replace(year=9930)
    OrderItem.objects.filter(pk=old.pk).update(expires_at=far)
    License.objects.filter(pk=old.license_id).update(expires_at=far)
    entries = LedgerEntry.objects.count()

    body = assert_error(place_api(api, customer, variation, renews=old.pk), 422, "validation_error")
    assert body["errors"] == [
        {"field": "items[0].renewsItemId", "message": "The renewed time would end after the year 9999."}
    ]
    assert LedgerEntry.objects.count() == entries
    assert Variation.objects.get(pk=variation.pk).stock_available == 1


def test_an_item_is_renewed_once_then_the_renewal_is_renewed(api, store):
    variation = make_variation(store, duration_days=30)
    stock(variation, 4)
    customer = make_customer(store, balance="50000.00")
    old = buy(store, customer, variation)
    first = place_api(api, customer, variation, renews=old.pk)
    assert first.status_code == 201

    assert_error(place_api(api, customer, variation, renews=old.pk), 409, "conflict")
    renewal = OrderItem.objects.get(order_id=first.json()["orderId"])
    assert place_api(api, customer, variation, renews=renewal.pk).status_code == 201
    twice = {
        "customerId": str(customer.pk),
        "items": [{"variationId": str(variation.pk), "renewsItemId": str(old.pk)}] * 2,
    }
    assert_error(api.post("/orders", twice), 422, "validation_error")


# --- GET /licenses ----------------------------------------------------------------------------
@pytest.fixture
def holdings(store, other_store):
    variation = make_variation(store, duration_days=30)
    untimed = make_variation(store, duration_days=None)
    stock(variation, 5)
    stock(untimed, 2)
    ana = make_customer(store, balance="90000.00", phone="+573001112233", name="Ana")
    leo = make_customer(store, balance="90000.00", name="Leo")
    soon = buy(store, ana, variation)
    OrderItem.objects.filter(pk=soon.pk).update(expires_at=now() + timedelta(days=2))
    gone = buy(store, ana, variation)
    OrderItem.objects.filter(pk=gone.pk).update(expires_at=now() - timedelta(days=1))
    forever = buy(store, ana, untimed)
    leos = buy(store, leo, variation)
    foreign_variation = make_variation(other_store)
    stock(foreign_variation, 1)
    buy(other_store, make_customer(other_store, balance="10000.00"), foreign_variation)
    return {
        "variation": variation,
        "ana": ana,
        "leo": leo,
        "soon": soon,
        "gone": gone,
        "forever": forever,
        "leo_item": leos,
    }


def ids(response):
    assert response.status_code == 200, response.content
    return [row["itemId"] for row in response.json()["data"]]


def test_licenses_lists_what_customers_hold_without_credentials(api, store, holdings):
    response = api.get("/licenses")
    body = response.json()

    assert body["pagination"] == {"page": 1, "limit": 20, "total": 4}  # not the other store's
    assert ids(response) == [str(holdings[k].pk) for k in ("gone", "soon", "leo_item", "forever")]  # soonest first
    assert b"credentials" not in response.content and b"Pw0" not in response.content
    row = body["data"][1]
    soon = holdings["soon"]
    assert row == {
        "id": str(soon.license_id),
        "itemId": str(soon.pk),
        "orderId": str(soon.order_id),
        "orderNumber": soon.order.order_number,
        "customer": {"id": str(holdings["ana"].pk), "name": "Ana", "phone": "+573001112233"},
        "productId": str(soon.product_id),
        "productName": soon.product_name,
        "variationId": str(soon.variation_id),
        "sku": soon.sku,
        "status": "ACTIVE",
        "deliveredAt": format_datetime(soon.delivered_at),
        "expiresAt": format_datetime(OrderItem.objects.get(pk=soon.pk).expires_at),
        "renewsItemId": None,
        "renewedByItemId": None,
    }


def test_licenses_filters(api, holdings):
    h = holdings
    assert ids(api.get("/licenses", {"customerId": str(h["leo"].pk)})) == [str(h["leo_item"].pk)]
    assert len(ids(api.get("/licenses", {"customerPhone": "+573001112233"}))) == 3
    assert ids(api.get("/licenses", {"customerPhone": "+573009990000"})) == []
    assert len(ids(api.get("/licenses", {"variationId": str(h["variation"].pk)}))) == 3
    assert ids(api.get("/licenses", {"status": "EXPIRED"})) == [str(h["gone"].pk)]
    assert len(ids(api.get("/licenses", {"status": "ACTIVE"}))) == 3
    in_3_days = format_datetime(now() + timedelta(days=3))
    assert ids(api.get("/licenses", {"expiresAfter": format_datetime(now()), "expiresBefore": in_3_days})) == [
        str(h["soon"].pk)
    ]
    api.post(f"/orders/{h['gone'].order_id}/refund")
    assert ids(api.get("/licenses", {"status": "REFUNDED"})) == [str(h["gone"].pk)]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"customerId": "nope"}, 422, "validation_error"),
        ({"customerPhone": "3001112233"}, 422, "validation_error"),
        ({"variationId": "1"}, 422, "validation_error"),
        ({"status": "DELIVERED"}, 422, "validation_error"),
        ({"expiresBefore": "tomorrow"}, 422, "validation_error"),
        ({"expiresAfter": "2026-13-01"}, 422, "validation_error"),
        ({"customerId": str(uuid.uuid4()), "customerPhone": "+573001112233"}, 400, "bad_request"),
        ({"limit": "101"}, 400, "invalid_pagination"),
        ({"page": "x"}, 400, "invalid_pagination"),
    ],
)
def test_licenses_bad_filters_get_the_error_body(api, params, status, code):
    assert_error(api.get("/licenses", params), status, code)


def test_licenses_query_count_is_constant(api, store, holdings, django_assert_num_queries):
    api.get("/licenses")  # the token's lastUsedAt is written at most once a minute
    with django_assert_num_queries(2):  # count, page (order and customer joined); the token is cached
        assert len(ids(api.get("/licenses"))) == 4
    variation = holdings["variation"]
    stock(variation, 10, prefix="more")
    buyer = make_customer(store, balance="100000.00")
    for _ in range(10):
        buy(store, buyer, variation)
    with django_assert_num_queries(2):
        assert len(ids(api.get("/licenses", {"limit": 100}))) == 14


def test_licenses_needs_orders_read(api_for, store):
    assert_error(api_for(store, scopes=["products:read"]).get("/licenses"), 403, "forbidden")
    assert api_for(store, scopes=["orders:read"]).get("/licenses").status_code == 200


# --- warranty replacements ----------------------------------------------------------------------
@pytest.fixture
def delivered(store):
    variation = make_variation(store, price="10000.00", duration_days=30)
    credentials = stock(variation, 3)
    customer = make_customer(store, balance="10000.00")
    item = buy(store, customer, variation)
    return {"variation": variation, "credentials": credentials, "customer": customer, "item": item}


def replace_path(item, order_id=None):
    return f"/orders/{order_id or item.order_id}/items/{item.pk}/replace"


def test_replacement_gives_a_new_license_keeps_the_expiry_and_charges_nothing(api, store, delivered):
    item, variation = delivered["item"], delivered["variation"]
    old_license = item.license
    old_credentials = decrypt(old_license.credentials_encrypted)
    entries = LedgerEntry.objects.count()

    response = api.post(replace_path(item), {"reason": "Account was locked"})

    assert response.status_code == 200, response.content
    body = response.json()
    new_credentials = body["license"]["credentials"]
    assert new_credentials in set(delivered["credentials"]) - {old_credentials}
    assert body["license"]["expiresAt"] == format_datetime(item.expires_at)
    assert body["replacements"] == [
        {
            "id": body["replacements"][0]["id"],
            "replacedAt": body["replacements"][0]["replacedAt"],
            "reason": "Account was locked",
            "previousLicenseId": str(old_license.pk),
            "licenseId": body["license"]["id"],
        }
    ]
    old_license.refresh_from_db()
    assert old_license.status == License.Status.REPLACED
    item.refresh_from_db()
    assert item.expires_at == OrderItem.objects.get(pk=item.pk).expires_at and item.license_id != old_license.pk
    assert LedgerEntry.objects.count() == entries  # no wallet touched
    counters = Variation.objects.get(pk=variation.pk)
    assert (
        (counters.stock_available, counters.stock_delivered)
        == (
            License.objects.filter(variation=variation, status="AVAILABLE").count(),
            License.objects.filter(variation=variation, status="DELIVERED").count(),
        )
        == (1, 1)
    )
    # the order detail shows the history, never the old credentials
    detail = api.get(f"/orders/{item.order_id}")
    assert old_credentials.encode() not in detail.content
    assert detail.json()["items"][0]["replacements"] == body["replacements"]
    # the event carries the order as the API shows it, new credentials included
    [data] = events(store, "order.item_replaced")
    assert data["replacedItemId"] == str(item.pk)
    assert data["items"][0]["license"]["credentials"] == new_credentials
    assert data["items"][0]["replacements"] == body["replacements"]


def test_out_of_stock_is_400_and_changes_nothing(api, store):
    variation = make_variation(store, duration_days=30)
    stock(variation, 1)
    item = buy(store, make_customer(store, balance="10000.00"), variation)

    assert_error(api.post(replace_path(item)), 400, "out_of_stock")

    assert License.objects.get(pk=item.license_id).status == License.Status.DELIVERED
    assert OrderItemReplacement.objects.count() == 0
    assert not Event.objects.filter(type="order.item_replaced").exists()


def test_replacements_per_item_are_limited_by_the_store_setting(api, store, delivered):
    SubscriptionSettings.objects.create(store=store, max_replacements_per_item=1)
    item = delivered["item"]
    assert api.post(replace_path(item)).status_code == 200
    assert_error(api.post(replace_path(item)), 409, "conflict")
    assert OrderItemReplacement.objects.filter(item=item).count() == 1


def test_default_limit_is_three(api, store):
    variation = make_variation(store, duration_days=30)
    stock(variation, 6)
    item = buy(store, make_customer(store, balance="10000.00"), variation)
    assert [api.post(replace_path(item)).status_code for _ in range(4)] == [200, 200, 200, 409]


def test_pending_or_refunded_items_cannot_be_replaced(api, store, delivered):
    item = delivered["item"]
    api.post(f"/orders/{item.order_id}/refund")
    assert_error(api.post(replace_path(item)), 409, "conflict")


def test_replace_tenancy_and_scope(api, api_for, store, other_store, delivered):
    item = delivered["item"]
    foreign_variation = make_variation(other_store)
    stock(foreign_variation, 2)
    foreign = buy(other_store, make_customer(other_store, balance="10000.00"), foreign_variation)
    other_order = buy(store, make_customer(store, balance="10000.00"), delivered["variation"])

    assert_error(api.post(replace_path(foreign)), 404, "not_found")  # another store's order and item
    assert_error(api.post(replace_path(item, order_id=other_order.order_id)), 404, "not_found")  # item of another order
    assert_error(api.post(f"/orders/{item.order_id}/items/not-a-uuid/replace"), 404)
    assert_error(api_for(store, scopes=["orders:read"]).post(replace_path(item)), 403, "forbidden")
    assert_error(api_for(store, scopes=["orders:read"]).post(replace_path(foreign)), 403, "forbidden")
    assert OrderItemReplacement.objects.count() == 0


def test_replayed_idempotency_key_replaces_once(api, store, delivered):
    item = delivered["item"]
    key = {"Idempotency-Key": "replace-1"}
    first = api.post(replace_path(item), {"reason": "x"}, headers=key)
    second = api.post(replace_path(item), {"reason": "x"}, headers=key)

    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert second.content == first.content
    assert OrderItemReplacement.objects.filter(item=item).count() == 1
    assert_error(api.post(replace_path(item), {"reason": "y"}, headers=key), 422, "idempotency_key_reused")


# savepoint; item (locked); store settings; replacements so far; take (SKIP LOCKED) and counters in one
# statement; old license REPLACED + its counter; replacement row; item → new license; order + items +
# replacements (the event's data, also the response); event; release. The token is authenticated from the
# process cache; the event reads GET /orders/:id (one statement).
REPLACE_QUERIES = 12


@pytest.mark.parametrize("items", [1, 5])
def test_replace_query_count_is_fixed(api, store, django_assert_num_queries, items):
    variation = make_variation(store, duration_days=30)
    stock(variation, items + 3)
    placed = order_place(
        store=store, customer_id=make_customer(store, balance="90000.00").pk, items=[variation.pk] * items
    )
    item = placed.order.items.first()
    api.post(replace_path(item))  # warm (the token's lastUsedAt)
    with django_assert_num_queries(REPLACE_QUERIES):
        assert api.post(replace_path(item)).status_code == 200


# --- expiry reminders ------------------------------------------------------------------------------
def due_in(item, delta):
    """Put the item's expiry `delta` from now, delivered 30 days before it (the duration)."""
    expires = now() + delta
    OrderItem.objects.filter(pk=item.pk).update(expires_at=expires, delivered_at=expires - timedelta(days=30))


def test_each_reminder_point_is_emitted_exactly_once(store, delivered):
    item = delivered["item"]
    assert reminders_run().as_dict() == {"sent": 0, "skipped": 0}  # 30 days left: nothing due

    due_in(item, timedelta(days=3) - timedelta(minutes=1))
    assert reminders_run().as_dict() == {"sent": 1, "skipped": 0}
    assert reminders_run().as_dict() == {"sent": 0, "skipped": 0}
    due_in(item, timedelta(days=1) - timedelta(minutes=1))
    assert reminders_run().sent == 1
    due_in(item, -timedelta(minutes=1))  # expired a minute ago: the day-of point and the expiry are due
    assert reminders_run().as_dict() == {"sent": 2, "skipped": 0}
    assert reminders_run().as_dict() == {"sent": 0, "skipped": 0}

    assert [d["daysLeft"] for d in events(store, "license.expiring")] == [3, 1, 0]
    [expired] = events(store, "license.expired")
    assert expired["itemId"] == str(item.pk) and expired["status"] == "EXPIRED" and "daysLeft" not in expired
    assert "credentials" not in str(events(store, "license.expiring"))
    assert set(LicenseReminder.objects.values_list("point", flat=True)) == {3, 1, 0, -1}


def test_catch_up_after_a_3_day_outage_skips_and_counts_instead_of_flooding(store, delivered, caplog):
    due_in(delivered["item"], -timedelta(days=3))  # every point passed while nothing ran

    result = reminders_run()

    assert result.as_dict() == {"sent": 0, "skipped": 4}  # 3, 1, 0 days before and the expiry
    assert not Event.objects.filter(type__startswith="license.").exists()
    assert "4 point(s) skipped" in caplog.text
    assert reminder_counts() == {"sent": 0, "skipped": 4}
    assert reminders_run().as_dict() == {"sent": 0, "skipped": 0}  # counted once


def test_several_points_due_at_once_send_only_the_latest(store, delivered):
    due_in(delivered["item"], timedelta(hours=20))  # 3-day point 2 days + 4 h ago; 1-day point 4 h ago
    assert reminders_run().as_dict() == {"sent": 1, "skipped": 1}
    assert [d["daysLeft"] for d in events(store, "license.expiring")] == [1]


def test_store_reminder_days_are_used(store, delivered):
    SubscriptionSettings.objects.create(store=store, reminder_days=[7])
    due_in(delivered["item"], timedelta(days=7) - timedelta(minutes=1))
    assert reminders_run().sent == 1
    due_in(delivered["item"], timedelta(days=1) - timedelta(minutes=1))
    assert reminders_run().sent == 0  # 1 is not one of this store's points
    assert [d["daysLeft"] for d in events(store, "license.expiring")] == [7]


def test_renewed_items_get_no_reminders(api, store, delivered):
    item, customer = delivered["item"], delivered["customer"]
    wallet_recharge(customer=customer, amount=Decimal("10000.00"))
    assert place_api(api, customer, delivered["variation"], renews=item.pk).status_code == 201

    due_in(item, -timedelta(minutes=1))
    reminders_run()

    assert not LicenseReminder.objects.filter(item=item).exists()


def test_reminder_command_shows_the_counters(store, delivered, capsys):
    due_in(delivered["item"], -timedelta(days=3))
    call_command("license_reminders", "--run")
    out = capsys.readouterr().out
    assert "this pass: sent=0 skipped=4" in out
    assert "last 1 day(s): sent=0 skipped=4" in out


def test_whatsapp_parameters_of_license_events(store, delivered):
    from integrations import whatsapp

    item = delivered["item"]
    due_in(item, timedelta(days=1) - timedelta(minutes=1))
    reminders_run()
    [data] = events(store, "license.expiring")
    expires = OrderItem.objects.get(pk=item.pk).expires_at
    values = whatsapp.extract_parameters(
        keys=["customer_name", "product_name", "expiry_date", "days_left", "order_number"],
        event_type="license.expiring",
        data=data,
        store_name=store.name,
        store_timezone="Asia/Tokyo",
    )
    local_date = expires.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).date().isoformat()
    assert values == [delivered["customer"].name, item.product_name, local_date, "1", item.order.order_number]
    assert whatsapp._customer_id("license.expiring", data) == str(delivered["customer"].pk)


def test_license_expiring_and_item_replaced_go_to_whatsapp_template_routes(api, store):
    from django.test import override_settings

    from integrations import whatsapp
    from integrations.tests.fake_mosend import FakeMosend
    from integrations.tests.whatsapp_helpers import connect, route

    variation = make_variation(store, duration_days=30)
    stock(variation, 2)
    customer = make_customer(store, balance="10000.00", phone="+573001234567", name="Ana")
    item = buy(store, customer, variation)
    connect(store)
    params = ["customer_name", "product_name", "expiry_date", "days_left", "order_number"]
    route(store, event_type="license.expiring", parameters=params, template="vence_pronto")
    route(store, event_type="order.item_replaced", parameters=["customer_name", "credentials"], template="garantia")
    due_in(item, timedelta(days=3) - timedelta(minutes=1))
    reminders_run()
    assert api.post(replace_path(item)).status_code == 200

    with FakeMosend() as fake, override_settings(MOSEND_API_URL=fake.url):
        for event in Event.objects.filter(type__in=["license.expiring", "order.item_replaced"]).order_by("created_at"):
            message = whatsapp.handle_event(event)
            assert whatsapp.message_send(message_id=message.pk) == "succeeded"
        expiring, replaced = [request.json["template"] for request in fake.requests]

    expires = OrderItem.objects.get(pk=item.pk).expires_at.astimezone(zoneinfo.ZoneInfo(store.timezone))
    assert expiring["name"] == "vence_pronto"
    assert expiring["parameters"] == [
        "Ana",
        item.product_name,
        expires.date().isoformat(),
        "3",
        item.order.order_number,
    ]
    new_credentials = decrypt(OrderItem.objects.select_related("license").get(pk=item.pk).license.credentials_encrypted)
    assert replaced["name"] == "garantia" and replaced["parameters"] == ["Ana", new_credentials]


def test_licenses_of_another_store_are_never_listed(api_for, store, other_store, holdings):
    theirs = api_for(other_store)
    assert len(ids(theirs.get("/licenses"))) == 1  # only its own
    assert ids(theirs.get("/licenses", {"customerId": str(holdings["ana"].pk)})) == []
    assert ids(theirs.get("/licenses", {"variationId": str(holdings["variation"].pk)})) == []
    assert ids(theirs.get("/licenses", {"customerPhone": "+573001112233"})) == []


@pytest.mark.parametrize("days", ["99999999", "-1", "3651"])
def test_reminder_command_refuses_bad_days_before_running(store, delivered, days):
    """--days out of 0..3650 is refused up front: --run sends nothing (it used to send, then crash
    with OverflowError; a negative value meant 'ever')."""
    due_in(delivered["item"], timedelta(days=1) - timedelta(minutes=1))
    with pytest.raises(CommandError, match="--days"):
        call_command("license_reminders", "--run", "--days", days)
    assert not LicenseReminder.objects.exists()
