"""The route matrix, generated from the external API's URLconf: every (route, method) is checked for

1. a declared scope (a new route without one fails here), the same one openapi.yaml states
   (`x-required-scope`);
2. a token with every scope but that one → 403 `forbidden` with the contract's body, naming the scope;
3. tenancy: path parameters filled with ids of ANOTHER store's objects → 404 (`not_found`, or
   `phone_not_linked` for a phone), never 200/403/500, and nothing changes in either store. Every
   parameter is also tried alone (the others being the caller's own objects).

(3) runs over the store pairs (store, other store), (store, its sandbox) and (sandbox, its store):
test mode's promise that a test token never reaches live data and the other way round.

Path parameters come from build_world() (worlds.py), keyed by "<path segment before the parameter>/<parameter>": a new
route with a parameter nobody gave a sample for fails loudly until one is added here.
"""

import uuid
from dataclasses import dataclass

import pytest
import yaml
from django.urls import URLPattern, URLResolver, get_resolver

from conftest import assert_error
from nuvlyx.api.permissions import ANY_SCOPE, SCOPES, required_scope

from .worlds import build_world, world_state

API_URLCONF = "nuvlyx.api.urls"
PUBLIC_ROUTES = {"openapi.json", "docs", "docs/redoc.standalone.js"}  # no token (documented as such)
ANY_SCOPE_ROUTES = {"me"}  # any valid token may call these
METHODS = ("get", "post", "put", "patch", "delete")

# A body that passes validation, per route name: so a 404 can only come from the lookup.
VALID_BODIES = {
    ("patch", "product-detail"): {"name": "Renamed"},
    ("patch", "customer"): {"name": "Renamed"},
    ("post", "customer-wallet-recharge"): {"amount": "10.00"},
    ("post", "customer-by-phone-wallet-recharge"): {"amount": "10.00"},
    ("patch", "webhook"): {"description": "renamed"},
    # Issue 16 (POST /orders/:id/items/:itemId/replace): {"reason": "..."} goes here with its route.
    ("post", "order-item-replace"): {"reason": "broken account"},
}


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "customers/<id:pk>/wallet"
    name: str
    view_class: type
    actions: dict  # method → viewset action (empty for APIViews)
    initkwargs: dict

    @property
    def params(self) -> list[tuple[str, str]]:
        """[(sample key, kwarg name)] in path order."""
        found = []
        segments = self.template.split("/")
        for index, segment in enumerate(segments):
            if segment.startswith("<"):
                kwarg = segment.strip("<>").split(":")[-1]
                found.append((f"{segments[index - 1]}/{kwarg}", kwarg))
        return found

    def methods(self) -> list[str]:
        if self.actions:
            return [m for m in METHODS if m in self.actions]
        allowed = self.initkwargs.get("http_method_names", self.view_class.http_method_names)
        return [m for m in METHODS if m in allowed and hasattr(self.view_class, m)]

    def scope(self, method: str) -> str | None:
        view = self.view_class(**{k: v for k, v in self.initkwargs.items() if k != "http_method_names"})
        view.action = self.actions.get(method)
        request = type("Request", (), {"method": method.upper()})()
        return required_scope(request, view)

    def path(self, values: dict) -> str:
        out = []
        for segment in self.template.split("/"):
            if segment.startswith("<"):
                kwarg = segment.strip("<>").split(":")[-1]
                out.append(str(values[kwarg]))
            else:
                out.append(segment)
        return "/" + "/".join(out)


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def api_routes() -> list[Route]:
    routes = []
    for template, pattern in _walk(get_resolver(API_URLCONF).url_patterns):
        if template.startswith("^") or template in PUBLIC_ROUTES:  # the JSON 404 catch-all; public docs
            continue
        callback = pattern.callback
        routes.append(
            Route(
                template=template,
                name=pattern.name or template,
                view_class=callback.cls,
                actions=dict(getattr(callback, "actions", None) or {}),
                initkwargs=dict(getattr(callback, "initkwargs", None) or {}),
            )
        )
    return routes


ROUTES = api_routes()
ROUTE_METHODS = [(route, method) for route in ROUTES for method in route.methods()]
PARAM_ROUTE_METHODS = [(route, method) for route, method in ROUTE_METHODS if route.params]


