"""Every list's FilterSet (nuvlyx.api.filters): bad values answer the contract's 422 body naming each
bad parameter with one message per kind of value; empty values are ignored like absent ones."""

import pytest

from conftest import assert_error
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

UUID = "Must be a valid UUID."


@pytest.fixture
def lists(store):
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://example.com/hook", events=["order.created"])
    return {
        "/orders": {
            "status": ("DONE", "Must be one of PENDING, PROCESSING, COMPLETED, FAILED, REFUNDED, CANCELLED."),
            "userId": ("nope", UUID),
            "productId": ("nope", UUID),
            "variationId": ("1234", UUID),
            "dateFrom": ("yesterday", "Must be an ISO 8601 date or date-time."),
            "dateTo": ("2026-13-01", "Must be an ISO 8601 date or date-time."),
        },
        "/customers": {
            "search": ("x" * 201, "At most 200 characters."),
            "phone": ("3001234567", None),  # the phone rules' own message
            "tierId": ("abc", UUID),
        },
        "/products": {
            "status": ("active", "Must be one of ACTIVE, INACTIVE, ARCHIVED."),
            "kind": ("BOOK", None),
            "categoryId": ("nope", UUID),
            "search": ("y" * 201, "At most 200 characters."),
        },
        "/inventory/stock": {
            "productId": ("nope", UUID),
            "variationId": ("nope", UUID),
            "lowStock": ("yes", "Must be true or false."),
        },
        f"/webhooks/{endpoint.pk}/deliveries": {"status": ("DONE", None)},
    }


def test_each_bad_value_is_named_with_its_message(api, lists):
    for path, params in lists.items():
        for name, (value, message) in params.items():
            body = assert_error(api.get(path, {name: value}), 422, "validation_error")
            assert [error["field"] for error in body["errors"]] == [name], (path, name)
            if message is not None:
                assert body["errors"][0]["message"] == message, (path, name)
                assert message in body["message"]


def test_all_bad_values_are_reported_at_once_in_declaration_order(api, lists):
    for path, params in lists.items():
        body = assert_error(api.get(path, {name: value for name, (value, _) in params.items()}), 422)
        assert [error["field"] for error in body["errors"]] == list(params), path


def test_empty_values_are_ignored_like_absent_ones(api, lists):
    for path, params in lists.items():
        assert api.get(path, {name: "" for name in params}).status_code == 200, path
