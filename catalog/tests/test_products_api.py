"""Products API: shapes (API.md §2 + seed 001), create/patch/delete, conflicts, validation, tenancy, events."""

import re
import uuid
from decimal import Decimal

import pytest

from catalog.models import Category, PriceTier, Product, TierPrice, Variation
from catalog.tests.factories import add_available_licenses, make_category, make_product, make_tier
from conftest import assert_error
from nuvlyx.core.models import Event

pytestmark = pytest.mark.django_db

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LIST_KEYS = {"id", "name", "slug", "kind", "status", "variations", "createdAt"}
LIST_VARIATION_KEYS = {"id", "sku", "name", "price", "stockQuantity", "durationDays", "dependsOnStock"}
DETAIL_KEYS = LIST_KEYS | {"description", "postSaleInstructions", "categories", "updatedAt"}
DETAIL_VARIATION_KEYS = LIST_VARIATION_KEYS | {"tierPrices"}


def product_body(**overrides):
    body = {
        "name": "1-month digital subscription",
        "description": "Premium plan",
        "postSaleInstructions": "Log in with the credentials below.",
        "variations": [{"sku": "SUB-1M", "name": "1 month", "price": "10000.00", "durationDays": 30}],
    }
    body.update(overrides)
    return body


# --- shapes -------------------------------------------------------------------------------------
def test_list_matches_the_seed_shape_field_for_field(api, store):
    product = make_product(store)
    add_available_licenses(product.variations.get(), 42)

    response = api.get("/products")

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    item = body[0]
    assert set(item) == LIST_KEYS
    assert item["id"] == str(product.pk)
    assert item["name"] == "1-month digital subscription"
    assert item["slug"] == "1-month-digital-subscription"
    assert item["kind"] == "DIGITAL"
    assert item["status"] == "ACTIVE"
    assert ISO.match(item["createdAt"])
    (variation,) = item["variations"]
    assert set(variation) == LIST_VARIATION_KEYS
    assert variation["sku"] == "SUB-1M"
    assert variation["name"] == "1 month"
    assert variation["price"] == "10000.00"
    assert variation["stockQuantity"] == 42
    assert variation["durationDays"] == 30
    assert variation["dependsOnStock"] is True
    uuid.UUID(variation["id"])


