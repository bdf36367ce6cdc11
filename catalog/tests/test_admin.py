"""The owner's catalog admin: scoped to their store, saves through the services, price preview per tier."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Product, TierPrice, Variation
from catalog.tests.factories import make_category, make_product, make_tier
from nuvlyx.core.models import Event
from nuvlyx.core.services import store_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_store(db):
    return store_create(slug="owned", name="Owned", owner_email="owner@example.com", owner_password="pw")


@pytest.fixture
def owner_client(client, owner_store):
    client.force_login(get_user_model().objects.get(username="owner@example.com"))
    return client


def product_post_data(**overrides):
    data = {
        "name": "Admin product",
        "slug": "",
        "kind": "DIGITAL",
        "status": "ACTIVE",
        "description": "",
        "post_sale_instructions": "",
        "variations-TOTAL_FORMS": "1",
        "variations-INITIAL_FORMS": "0",
        "variations-MIN_NUM_FORMS": "0",
        "variations-MAX_NUM_FORMS": "1000",
        "variations-0-sku": "ADM-1",
        "variations-0-name": "One",
        "variations-0-price": "1200.00",
        "variations-0-duration_days": "30",
        "variations-0-depends_on_stock": "on",
        "variations-0-low_stock_threshold": "0",
        "variations-0-position": "0",
    }
    data.update(overrides)
    return data


def test_owner_sees_only_their_products(owner_client, owner_store, other_store):
    mine = make_product(owner_store, name="Mine", sku="MINE")
    theirs = make_product(other_store, name="Theirs", sku="THEIRS")
    page = owner_client.get("/admin/catalog/product/").content.decode()
    assert "Mine" in page and "Theirs" not in page
    assert owner_client.get(f"/admin/catalog/product/{mine.pk}/change/").status_code == 200
    assert owner_client.get(f"/admin/catalog/product/{theirs.pk}/change/").status_code in (302, 404)
    variation = theirs.variations.get()
    assert owner_client.get(f"/admin/catalog/variation/{variation.pk}/change/").status_code in (302, 404)


def test_category_choices_are_limited_to_the_owners_store(owner_client, owner_store, other_store):
    make_category(owner_store, "Ours")
    make_category(other_store, "Foreign")
    page = owner_client.get("/admin/catalog/product/add/").content.decode()
    assert "Ours" in page and "Foreign" not in page


def test_adding_a_product_goes_through_the_service_rules(owner_client, owner_store):
    category = make_category(owner_store, "Ours")
    response = owner_client.post("/admin/catalog/product/add/", product_post_data(categories=[str(category.pk)]))
    assert response.status_code == 302, response.content.decode()[:2000]
    product = Product.objects.get(name="Admin product")
    assert product.store_id == owner_store.pk
    assert product.slug == "admin-product"
    variation = product.variations.get()
    assert variation.store_id == owner_store.pk and variation.price == Decimal("1200.00")
    event = Event.objects.get(type="product.created")
    assert event.payload["data"]["variations"][0]["sku"] == "ADM-1"
    assert event.payload["data"]["categories"][0]["id"] == str(category.pk)


def test_duplicate_sku_in_admin_is_a_form_error(owner_client, owner_store, other_store):
    make_product(owner_store, sku="ADM-1")
    make_product(other_store, name="x", sku="ADM-2")
    response = owner_client.post("/admin/catalog/product/add/", product_post_data(name="Another"))
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    response = owner_client.post(
        "/admin/catalog/product/add/", product_post_data(name="Another", **{"variations-0-sku": "ADM-2"})
    )
    assert response.status_code == 302  # another store's SKU is no conflict
    assert Product.objects.filter(store=owner_store).count() == 2


def test_variation_page_previews_the_price_per_tier(owner_client, owner_store):
    silver = make_tier(owner_store, "Silver", 1)
    make_tier(owner_store, "Gold", 2)
    product = make_product(owner_store, tier_prices=[(silver, "8500.00")])
    variation = product.variations.get()
    page = owner_client.get(f"/admin/catalog/variation/{variation.pk}/change/").content.decode()
    assert "$\xa08.500" in page  # Silver: its tier price, in the store's format
    assert page.count("$\xa010.000<") >= 2  # retail and Gold: the base price
    assert "falls back to base price" in page


def test_tier_price_added_on_the_variation_page_emits_product_updated(owner_client, owner_store):
    gold = make_tier(owner_store, "Gold", 2)
    product = make_product(owner_store)
    variation = product.variations.get()
    data = {
        "sku": variation.sku,
        "name": variation.name,
        "price": "10000.00",
        "duration_days": "30",
        "depends_on_stock": "on",
        "low_stock_threshold": "0",
        "position": "0",
        "tier_prices-TOTAL_FORMS": "1",
        "tier_prices-INITIAL_FORMS": "0",
        "tier_prices-MIN_NUM_FORMS": "0",
        "tier_prices-MAX_NUM_FORMS": "1000",
        "tier_prices-0-tier": str(gold.pk),
        "tier_prices-0-price": "7000.00",
    }
    response = owner_client.post(f"/admin/catalog/variation/{variation.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert TierPrice.objects.get(variation=variation).store_id == owner_store.pk
    event = Event.objects.get(type="product.updated")
    assert event.payload["data"]["variations"][0]["tierPrices"][0]["price"] == "7000.00"


def test_deleting_in_admin_uses_the_service(owner_client, owner_store):
    product = make_product(owner_store)
    response = owner_client.post(f"/admin/catalog/product/{product.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not Variation.objects.filter(product_id=product.pk).exists()
    assert Event.objects.filter(type="product.deleted").count() == 1


def test_admin_pages_render(owner_client, owner_store):
    make_product(owner_store)
    make_tier(owner_store)
    make_category(owner_store)
    for path in (
        "catalog/product/",
        "catalog/variation/",
        "catalog/category/",
        "catalog/pricetier/",
        "catalog/category/add/",
        "catalog/pricetier/add/",
        "catalog/variation/add/",
    ):
        assert owner_client.get(f"/admin/{path}").status_code == 200, path
