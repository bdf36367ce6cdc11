"""The Accept shortcut (JSONContentNegotiation) answers exactly what DRF's own negotiation would."""

import pytest
from django.test import RequestFactory
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request

from conftest import assert_error
from nuvlyx.api.renderers import FastJSONRenderer, JSONContentNegotiation

ACCEPTS = [
    None,
    "",
    "*/*",
    "application/json",
    " application/json ",
    "application/*",
    "application/json; indent=4",
    "text/html",
    "text/html, */*;q=0.1",
    "application/xml",
    "application/json;q=0, */*",
]


def _select(negotiation, accept, query=""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().get(f"/x{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, [FastJSONRenderer()])
    except Exception as exc:  # DRF's 406 / 404 for an unknown format
        return type(exc).__name__
    if getattr(request, "not_acceptable", None) is not None:  # ours: the same 406, raised after auth
        return type(request.not_acceptable).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=xml"])
def test_same_choice_as_drf(accept, query):
    assert _select(JSONContentNegotiation(), accept, query) == _select(DefaultContentNegotiation(), accept, query)


def test_settings_use_it(api):
    response = api.get("/me", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert_error(api.get("/me", headers={"Accept": "text/html"}), 406)


def test_406_comes_after_authentication_scope_and_rate_limit(client, api_for, store):
    """API.md's order of checks: 401 → 403 → 429 → the rest; DRF would answer 406 before all of them."""
    html = {"HTTP_ACCEPT": "text/html"}
    assert_error(client.get("/api/v1/external/customers", **html), 401, "unauthorized")
    reader = api_for(store, scopes=["products:read"], rate_limit_per_minute=2)
    assert_error(reader.get("/customers", headers={"Accept": "text/html"}), 403, "forbidden")
    refused = reader.get("/products", headers={"Accept": "text/html"})
    assert_error(refused, 406, "not_acceptable")
    assert refused["X-RateLimit-Remaining"] == "1"  # counted, like any request past the scope check
    assert reader.get("/products").status_code == 200
    assert_error(reader.get("/products", headers={"Accept": "text/html"}), 429, "rate_limited")
