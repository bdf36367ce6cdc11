"""GET /products: the rendered body cached per (store, filters) and served only while its ETag still is the
catalog's current one (computed from the database on every request, so freshness is exact)."""

import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import selectors, stock
from catalog.models import Variation
from catalog.selectors import ProductFilters
from catalog.tests.factories import make_category, make_product
from nuvlyx.core.timeutil import now

pytestmark = pytest.mark.django_db

POISON = b'[{"cached": true}]'


@pytest.fixture
def warm_api(api):
    api.get("/me")  # the token's first use writes last_used_at; keep it out of the counts
    return api


def key(store, **filters) -> str:
    return selectors.product_list_cache_key(store=store, filters=ProductFilters(**filters))


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_the_cached_body_is_served_only_while_its_etag_matches(warm_api, store):
    make_product(store)
    first = warm_api.get("/products")
    etag = first["ETag"]
    assert cache.get(key(store)) == (etag, first.content)

    # Proof that the warm path serves the cached bytes (nothing is rebuilt): replace them, same ETag.
    cache.set(key(store), (etag, POISON))
    served = warm_api.get("/products")
    assert served.status_code == 200 and served.content == POISON and served["ETag"] == etag
    assert served["Content-Type"] == "application/json"

    # A cached body under any other ETag is never served: the body is rebuilt and the entry replaced.
    cache.set(key(store), ('"stale"', POISON))
    rebuilt = warm_api.get("/products")
    assert rebuilt.content == first.content and rebuilt["ETag"] == etag
    assert cache.get(key(store)) == (etag, first.content)


def test_after_a_stock_change_the_new_body_and_etag_are_served_at_once(warm_api, store):
    product = make_product(store)
    variation = product.variations.get()
    first = warm_api.get("/products")
    assert first.json()[0]["variations"][0]["stockQuantity"] == 0
    etag = first["ETag"]

    stock.license_upload(store=store, variation=variation, credentials=["a:1", "b:2", "c:3"])
    uploaded = warm_api.get("/products", headers={"If-None-Match": etag})
    assert uploaded.status_code == 200 and uploaded["ETag"] != etag
    assert uploaded.json()[0]["variations"][0]["stockQuantity"] == 3

    # What order placement does: take licenses in a transaction (counters + updated_at), then re-poll.
    stock.license_take(variation=Variation.objects.get(pk=variation.pk), quantity=1)
    taken = warm_api.get("/products", headers={"If-None-Match": uploaded["ETag"]})
    assert taken.status_code == 200 and taken["ETag"] not in (etag, uploaded["ETag"])
    assert taken.json()[0]["variations"][0]["stockQuantity"] == 2
    assert warm_api.get("/products").content == taken.content  # now cached

    # Even a counter moved without touching updated_at changes the ETag (sum of stock) and the body.
    Variation.objects.filter(pk=variation.pk).update(stock_available=7)
    raw = warm_api.get("/products")
    assert raw["ETag"] != taken["ETag"] and raw.json()[0]["variations"][0]["stockQuantity"] == 7


def test_after_a_price_or_name_change_the_new_body_and_etag_are_served(warm_api, store):
    product = make_product(store)
    path = f"/products/{product.pk}"
    first = warm_api.get("/products")
    assert warm_api.get("/products").content == first.content  # cached

    assert (
        warm_api.patch(path, {"variations": [{"id": str(product.variations.get().pk), "price": "12.50"}]}).status_code
        == 200
    )
    priced = warm_api.get("/products")
    assert priced["ETag"] != first["ETag"] and priced.json()[0]["variations"][0]["price"] == "12.50"

    time.sleep(0.002)  # timestamps have millisecond precision
    assert warm_api.patch(path, {"name": "Renamed"}).status_code == 200
    renamed = warm_api.get("/products", headers={"If-None-Match": priced["ETag"]})
    assert renamed.status_code == 200 and renamed.json()[0]["name"] == "Renamed"

    assert warm_api.delete(path).status_code == 204
    emptied = warm_api.get("/products")
    assert emptied.json() == [] and emptied["ETag"] != renamed["ETag"]


