"""GET /products/:id/price — exactly seed 001, one test per note of the seed."""

import uuid
from decimal import Decimal

import pytest

from catalog.pricing import quote_variation, quote_variations, tier_prices_for
from catalog.tests.factories import add_available_licenses, make_product, make_tier
from conftest import assert_error
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db

QUOTE_KEYS = {"productId", "productName", "currency", "customer", "variations"}
QUOTE_VARIATION_KEYS = {"variationId", "sku", "basePrice", "price", "appliedTier", "availableStock", "dependsOnStock"}


@pytest.fixture
def silver(store):
    return make_tier(store, "Silver", 2)


@pytest.fixture
def product(store, silver):
    product = make_product(
        store,
        variations=[
            {
                "sku": "SUB-1M",
                "price": Decimal("10000.00"),
                "duration_days": 30,
                "tier_prices": [{"tier_id": silver.pk, "price": Decimal("8500.00")}],
            },
            {"sku": "SUB-3M", "price": Decimal("27000.00"), "depends_on_stock": False},
        ],
    )
    add_available_licenses(product.variations.get(sku="SUB-1M"), 42)
    return product


def test_quote_with_a_tiered_customer_matches_the_seed_shape(api, store, product, silver):
    customer = make_customer(store, tier=silver)

    response = api.get(f"/products/{product.pk}/price", {"customerId": str(customer.pk)})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == QUOTE_KEYS
    assert body["productId"] == str(product.pk)
    assert body["productName"] == "1-month digital subscription"
    assert body["currency"] == "COP"
    silver_json = {"id": str(silver.pk), "name": "Silver", "level": 2}
    assert body["customer"] == {"id": str(customer.pk), "tier": silver_json}
    first, second = body["variations"]
    assert set(first) == QUOTE_VARIATION_KEYS
    assert first == {
        "variationId": str(product.variations.get(sku="SUB-1M").pk),
        "sku": "SUB-1M",
        "basePrice": "10000.00",
        "price": "8500.00",
        "appliedTier": silver_json,
        "availableStock": 42,
        "dependsOnStock": True,
    }
    assert second["availableStock"] is None and second["dependsOnStock"] is False


def test_note_1_customer_without_tier_pays_base_price(api, store, product):
    customer = make_customer(store, tier=None)

    body = api.get(f"/products/{product.pk}/price", {"customerId": str(customer.pk)}).json()

    assert body["customer"] == {"id": str(customer.pk), "tier": None}
    for variation in body["variations"]:
        assert variation["appliedTier"] is None
        assert variation["price"] == variation["basePrice"]


def test_note_2_variation_without_a_price_for_the_tier_falls_back_for_that_variation_only(api, store, product, silver):
    customer = make_customer(store, tier=silver)

    first, second = api.get(f"/products/{product.pk}/price", {"customerId": str(customer.pk)}).json()["variations"]

    assert first["price"] == "8500.00" and first["appliedTier"]["id"] == str(silver.pk)
    assert second["price"] == second["basePrice"] == "27000.00"
    assert second["appliedTier"] is None


def test_note_3_unlinked_phone_is_404_with_an_explicit_message(api, store, product, silver):
    make_customer(store, tier=silver, phone="+573001234567", linked=False)

    response = api.get(f"/products/{product.pk}/price", {"customerPhone": "+573001234567"})

    body = assert_error(response, 404, "phone_not_linked")
    assert "+573001234567" in body["message"] and "link" in body["message"].lower()


def test_linked_phone_quotes_for_that_customer(api, store, product, silver):
    customer = make_customer(store, tier=silver, phone="+573001234567", linked=True)
    body = api.get(f"/products/{product.pk}/price", {"customerPhone": "+573001234567"}).json()
    assert body["customer"]["id"] == str(customer.pk)
    assert body["variations"][0]["price"] == "8500.00"


def test_note_4_both_params_is_400(api, store, product, silver):
    customer = make_customer(store, tier=silver, phone="+573001234567")
    response = api.get(
        f"/products/{product.pk}/price", {"customerId": str(customer.pk), "customerPhone": "+573001234567"}
    )
    assert_error(response, 400, "bad_request")


def test_neither_param_gives_base_prices_and_null_customer(api, product):
    body = api.get(f"/products/{product.pk}/price").json()
    assert body["customer"] is None
    assert [(v["price"], v["appliedTier"]) for v in body["variations"]] == [("10000.00", None), ("27000.00", None)]


def test_invalid_params(api, store, other_store, product):
    assert_error(api.get(f"/products/{product.pk}/price", {"customerPhone": "3001234567"}), 422, "validation_error")
    assert_error(api.get(f"/products/{product.pk}/price", {"customerId": "nope"}), 422, "validation_error")
    assert_error(api.get(f"/products/{product.pk}/price", {"customerId": str(uuid.uuid4())}), 404, "not_found")
    foreign = make_customer(other_store)
    assert_error(api.get(f"/products/{product.pk}/price", {"customerId": str(foreign.pk)}), 404, "not_found")


