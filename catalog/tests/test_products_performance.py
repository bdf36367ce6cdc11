"""GET /products and GET /products/:id: constant query counts and conditional GET (ETag / 304)."""

import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Category, PriceTier, Product, TierPrice, Variation
from catalog.tests.factories import add_available_licenses, make_category, make_product, make_tier
from nuvlyx.core.timeutil import now

pytestmark = pytest.mark.django_db


def bulk_catalog(store, products: int, variations: int = 3) -> None:
    """Many rows fast (straight inserts; the shape of what the services write)."""
    tier = make_tier(store, f"T{products}", products + 100)
    product_rows = [
        Product(store=store, name=f"Product {i}", slug=f"bulk-{i}", kind="DIGITAL") for i in range(products)
    ]
    Product.objects.bulk_create(product_rows)
    variation_rows = [
        Variation(
            store=store,
            product=p,
            sku=f"BULK-{i}-{j}",
            price=Decimal("1000.00") + j,
            position=j,
            stock_available=j,
            duration_days=30,
        )
        for i, p in enumerate(product_rows)
        for j in range(variations)
    ]
    Variation.objects.bulk_create(variation_rows)
    TierPrice.objects.bulk_create(
        [TierPrice(store=store, variation=v, tier=tier, price=Decimal("900.00")) for v in variation_rows]
    )


def count_queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


@pytest.fixture
def warm_api(api):
    api.get("/me")  # the token's first use writes last_used_at; keep it out of the counts
    return api


def test_list_runs_the_same_number_of_queries_for_1_and_50_products(warm_api, store, django_assert_num_queries):
    make_product(store)
    one = count_queries(lambda: warm_api.get("/products"))
    bulk_catalog(store, 49, variations=5)
    with django_assert_num_queries(one):
        response = warm_api.get("/products")
    assert len(response.json()) == 50
    with django_assert_num_queries(one):
        assert len(warm_api.get("/products", {"search": "product", "status": "ACTIVE"}).json()) == 49


def test_detail_runs_the_same_number_of_queries_for_1_and_50_variations(warm_api, store, django_assert_num_queries):
    tier = make_tier(store)
    small = make_product(store, tier_prices=[(tier, "9.00")], category_ids=[make_category(store).pk])
    one = count_queries(lambda: warm_api.get(f"/products/{small.pk}"))
    big = make_product(
        store,
        name="Big",
        category_ids=[make_category(store, "Two").pk, make_category(store, "Three").pk],
        variations=[
            {"sku": f"BIG-{i}", "price": Decimal("5.00"), "tier_prices": [{"tier_id": tier.pk, "price": Decimal("4")}]}
            for i in range(50)
        ],
    )
    with django_assert_num_queries(one):
        response = warm_api.get(f"/products/{big.pk}")
    assert len(response.json()["variations"]) == 50
    assert one <= 6


