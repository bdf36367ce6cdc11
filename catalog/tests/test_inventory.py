"""GET /inventory/stock and POST /inventory/licenses."""

import uuid

import pytest

from catalog.models import License, Variation
from catalog.tests.factories import make_variation, stock
from conftest import assert_error
from nuvlyx.core.crypto import decrypt

pytestmark = pytest.mark.django_db


def upload(api, variation, values):
    return api.post(
        "/inventory/licenses", {"variationId": str(variation.pk), "licenses": [{"credentials": v} for v in values]}
    )


def test_upload_creates_encrypted_licenses_and_skips_duplicates(api, store):
    variation = make_variation(store)

    response = upload(api, variation, ["a@x.io:1", "b@x.io:2", "a@x.io:1"])

    assert response.status_code == 201, response.content
    assert response.json() == {
        "variationId": str(variation.pk),
        "created": 2,
        "duplicatesSkipped": 1,
        "availableStock": 2,
    }
    rows = list(License.objects.filter(variation=variation))
    assert sorted(decrypt(r.credentials_encrypted) for r in rows) == ["a@x.io:1", "b@x.io:2"]
    assert all("x.io" not in r.credentials_encrypted and "x.io" not in r.credentials_hash for r in rows)
    assert all(r.status == "AVAILABLE" and r.store_id == store.pk for r in rows)

    again = upload(api, variation, ["b@x.io:2", "c@x.io:3"])
    assert again.json() == {"variationId": str(variation.pk), "created": 1, "duplicatesSkipped": 1, "availableStock": 3}
    variation.refresh_from_db()
    assert variation.stock_available == License.objects.filter(variation=variation, status="AVAILABLE").count()


def test_same_credentials_in_another_variation_are_not_duplicates(api, store):
    a, b = make_variation(store), make_variation(store)
    upload(api, a, ["same"])
    assert upload(api, b, ["same"]).json()["created"] == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"licenses": [{"credentials": "x"}]}, "variationId"),
        ({"variationId": "nope", "licenses": [{"credentials": "x"}]}, "variationId"),
        ({"variationId": "VAR", "licenses": []}, "licenses"),
        ({"variationId": "VAR", "licenses": [{"credentials": "x"}] * 1001}, "licenses"),
        ({"variationId": "VAR", "licenses": [{"credentials": ""}]}, "licenses[0].credentials"),
        ({"variationId": "VAR", "licenses": [{"credentials": "x" * 4097}]}, "licenses[0].credentials"),
        ({"variationId": "VAR", "licenses": [{"credentials": 12}]}, "licenses[0].credentials"),
        ({"variationId": "VAR", "licenses": [{}]}, "licenses[0].credentials"),
        ({"variationId": "VAR", "licenses": "abc"}, "licenses"),
    ],
)
def test_upload_validation(api, store, body, field):
    variation = make_variation(store)
    if body.get("variationId") == "VAR":
        body = {**body, "variationId": str(variation.pk)}
    err = assert_error(api.post("/inventory/licenses", body), 422, "validation_error")
    assert err["errors"][0]["field"] == field
    assert License.objects.count() == 0


def test_upload_max_length_and_max_count_accepted(api, store):
    variation = make_variation(store)
    response = upload(api, variation, [f"key-{i}" for i in range(1000)])
    assert response.status_code == 201, response.content[:300]
    assert response.json()["created"] == 1000
    # 4096 characters each (the body limit of 1 MB caps how many fit in one call)
    response = upload(api, variation, [f"{i:04d}" + "x" * 4092 for i in range(200)])
    assert response.status_code == 201, response.content[:300]
    assert response.json()["availableStock"] == 1200


@pytest.mark.parametrize("which", ["unknown", "other_store"])
def test_upload_unknown_or_foreign_variation_is_422_naming_variation_id(api, store, other_store, which):
    variation_id = uuid.uuid4() if which == "unknown" else make_variation(other_store).pk
    err = assert_error(
        api.post("/inventory/licenses", {"variationId": str(variation_id), "licenses": [{"credentials": "x"}]}), 422
    )
    assert err["errors"] == [{"field": "variationId", "message": err["errors"][0]["message"]}]
    assert License.objects.count() == 0


def test_scopes(api_for, store):
    variation = make_variation(store)
    reader = api_for(store, scopes=["inventory:read"])
    writer = api_for(store, scopes=["inventory:write"])
    assert_error(upload(reader, variation, ["x"]), 403, "forbidden")
    assert_error(writer.get("/inventory/stock"), 403, "forbidden")
    assert upload(writer, variation, ["x"]).status_code == 201
    assert reader.get("/inventory/stock").status_code == 200


def test_stock_lists_every_variation_with_filters(api, store, other_store):
    low = make_variation(store, low_stock_threshold=5)
    stock(low, 2)
    fine = make_variation(store, low_stock_threshold=1)
    stock(fine, 3)
    unlimited = make_variation(store, depends_on_stock=False, low_stock_threshold=10)
    make_variation(other_store)

    response = api.get("/inventory/stock")

    assert response.status_code == 200
    rows = response.json()
    assert isinstance(rows, list) and len(rows) == 3
    by_id = {row["variationId"]: row for row in rows}
    assert by_id[str(low.pk)] == {
        "productId": str(low.product_id),
        "productName": low.product.name,
        "variationId": str(low.pk),
        "sku": low.sku,
        "dependsOnStock": True,
        "available": 2,
        "delivered": 0,
        "lowStockThreshold": 5,
    }
    assert by_id[str(unlimited.pk)]["dependsOnStock"] is False

    def ids(**params):
        response = api.get("/inventory/stock", params)
        assert response.status_code == 200, response.content
        return {row["variationId"] for row in response.json()}

    assert ids(lowStock="true") == {str(low.pk)}
    assert ids(lowStock="false") == {str(fine.pk), str(unlimited.pk)}
    assert ids(productId=str(fine.product_id)) == {str(fine.pk)}
    assert ids(variationId=str(low.pk)) == {str(low.pk)}
    assert ids(variationId=str(uuid.uuid4())) == set()
    for name in ("productId", "variationId", "lowStock"):
        err = assert_error(api.get("/inventory/stock", {name: "nope"}), 422, "validation_error")
        assert err["errors"][0]["field"] == name


def test_stock_query_count_is_constant(api, store, django_assert_num_queries):
    for _ in range(3):
        make_variation(store)
    api.get("/inventory/stock")
    with django_assert_num_queries(1):  # one query (the token is cached)
        assert len(api.get("/inventory/stock").json()) == 3
    for _ in range(20):
        make_variation(store)
    with django_assert_num_queries(1):
        assert len(api.get("/inventory/stock").json()) == 23
    assert Variation.objects.count() == 23