def test_the_rule_is_one_function(store, product, silver):
    """The endpoint renders catalog.pricing's quotes; orders call the same module."""
    variations = list(product.variations.order_by("position"))
    quotes = quote_variations(variations=variations, tier=silver)
    assert [(q.price, q.applied_tier) for q in quotes] == [(Decimal("8500.00"), silver), (Decimal("27000.00"), None)]
    prices = tier_prices_for(variation_ids=[variations[0].pk], tier=silver)
    assert quote_variation(variation=variations[0], tier=None, tier_prices=prices).price == Decimal("10000.00")


# --- the fast path (hand-written SQL on PostgreSQL): same bodies, same errors, 1 query -----------------
def test_quote_is_one_query_after_the_token(api, store, product, silver, django_assert_num_queries):
    """The customer with its tier, the product, its variations and the tier's explicit prices: one
    statement (wallets/sql.py QUOTE_BY_*, issue 15). Nothing per variation."""
    customer = make_customer(store, tier=silver, phone="+573001234567")
    url = f"/products/{product.pk}/price"
    api.get(url)  # the token's last_used_at is written once, on its first use
    with django_assert_num_queries(1):
        assert api.get(url, {"customerPhone": "+573001234567"}).json()["variations"][0]["price"] == "8500.00"
    with django_assert_num_queries(1):
        assert api.get(url, {"customerId": str(customer.pk)}).json()["customer"]["tier"]["name"] == "Silver"
    with django_assert_num_queries(1):  # product + variations
        assert api.get(url).json()["customer"] is None
    with django_assert_num_queries(1):  # an unknown customer is known from the same statement
        assert api.get(url, {"customerPhone": "+573009999999"}).json()["code"] == "phone_not_linked"


def test_fast_quote_equals_the_orm_quote(api, store, product, silver):
    """product_price_quote_by_id (one SQL statement, Variation.from_db) renders exactly what the ORM path
    (product_price_quote) renders, tier or not, explicit price or not."""
    from catalog.selectors import product_price_quote, product_price_quote_by_id
    from wallets.selectors import customer_get

    gold = make_tier(store, "Gold", 3)
    third = product.variations.create(
        store=store, sku="SUB-6M", price=Decimal("50000.00"), position=0, depends_on_stock=True
    )
    third.tier_prices.create(store=store, tier=gold, price=Decimal("40000.00"))
    for tier in (silver, gold, None):
        customer = customer_get(store=store, customer_id=make_customer(store, tier=tier).pk)
        for who in (customer, None):
            fast = product_price_quote_by_id(store=store, product_id=product.pk, customer=who)
            assert fast == product_price_quote(store=store, product=product, customer=who)
    # Ordered like the detail view (position, created_at, id).
    detail = api.get(f"/products/{product.pk}").json()
    assert [v["sku"] for v in fast["variations"]] == [v["sku"] for v in detail["variations"]]
    assert [v["sku"] for v in fast["variations"]] == ["SUB-1M", "SUB-6M", "SUB-3M"]


def test_customer_lookups_load_the_tier_and_the_store_without_more_queries(store, silver, django_assert_num_queries):
    from wallets.selectors import customer_by_linked_phone, customer_get

    created = make_customer(store, tier=silver, phone="+573001234567", name="Ana")
    with django_assert_num_queries(1):
        customer = customer_by_linked_phone(store=store, phone="+573001234567")
        assert (customer.pk, customer.name, customer.phone, customer.phone_linked_at) == (
            created.pk,
            "Ana",
            "+573001234567",
            created.phone_linked_at,
        )
        assert (customer.tier.pk, customer.tier.name, customer.tier.level) == (silver.pk, "Silver", 2)
        assert customer.store.currency == store.currency
    untiered = make_customer(store, tier=None)
    with django_assert_num_queries(1):
        assert customer_get(store=store, customer_id=untiered.pk).tier is None


def test_a_product_without_variations_quotes_an_empty_list(api, store, product):
    product.variations.all().delete()
    body = api.get(f"/products/{product.pk}/price").json()
    assert body["productId"] == str(product.pk) and body["variations"] == []


def test_unknown_product_is_404_before_any_customer_error(api, store, other_store, product, silver):
    make_customer(store, tier=silver, phone="+573001234567", linked=False)
    foreign_product = make_product(other_store, sku="FOREIGN")
    for product_id in (uuid.uuid4(), foreign_product.pk):
        url = f"/products/{product_id}/price"
        for params in (
            {},
            {"customerPhone": "+573001234567"},  # not linked
            {"customerPhone": "3001234567"},  # invalid
            {"customerId": "nope"},
            {"customerId": str(uuid.uuid4())},
            {"customerId": str(uuid.uuid4()), "customerPhone": "+573001234567"},  # both
        ):
            body = assert_error(api.get(url, params), 404, "not_found")
            assert body["message"] == "Product not found"