def test_list_of_1000_products_with_3_variations_in_constant_queries(warm_api, store, django_assert_max_num_queries):
    """Speed lives in `make bench`; here: the full-size list is complete and its query count does not
    grow with the catalog (the 304 costs no more than the list)."""
    bulk_catalog(store, 1000, variations=3)
    with django_assert_max_num_queries(10):
        response = warm_api.get("/products")
    assert response.status_code == 200
    body = response.json()
    assert len(body) == 1000 and all(len(p["variations"]) == 3 for p in body)
    with django_assert_max_num_queries(2):
        not_modified = warm_api.get("/products", headers={"If-None-Match": response["ETag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""


# --- ETag ---------------------------------------------------------------------------------------
def test_list_etag_304_and_change_after_price_change(warm_api, store, django_assert_num_queries):
    product = make_product(store)
    first = warm_api.get("/products")
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert first["Last-Modified"]

    with django_assert_num_queries(count_queries(lambda: warm_api.get("/products", headers={"If-None-Match": etag}))):
        cached = warm_api.get("/products", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached["ETag"] == etag

    response = warm_api.patch(
        f"/products/{product.pk}", {"variations": [{"id": str(product.variations.get().pk), "price": "9999.00"}]}
    )
    assert response.status_code == 200
    changed = warm_api.get("/products", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()[0]["variations"][0]["price"] == "9999.00"


def test_list_query_counts_cold_build_warm_cache_and_304(warm_api, store):
    """Cold (no cached body for this ETag): the ETag, then in one snapshot the ETag again, the products and
    the variations (+ SET TRANSACTION ISOLATION outside tests' outer transaction). Warm (cached body whose
    ETag still matches) and 304: only the ETag aggregate, exactly like each other."""
    bulk_catalog(store, 20)
    responses = []
    cold = count_queries(lambda: responses.append(warm_api.get("/products")))
    warm = count_queries(lambda: responses.append(warm_api.get("/products")))
    etag = responses[0]["ETag"]
    not_modified = count_queries(lambda: warm_api.get("/products", headers={"If-None-Match": etag}))
    assert warm == not_modified
    assert cold == warm + 3  # validator recomputed in the snapshot, product rows, variation rows
    assert responses[0].content == responses[1].content and len(responses[1].json()) == 20
    assert responses[1]["ETag"] == etag

    # A change makes the next request cold again (the cached ETag no longer matches), then warm.
    Variation.objects.filter(store=store, position=0).update(stock_available=99, updated_at=now())
    assert count_queries(lambda: responses.append(warm_api.get("/products"))) == cold
    assert count_queries(lambda: responses.append(warm_api.get("/products"))) == warm
    assert responses[2]["ETag"] != etag and responses[2].content == responses[3].content
    assert {v["stockQuantity"] for p in responses[3].json() for v in p["variations"] if v["sku"].endswith("-0")} == {99}


def test_list_etag_changes_with_stock_filters_and_deletes(warm_api, store):
    product = make_product(store)
    other = make_product(store, name="Other", sku="OTHER")
    base = warm_api.get("/products")["ETag"]
    assert warm_api.get("/products", {"kind": "DIGITAL"})["ETag"] != base  # query params are part of it

    add_available_licenses(product.variations.get(), 2)
    after_stock = warm_api.get("/products", headers={"If-None-Match": base})
    assert after_stock.status_code == 200 and after_stock["ETag"] != base

    # Even a counter change that leaves updated_at alone changes the ETag (sum of stock).
    Variation.objects.filter(product=product).update(stock_available=7)
    after_counter = warm_api.get("/products")["ETag"]
    assert after_counter != after_stock["ETag"]

    warm_api.delete(f"/products/{other.pk}")
    assert warm_api.get("/products")["ETag"] != after_counter


def test_detail_etag_304_and_changes(warm_api, store):
    tier = make_tier(store)
    category = make_category(store)
    product = make_product(store, tier_prices=[(tier, "9000.00")], category_ids=[category.pk])
    path = f"/products/{product.pk}"
    etag = warm_api.get(path)["ETag"]

    cached = warm_api.get(path, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    assert warm_api.get(path, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304

    def changed_after(change) -> None:
        nonlocal etag
        time.sleep(0.002)  # timestamps are stored with millisecond precision
        change()
        response = warm_api.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 200
        assert response["ETag"] != etag
        etag = response["ETag"]

    changed_after(
        lambda: warm_api.patch(
            path,
            {
                "variations": [
                    {
                        "id": str(product.variations.get().pk),
                        "tierPrices": [{"tierId": str(tier.pk), "price": "8000.00"}],
                    }
                ]
            },
        )
    )
    changed_after(lambda: PriceTier.objects.filter(pk=tier.pk).update(name="Platinum", updated_at=now()))
    changed_after(lambda: Category.objects.filter(pk=category.pk).update(name="Video", updated_at=now()))
    changed_after(lambda: add_available_licenses(product.variations.get(), 1))
    changed_after(lambda: warm_api.patch(path, {"description": "new"}))


def test_etag_of_another_store_never_matches(warm_api, api_for, store, other_store):
    foreign = make_product(other_store)
    foreign_etag = api_for(other_store).get(f"/products/{foreign.pk}")["ETag"]
    response = warm_api.get(f"/products/{foreign.pk}", headers={"If-None-Match": foreign_etag})
    assert response.status_code == 404
    assert warm_api.get("/products", headers={"If-None-Match": foreign_etag}).status_code == 200
