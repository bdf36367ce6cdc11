"""Readable everywhere: human titles, constraint violations as field errors in words, and the
store's currency locked once money exists."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from catalog.models import TierPrice
from wallets.models import Wallet

from .admin_data import populate_store

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def data(db):
    return populate_store("Shop", slug="shop")


@pytest.fixture
def owner_client(data):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")  # English texts below (the panel's default is Spanish)
    client.force_login(data.owner)
    return client


@translation.override("en")
def test_every_object_has_a_human_title(data):
    for name, obj in [
        ("store", data.store),
        *data.objects.items(),
        ("wallet", Wallet.objects.get(pk=data.objects["customer"].pk)),
    ]:
        title = str(obj)
        assert title and not UUID.search(title) and " object (" not in title, (name, title)
    order = data.objects["order"]
    assert str(order) == f"{order.order_number} · Shop Ana"
    assert str(Wallet.objects.get(pk=data.objects["customer"].pk)) == "Wallet of Shop Ana"
    recharge = data.objects["customer"].wallet.entries.filter(kind="RECHARGE").get()
    assert str(recharge) == "Recharge +50000.00 · Shop Ana"
    assert str(data.objects["tierprice"]) == "Shop-NF-1M at Shop Gold: 12000.00"


def _variation_post(variation, tier, tier_price: str, price: str = "15000.00") -> dict:
    return {
        "sku": variation.sku,
        "name": variation.name,
        "price": price,
        "duration_days": "30",
        "depends_on_stock": "on",
        "low_stock_threshold": "0",
        "position": "0",
        "tier_prices-TOTAL_FORMS": "1",
        "tier_prices-INITIAL_FORMS": "1",
        "tier_prices-MIN_NUM_FORMS": "0",
        "tier_prices-MAX_NUM_FORMS": "1000",
        "tier_prices-0-id": str(variation.tier_prices.get().pk),
        "tier_prices-0-variation": str(variation.pk),
        "tier_prices-0-tier": str(tier.pk),
        "tier_prices-0-price": tier_price,
    }


def test_negative_tier_price_is_an_error_on_the_price_field_in_words(owner_client, data):
    variation, tier = data.objects["variation"], data.objects["tier"]
    url = reverse("admin:catalog_variation_change", args=[variation.pk])
    response = owner_client.post(url, _variation_post(variation, tier, "-5.00"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "catalog_tierprice_price_gte_0" not in html and "Constraint" not in html
    formset = response.context_data["inline_admin_formsets"][0].formset
    # the money field itself refuses a negative amount, in the owner's language
    assert "price" in formset.forms[0].errors and "gte" not in formset.forms[0].errors["price"][0]
    assert TierPrice.objects.get(variation=variation).price == Decimal("12000.00")  # nothing changed

    response = owner_client.post(url, _variation_post(variation, tier, "100.00", price="-1.00"))
    assert response.status_code == 200 and "price" in response.context_data["adminform"].form.errors
    assert "catalog_variation_price_gte_0" not in response.content.decode()


def _store_post(store, currency: str) -> dict:
    return {
        "name": store.name,
        "slug": store.slug,
        "currency": currency,
        "country": store.country,
        "timezone": store.timezone,
    }


def test_currency_cannot_change_once_money_exists(owner_client, data):
    url = reverse("admin:core_store_change", args=[data.store.pk])
    response = owner_client.post(url, _store_post(data.store, "USD"))
    assert response.status_code == 200
    assert "currency" in response.context_data["adminform"].form.errors
    data.store.refresh_from_db()
    assert data.store.currency == "COP"


def test_currency_can_change_while_the_store_holds_no_money(db):
    from nuvlyx.core.services import store_create

    store = store_create(slug="empty", name="Empty", owner_email="empty@example.com", owner_password="pw-123456789")
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="empty@example.com"))
    response = client.post(reverse("admin:core_store_change", args=[store.pk]), _store_post(store, "USD"))
    assert response.status_code == 302, response.content.decode()[:2000]
    store.refresh_from_db()
    assert store.currency == "USD"


def test_cancel_records_the_reason_and_refunds(owner_client, data):
    from catalog.tests.factories import make_variation
    from orders.models import Order
    from orders.services import order_place
    from wallets.models import LedgerEntry

    service = make_variation(data.store, kind="SERVICE", depends_on_stock=False, price="100.00")
    order = order_place(store=data.store, customer_id=data.objects["customer"].pk, items=[service.pk]).order
    assert order.status == "PROCESSING"
    url = reverse("admin:orders_order_object_action", args=[order.pk, "cancel"])
    assert url in owner_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert owner_client.post(url, {"reason": "Out of accounts"}).status_code == 302
    assert Order.objects.get(pk=order.pk).status == "CANCELLED"
    entry = LedgerEntry.objects.filter(order_id=order.pk, kind="REFUND").get()
    assert entry.note == f"Cancellation of {order.order_number}: Out of accounts"
    # A second POST (reload, back button) does nothing more: the action is no longer available.
    assert owner_client.post(url, {"reason": "again"}).status_code == 302
    assert LedgerEntry.objects.filter(order_id=order.pk, kind="REFUND").count() == 1


MAX_LIST_COLUMNS = 6  # what fits a 1366 px window beside the filter sidebar (checked by eye in part C's screenshots)


def test_every_owner_list_fits_a_laptop_window(data):
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = data.owner
    for model, ma in admin.site._registry.items():
        if not ma.has_view_permission(request):
            continue
        columns = ma.get_list_display(request)
        assert len(columns) <= MAX_LIST_COLUMNS, f"{model.__name__} lists {len(columns)} columns: {columns}"