def test_detail_has_categories_variations_and_tier_prices(api, store):
    silver = make_tier(store, "Silver", 2)
    gold = make_tier(store, "Gold", 3)
    category = make_category(store, "Streaming")
    product = make_product(
        store,
        tier_prices=[(gold, "8000.00"), (silver, "8500.00")],
        category_ids=[category.pk],
        description="Premium plan",
        post_sale_instructions="Enjoy",
    )

    response = api.get(f"/products/{product.pk}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == DETAIL_KEYS
    assert body["description"] == "Premium plan"
    assert body["postSaleInstructions"] == "Enjoy"
    assert body["categories"] == [{"id": str(category.pk), "name": "Streaming", "slug": "streaming"}]
    assert ISO.match(body["createdAt"]) and ISO.match(body["updatedAt"])
    (variation,) = body["variations"]
    assert set(variation) == DETAIL_VARIATION_KEYS
    assert variation["tierPrices"] == [
        {"tier": {"id": str(silver.pk), "name": "Silver", "level": 2}, "price": "8500.00"},
        {"tier": {"id": str(gold.pk), "name": "Gold", "level": 3}, "price": "8000.00"},
    ]


def test_unknown_and_uppercase_ids(api, store):
    product = make_product(store)
    assert api.get(f"/products/{str(product.pk).upper()}").status_code == 200
    assert_error(api.get(f"/products/{uuid.uuid4()}"), 404, "not_found")
    assert_error(api.get("/products/not-a-uuid"), 404, "not_found")


# --- stock --------------------------------------------------------------------------------------
def test_stock_quantity_counts_available_licenses_when_depends_on_stock(api, store):
    product = make_product(
        store,
        variations=[
            {"sku": "A", "price": Decimal("1.00"), "depends_on_stock": True},
            {"sku": "B", "price": Decimal("2.00"), "depends_on_stock": False},
            {"sku": "C", "price": Decimal("3.00")},
        ],
    )
    a, b, _c = product.variations.order_by("position")
    add_available_licenses(a, 3)
    add_available_licenses(b, 5)

    listed = {v["sku"]: v for v in api.get("/products").json()[0]["variations"]}
    detailed = {v["sku"]: v for v in api.get(f"/products/{product.pk}").json()["variations"]}

    for view in (listed, detailed):
        assert view["A"]["stockQuantity"] == 3
        assert view["B"]["stockQuantity"] is None
        assert view["B"]["dependsOnStock"] is False
        assert view["C"]["stockQuantity"] == 0  # depends on stock by default (DIGITAL), none loaded


def test_service_products_do_not_depend_on_stock_by_default(api):
    body = product_body(kind="SERVICE")
    created = api.post("/products", body).json()
    assert created["kind"] == "SERVICE"
    assert created["variations"][0]["dependsOnStock"] is False
    assert created["variations"][0]["stockQuantity"] is None


# --- filters ------------------------------------------------------------------------------------
def test_filters(api, store):
    category = make_category(store, "Music")
    music = make_product(store, name="Music Premium", sku="MUS-1", category_ids=[category.pk])
    video = make_product(store, name="Video", sku="VID-1", kind="SERVICE", status="INACTIVE")

    def ids(params):
        response = api.get("/products", params)
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()}

    assert ids({}) == {str(music.pk), str(video.pk)}
    assert ids({"status": "INACTIVE"}) == {str(video.pk)}
    assert ids({"kind": "DIGITAL"}) == {str(music.pk)}
    assert ids({"categoryId": str(category.pk)}) == {str(music.pk)}
    assert ids({"search": "premium"}) == {str(music.pk)}
    assert ids({"search": "vid-"}) == {str(video.pk)}  # sku
    assert ids({"search": "music-prem"}) == {str(music.pk)}  # slug
    assert ids({"categoryId": str(uuid.uuid4())}) == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "active"}, "status"), ({"kind": "BOOK"}, "kind"), ({"categoryId": "nope"}, "categoryId")],
)
def test_bad_filters_are_422(api, params, field):
    body = assert_error(api.get("/products", params), 422, "validation_error")
    assert body["errors"][0]["field"] == field


# --- create -------------------------------------------------------------------------------------
def test_create_returns_201_and_the_detail_shape(api, store):
    tier = make_tier(store)
    category = make_category(store)
    body = product_body(
        categoryIds=[str(category.pk)],
        variations=[
            {
                "sku": "SUB-1M",
                "name": "1 month",
                "price": "10000.00",
                "durationDays": 30,
                "tierPrices": [{"tierId": str(tier.pk), "price": "8500.00"}],
            },
            {"sku": "SUB-3M", "price": 27000, "dependsOnStock": False},
        ],
    )

    response = api.post("/products", body)

    assert response.status_code == 201, response.content
    created = response.json()
    assert created == api.get(f"/products/{created['id']}").json()
    assert created["slug"] == "1-month-digital-subscription"
    assert created["kind"] == "DIGITAL" and created["status"] == "ACTIVE"
    assert created["categories"][0]["id"] == str(category.pk)
    first, second = created["variations"]
    assert first["tierPrices"] == [{"tier": {"id": str(tier.pk), "name": "Silver", "level": 2}, "price": "8500.00"}]
    assert second["price"] == "27000.00"
    assert second["name"] == "" and second["durationDays"] is None and second["dependsOnStock"] is False


def test_derived_slug_is_made_unique_and_explicit_duplicate_is_409(api):
    first = api.post("/products", product_body()).json()
    second = api.post("/products", product_body(variations=[{"sku": "X2", "price": "1.00"}])).json()
    assert first["slug"] == "1-month-digital-subscription"
    assert second["slug"] == "1-month-digital-subscription-2"

    response = api.post("/products", product_body(slug=first["slug"], variations=[{"sku": "X3", "price": "1.00"}]))
    assert_error(response, 409, "conflict")
    assert Product.objects.count() == 2


