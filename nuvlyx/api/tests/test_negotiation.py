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
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=xml"])
def test_same_choice_as_drf(accept, query):
    assert _select(JSONContentNegotiation(), accept, query) == _select(DefaultContentNegotiation(), accept, query)


def test_settings_use_it(api):
    response = api.get("/me", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert_error(api.get("/me", headers={"Accept": "text/html"}), 406)