def test_each_filter_and_each_store_has_its_own_entry(warm_api, api_for, store, other_store):
    category = make_category(store)
    make_product(store, name="In category", sku="IN", category_ids=[category.pk])
    make_product(store, name="Service", sku="SRV", kind="SERVICE")
    make_product(other_store, name="Foreign", sku="FOREIGN")

    everything = warm_api.get("/products")
    by_category = warm_api.get("/products", {"categoryId": str(category.pk)})
    services = warm_api.get("/products", {"kind": "SERVICE"})
    foreign = api_for(other_store).get("/products")
    assert [p["name"] for p in by_category.json()] == ["In category"]
    assert [p["name"] for p in services.json()] == ["Service"]
    assert [p["name"] for p in foreign.json()] == ["Foreign"]
    assert len({everything["ETag"], by_category["ETag"], services["ETag"], foreign["ETag"]}) == 4
    assert cache.get(key(store, category_id=category.pk)) == (by_category["ETag"], by_category.content)
    assert cache.get(key(store, kind="SERVICE")) == (services["ETag"], services.content)

    # Warm, every one of them answers its own body.
    assert warm_api.get("/products", {"categoryId": str(category.pk)}).content == by_category.content
    assert warm_api.get("/products", {"kind": "SERVICE"}).content == services.content
    assert api_for(other_store).get("/products").content == foreign.content
    assert warm_api.get("/products").content == everything.content


def test_filtered_list_query_counts_cold_and_warm(warm_api, store):
    category = make_category(store)
    for i in range(5):
        make_product(store, name=f"P{i}", sku=f"P{i}", category_ids=[category.pk])
    params = {"categoryId": str(category.pk)}
    cold = queries(lambda: warm_api.get("/products", params))
    warm = queries(lambda: warm_api.get("/products", params))
    etag = warm_api.get("/products", params)["ETag"]
    assert warm == queries(lambda: warm_api.get("/products", params, headers={"If-None-Match": etag}))
    assert cold == warm + 3
    Variation.objects.filter(store=store, sku="P3").update(price="1.00", updated_at=now())
    assert queries(lambda: warm_api.get("/products", params)) == cold
    assert warm_api.get("/products", params).json()[1]["variations"][0]["price"] == "1.00"


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_body_is_built_in_one_repeatable_read_snapshot(api, store):
    """The production path (no outer transaction): the validator and the rows are read in one
    REPEATABLE READ transaction, so the body cached under an ETag is exactly the state it describes."""
    api.get("/me")
    make_product(store)
    with CaptureQueriesContext(connection) as ctx:
        cold = api.get("/products")
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert not connection.in_atomic_block
    begin = sqls.index("BEGIN")
    assert sqls[begin + 1] == "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"
    assert "COUNT(*)" in sqls[begin - 1] and "COUNT(*)" in sqls[begin + 2]  # the validator, then again inside
    assert len(sqls) == begin + 6 and sqls[-1] == "COMMIT"  # + product rows, variation rows, COMMIT
    with CaptureQueriesContext(connection) as ctx:
        warm = api.get("/products")
    assert len(ctx.captured_queries) == begin  # token + the validator only
    assert warm.content == cold.content and warm["ETag"] == cold["ETag"]
    assert cache.get(key(store)) == (cold["ETag"], cold.content)


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "ACTIVE"},
        {"status": "ARCHIVED"},
        {"kind": "SERVICE"},
        {"search": "office"},
        {"search": "SUB-3"},  # matches a variation's SKU only
        {"search": "50%_off"},  # LIKE wildcards are literal
        {"search": "nothing"},
        {"kind": "DIGITAL", "status": "ACTIVE", "search": "sub"},
    ],
)
def test_the_etag_aggregates_cover_exactly_the_listed_products(store, other_store, filters):
    """The validator's hand-written SQL filters like product_list_queryset (which renders the body)."""
    category = make_category(store)
    make_product(store, name="Monthly", sku="SUB-1M", category_ids=[category.pk])
    make_product(
        store,
        name="Quarterly",
        sku="Q",
        variations=[{"sku": "SUB-3M", "price": "1.00"}, {"sku": "SUB-6M", "price": "2.00"}],
    )
    make_product(store, name="Office 50%_off", sku="OFF", status="ARCHIVED")
    make_product(store, name="Office 50 percent", sku="OFF2")
    make_product(store, name="Setup", sku="SRV", kind="SERVICE", category_ids=[category.pk])
    make_product(other_store, name="Monthly elsewhere", sku="SUB-1M")
    for flt in (ProductFilters(**filters), ProductFilters(category_id=category.pk, **filters)):
        body = selectors.product_list_data(store=store, filters=flt)
        p_count, _, v_count, _, _, v_price = selectors._list_aggregates(store=store, filters=flt)
        assert p_count == len(body), flt
        assert v_count == sum(len(p["variations"]) for p in body), flt
        assert (v_price or 0) == sum(Decimal(v["price"]) for p in body for v in p["variations"]), flt