def test_duplicate_sku_is_409_and_writes_nothing(api, store):
    make_product(store, sku="SUB-1M")
    events = Event.objects.count()
    response = api.post("/products", product_body(name="Other"))
    assert_error(response, 409, "conflict")
    assert Product.objects.count() == 1
    assert Event.objects.count() == events


def test_same_sku_in_another_store_is_fine(api, other_store):
    make_product(other_store, sku="SUB-1M")
    assert api.post("/products", product_body()).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"variations": [{"sku": "A", "price": "1.00"}]}, "name"),
        (product_body(name=""), "name"),
        (product_body(name="x" * 201), "name"),
        (product_body(name=12), "name"),
        (product_body(slug="Not A Slug"), "slug"),
        (product_body(kind="BOOK"), "kind"),
        (product_body(status="DELETED"), "status"),
        (product_body(description="x" * 10_001), "description"),
        (product_body(variations=[]), "variations"),
        (product_body(variations=[{"sku": f"S{i}", "price": "1.00"} for i in range(51)]), "variations"),
        (product_body(variations=[{"price": "1.00"}]), "variations[0].sku"),
        (product_body(variations=[{"sku": "x" * 65, "price": "1.00"}]), "variations[0].sku"),
        (product_body(variations=[{"sku": "A"}]), "variations[0].price"),
        (product_body(variations=[{"sku": "A", "price": "1.001"}]), "variations[0].price"),
        (product_body(variations=[{"sku": "A", "price": "-1.00"}]), "variations[0].price"),
        (product_body(variations=[{"sku": "A", "price": "1.5e3"}]), "variations[0].price"),
        (product_body(variations=[{"sku": "A", "price": "1.00", "durationDays": "30"}]), "variations[0].durationDays"),
        (
            product_body(variations=[{"sku": "A", "price": "1.00", "dependsOnStock": "yes"}]),
            "variations[0].dependsOnStock",
        ),
        (product_body(variations=[{"sku": "A", "price": "1"}, {"sku": "A", "price": "2"}]), "variations[1].sku"),
        (product_body(categoryIds=["nope"]), "categoryIds[0]"),
        (product_body(categoryIds=[str(uuid.uuid4())]), "categoryIds[0]"),
        (
            product_body(variations=[{"sku": "A", "price": "1.00", "tierPrices": [{"tierId": 5, "price": "1.00"}]}]),
            "variations[0].tierPrices[0].tierId",
        ),
    ],
)
def test_invalid_create_is_422_with_field_errors_and_writes_nothing(api, body, field):
    response = api.post("/products", body)
    error = assert_error(response, 422, "validation_error")
    assert field in [e["field"] for e in error["errors"]], error
    assert Product.objects.count() == 0
    assert Variation.objects.count() == 0
    assert Event.objects.filter(type__startswith="product.").count() == 0


def test_ids_of_another_store_in_the_body_are_422_naming_the_field(api, store, other_store):
    own_tier = make_tier(store, "Silver", 2)
    foreign_tier = make_tier(other_store, "Gold", 3)
    foreign_category = make_category(other_store, "Foreign")
    body = product_body(
        categoryIds=[str(foreign_category.pk)],
        variations=[
            {
                "sku": "A",
                "price": "1.00",
                "tierPrices": [
                    {"tierId": str(own_tier.pk), "price": "1.00"},
                    {"tierId": str(foreign_tier.pk), "price": "1.00"},
                ],
            }
        ],
    )
    error = assert_error(api.post("/products", body), 422, "validation_error")
    fields = {e["field"] for e in error["errors"]}
    assert "categoryIds[0]" in fields or "variations[0].tierPrices[1].tierId" in fields
    body.pop("categoryIds")
    error = assert_error(api.post("/products", body), 422, "validation_error")
    assert [e["field"] for e in error["errors"]] == ["variations[0].tierPrices[1].tierId"]
    assert not Product.objects.exists() and not TierPrice.objects.exists()