def _id(value) -> str:
    if isinstance(value, tuple):
        route, method = value
        return f"{method.upper()} /{route.template}"
    return str(value)


def _openapi_path(template: str) -> str:
    path = "/" + template
    for segment in template.split("/"):
        if segment.startswith("<"):
            kwarg = segment.strip("<>").split(":")[-1]
            name = {"pk": "id", "delivery_id": "deliveryId", "item_id": "itemId"}.get(kwarg, kwarg)
            path = path.replace(segment, "{" + name + "}")
    return path


def test_the_matrix_sees_every_route():
    """The walk really covers the API (a broken walk would make every other test vacuous)."""
    templates = {route.template for route in ROUTES}
    assert {"me", "products", "orders/<id:pk>/refund", "sandbox/reset"} <= templates, templates
    assert len(ROUTE_METHODS) >= 30


# --- 1. every route declares its scope -----------------------------------------------------------
@pytest.mark.parametrize("route_method", ROUTE_METHODS, ids=_id)
def test_every_route_declares_a_scope_and_openapi_states_it(route_method):
    route, method = route_method
    scope = route.scope(method)
    assert scope is not None, f"{method.upper()} /{route.template} declares no scope (read_scope/write_scope)"
    if scope == ANY_SCOPE:
        assert route.template in ANY_SCOPE_ROUTES, f"{method.upper()} /{route.template} is open to any token"
    else:
        assert scope in SCOPES, scope
    from pathlib import Path

    document = yaml.safe_load((Path(__file__).resolve().parents[1] / "openapi.yaml").read_text())
    operation = document["paths"][_openapi_path(route.template)][method]
    assert operation["x-required-scope"] == scope


# --- 2. a token without the scope gets 403 ---------------------------------------------------------
@pytest.mark.parametrize(
    "route_method", [rm for rm in ROUTE_METHODS if rm[0].template not in ANY_SCOPE_ROUTES], ids=_id
)
def test_token_without_the_scope_gets_403(route_method, api_for, store):
    route, method = route_method
    scope = route.scope(method)
    api = api_for(store, scopes=[s for s in SCOPES if s != scope])
    values = {kwarg: ("+573001234567" if kwarg == "phone" else uuid.uuid4()) for _key, kwarg in route.params}
    path = route.path(values)
    response = getattr(api, method)(path) if method in ("get", "delete") else getattr(api, method)(path, {})
    body = assert_error(response, 403, "forbidden")
    assert scope in body["message"]


# --- 3. another store's ids are 404, and nothing changes -----------------------------------------
PAIRS = ("other-store", "own-sandbox", "sandbox-to-live")


@pytest.fixture(params=PAIRS)
def worlds(request, store, other_store, sandbox):
    """(the caller's store, the store whose ids it tries), both with one of everything."""
    caller, target = {
        "other-store": (store, other_store),
        "own-sandbox": (store, sandbox),
        "sandbox-to-live": (sandbox, store),
    }[request.param]
    own = build_world(caller, phone="+573001112233")
    foreign = build_world(target, phone="+573004445566")
    return caller, own, target, foreign


@pytest.mark.parametrize("route_method", PARAM_ROUTE_METHODS, ids=_id)
def test_another_stores_ids_are_404_and_change_nothing(route_method, worlds, api_for):
    route, method = route_method
    caller, own, target, foreign = worlds
    api = api_for(caller)
    missing = [key for key, _kwarg in route.params if key not in foreign]
    assert not missing, f"/{route.template}: add a sample for {missing} to build_world()"
    body = VALID_BODIES.get((method, route.name), {})

    combinations = [{kwarg: foreign[key] for key, kwarg in route.params}]  # every parameter foreign
    if len(route.params) > 1:  # and each one alone, the others the caller's own
        for foreign_key, _ in route.params:
            combinations.append({kwarg: (foreign if key == foreign_key else own)[key] for key, kwarg in route.params})

    before = (world_state(caller), world_state(target))
    for values in combinations:
        path = route.path(values)
        response = getattr(api, method)(path) if method in ("get", "delete") else getattr(api, method)(path, body)
        assert_error(response, 404, "phone_not_linked" if "phone" in values else "not_found")
    assert (world_state(caller), world_state(target)) == before, f"{method.upper()} {path} changed data"
