"""GET/POST /categories and /price-tiers (API.md §3)."""

import pytest

from catalog.models import Category, PriceTier
from catalog.tests.factories import make_category, make_tier
from conftest import assert_error

pytestmark = pytest.mark.django_db


def test_categories_create_and_list(api, other_store):
    make_category(other_store, "Foreign")
    response = api.post("/categories", {"name": "Música y Video", "description": "All streaming"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert set(created) == {"id", "name", "slug", "description"}
    assert created["slug"] == "musica-y-video"
    assert created["description"] == "All streaming"
    second = api.post("/categories", {"name": "Música y video"}).json()
    assert second["slug"] == "musica-y-video-2"
    assert second["description"] == ""

    listed = api.get("/categories").json()
    assert listed == [created, second] or listed == [second, created]
    assert {c["name"] for c in listed} == {"Música y Video", "Música y video"}


def test_category_slug_conflict_and_validation(api):
    api.post("/categories", {"name": "Streaming", "slug": "streaming"})
    assert_error(api.post("/categories", {"name": "Other", "slug": "streaming"}), 409, "conflict")
    error = assert_error(api.post("/categories", {"name": ""}), 422, "validation_error")
    assert error["errors"][0]["field"] == "name"
    error = assert_error(api.post("/categories", {"name": "x" * 121}), 422, "validation_error")
    assert error["errors"][0]["field"] == "name"
    error = assert_error(api.post("/categories", {"name": "Ok", "slug": "Bad Slug"}), 422, "validation_error")
    assert error["errors"][0]["field"] == "slug"
    assert Category.objects.count() == 1


def test_price_tiers_create_and_list_ordered_by_level(api, other_store):
    make_tier(other_store, "Foreign", 1)
    gold = api.post("/price-tiers", {"name": "Gold", "level": 3})
    assert gold.status_code == 201, gold.content
    assert set(gold.json()) == {"id", "name", "level"}
    retail = api.post("/price-tiers", {"name": "Retail", "level": 0}).json()
    assert api.get("/price-tiers").json() == [retail, gold.json()]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "Gold", "level": 9}, 409, None),
        ({"name": "Other", "level": 3}, 409, None),
        ({"name": "Other"}, 422, "level"),
        ({"name": "Other", "level": -1}, 422, "level"),
        ({"name": "Other", "level": "4"}, 422, "level"),
        ({"name": "Other", "level": 1.5}, 422, "level"),
        ({"level": 4}, 422, "name"),
        ({"name": "x" * 61, "level": 4}, 422, "name"),
    ],
)
def test_price_tier_conflicts_and_validation(api, store, body, status, field):
    make_tier(store, "Gold", 3)
    error = assert_error(api.post("/price-tiers", body), status, "conflict" if status == 409 else "validation_error")
    if field:
        assert error["errors"][0]["field"] == field
    assert PriceTier.objects.count() == 1


def test_demo_catalog(api, store):
    from catalog.demo import seed_demo_catalog

    seed_demo_catalog(store)
    seed_demo_catalog(store)  # idempotent
    products = api.get("/products").json()
    assert len(products) == 3
    assert {p["kind"] for p in products} == {"DIGITAL", "SERVICE"}
    assert len(api.get("/price-tiers").json()) == 2
    assert len(api.get("/categories").json()) == 2