def test_malformed_json_is_400(api):
    assert_error(api.post("/products", raw=b"{not json"), 400, "bad_request")


# --- patch --------------------------------------------------------------------------------------
def test_patch_updates_listed_variations_adds_new_ones_and_deletes_none(api, store):
    tier = make_tier(store)
    category = make_category(store)
    product = make_product(
        store, variations=[{"sku": "A", "price": Decimal("1.00")}, {"sku": "B", "price": Decimal("2.00")}]
    )
    a, b = product.variations.order_by("position")

    response = api.patch(
        f"/products/{product.pk}",
        {
            "name": "Renamed",
            "status": "INACTIVE",
            "categoryIds": [str(category.pk)],
            "variations": [
                {"id": str(a.pk), "price": "1.50", "tierPrices": [{"tierId": str(tier.pk), "price": "1.25"}]},
                {"sku": "C", "price": "3.00"},
            ],
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body == api.get(f"/products/{product.pk}").json()
    assert body["name"] == "Renamed" and body["status"] == "INACTIVE"
    assert body["slug"] == product.slug  # the slug does not follow the name
    assert [c["id"] for c in body["categories"]] == [str(category.pk)]
    assert [(v["sku"], v["price"]) for v in body["variations"]] == [("A", "1.50"), ("B", "2.00"), ("C", "3.00")]
    assert body["variations"][0]["tierPrices"][0]["price"] == "1.25"
    assert body["variations"][1]["id"] == str(b.pk)


def test_patch_can_swap_skus(api, store):
    product = make_product(
        store, variations=[{"sku": "A", "price": Decimal("1.00")}, {"sku": "B", "price": Decimal("2.00")}]
    )
    a, b = product.variations.order_by("position")
    response = api.patch(
        f"/products/{product.pk}",
        {
            "variations": [{"id": str(a.pk), "sku": "B"}, {"id": str(b.pk), "sku": "A"}],
        },
    )
    assert response.status_code == 200, response.content
    assert [v["sku"] for v in response.json()["variations"]] == ["B", "A"]


def test_patch_errors(api, store, other_store):
    product = make_product(store, sku="A")
    other = make_product(store, name="Other", sku="B")
    foreign = make_product(other_store, name="Foreign", sku="F")
    foreign_variation = foreign.variations.get()

    error = assert_error(
        api.patch(f"/products/{product.pk}", {"variations": [{"id": str(uuid.uuid4()), "price": "1.00"}]}), 422
    )
    assert error["errors"][0]["field"] == "variations[0].id"
    error = assert_error(
        api.patch(f"/products/{product.pk}", {"variations": [{"id": str(foreign_variation.pk), "price": "1.00"}]}),
        422,
    )
    assert error["errors"][0]["field"] == "variations[0].id"
    error = assert_error(api.patch(f"/products/{product.pk}", {"variations": [{"name": "new"}]}), 422)
    assert {e["field"] for e in error["errors"]} == {"variations[0].sku", "variations[0].price"}
    assert_error(api.patch(f"/products/{product.pk}", {"slug": other.slug}), 409, "conflict")
    assert_error(api.patch(f"/products/{product.pk}", {"variations": [{"sku": "B", "price": "1"}]}), 409, "conflict")
    assert_error(api.patch(f"/products/{product.pk}", {"name": None}), 422, "validation_error")
    product.refresh_from_db()
    assert product.variations.count() == 1 and product.name == "1-month digital subscription"


# --- delete -------------------------------------------------------------------------------------
def test_delete_without_orders_removes_the_product(api, store):
    product = make_product(store)
    response = api.delete(f"/products/{product.pk}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api.get(f"/products/{product.pk}"), 404, "not_found")
    assert not Variation.objects.filter(product_id=product.pk).exists()


def test_delete_with_orders_archives(api, store):
    from orders.models import Order, OrderItem
    from wallets.tests.factories import make_customer

    product = make_product(store)
    variation = product.variations.get()
    customer = make_customer(store)
    order = Order.objects.create(
        store=store, number=1, customer=customer, status="COMPLETED", total_amount=Decimal("10000.00"), currency="COP"
    )
    OrderItem.objects.create(
        store=store,
        order=order,
        product=product,
        variation=variation,
        product_name=product.name,
        sku=variation.sku,
        price_paid=Decimal("10000.00"),
    )

    assert api.delete(f"/products/{product.pk}").status_code == 204

    body = api.get(f"/products/{product.pk}").json()
    assert body["status"] == "ARCHIVED"
    event = Event.objects.get(type="product.deleted")
    assert event.payload["data"] == body


# --- events -------------------------------------------------------------------------------------
def test_events_carry_the_product_as_get_renders_it(api):
    created = api.post("/products", product_body()).json()
    event = Event.objects.get(type="product.created")
    assert event.payload["data"] == created
    assert event.payload["type"] == "product.created"

    updated = api.patch(f"/products/{created['id']}", {"name": "New name"}).json()
    event = Event.objects.get(type="product.updated")
    assert event.payload["data"] == updated

    api.delete(f"/products/{created['id']}")
    event = Event.objects.get(type="product.deleted")
    assert event.payload["data"] == updated | {"updatedAt": event.payload["data"]["updatedAt"]}
    assert event.payload["data"]["status"] == "ACTIVE"


# --- tenancy and scopes ---------------------------------------------------------------------------
def test_another_stores_product_is_404_on_every_route(api, other_store):
    foreign = make_product(other_store)
    path = f"/products/{foreign.pk}"
    assert_error(api.get(path), 404, "not_found")
    assert_error(api.patch(path, {"name": "mine now"}), 404, "not_found")
    assert_error(api.delete(path), 404, "not_found")
    assert_error(api.get(path + "/price"), 404, "not_found")
    assert str(foreign.pk) not in api.get("/products").content.decode()
    foreign.refresh_from_db()
    assert foreign.name == "1-month digital subscription" and foreign.status == "ACTIVE"


def test_another_stores_category_filter_finds_nothing(api, other_store):
    make_product(other_store, category_ids=[make_category(other_store).pk])
    category = Category.objects.get()
    assert api.get("/products", {"categoryId": str(category.pk)}).json() == []


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "/products", "products:read"),
        ("get", "/products/{id}", "products:read"),
        ("get", "/products/{id}/price", "products:read"),
        ("post", "/products", "products:write"),
        ("patch", "/products/{id}", "products:write"),
        ("delete", "/products/{id}", "products:write"),
        ("get", "/categories", "products:read"),
        ("post", "/categories", "products:write"),
        ("get", "/price-tiers", "products:read"),
        ("post", "/price-tiers", "products:write"),
    ],
)
def test_scope_matrix(api_for, store, method, path, scope):
    product = make_product(store)
    path = path.format(id=product.pk)
    other = {"products:read": "products:write", "products:write": "products:read"}[scope]
    wrong = api_for(store, scopes=[other, "orders:read"])
    body = {"name": "X", "level": 9, "variations": [{"sku": "Z", "price": "1"}]}
    response = getattr(wrong, method)(path, body) if method in ("post", "patch") else getattr(wrong, method)(path)
    error = assert_error(response, 403, "forbidden")
    assert scope in error["message"]
    right = api_for(store, scopes=[scope])
    response = getattr(right, method)(path, body) if method in ("post", "patch") else getattr(right, method)(path)
    assert response.status_code in (200, 201, 204), response.content


def test_without_token_is_401(client):
    response = client.get("/api/v1/external/products")
    assert_error(response, 401, "unauthorized")


def test_put_is_405(api, store):
    product = make_product(store)
    assert api.put(f"/products/{product.pk}", {"name": "x"}).status_code == 405


def test_price_tier_model_unchanged_count(store):
    # Guard for the factories: tiers are per store.
    make_tier(store, "Silver", 2)
    assert PriceTier.objects.for_store(store).count() == 1
