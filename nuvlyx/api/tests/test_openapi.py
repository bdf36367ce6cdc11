"""The OpenAPI document (nuvlyx/api/openapi.yaml) against the code: served, well-formed, and not drifting.

- the document is served without a token, as JSON, with a strong ETag; /docs works offline (no CDN);
- structure: every $ref resolves, every schema is a valid JSON Schema, every operation is complete;
- route coverage: every route+method of the URLconf under /api/v1/external/ is in the document, with the
  scope and idempotency the view really has, and every documented operation exists;
- response conformance: real requests against the real endpoints (data created through the API itself),
  each JSON body validated against the documented schema for its path, method and status — with
  undocumented fields refused — and the documented required headers present.
"""

import copy
import json
import re
import uuid
from functools import lru_cache

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from rest_framework.permissions import SAFE_METHODS

from conftest import assert_error
from nuvlyx.api.openapi import load_spec
from nuvlyx.api.permissions import ANY_SCOPE, SCOPES

API = "/api/v1/external"
SPEC = load_spec()
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
DOC_URI = "urn:nuvlyx:openapi"


# --- helpers: the document as a JSON Schema resource --------------------------------------------
def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _resolve_pointer(document: dict, ref: str):
    assert ref.startswith("#/"), f"only local refs are used: {ref}"
    node = document
    for raw in ref[2:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and key in node, f"unresolvable $ref {ref}"
        node = node[key]
    return node


def _iter_refs(node, where="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _iter_refs(value, f"{where}/{_escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _iter_refs(value, f"{where}/{index}")


def _strict(node):
    """Refuse undocumented response fields: every object schema with properties gets unevaluatedProperties."""
    if isinstance(node, dict):
        types = node.get("type")
        is_object = types == "object" or (isinstance(types, list) and "object" in types)
        if is_object and "properties" in node and "additionalProperties" not in node:
            node.setdefault("unevaluatedProperties", False)
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)
    return node


@lru_cache(maxsize=1)
def _registry() -> Registry:
    strict = _strict(copy.deepcopy(SPEC))
    return Registry().with_resource(DOC_URI, Resource.from_contents(strict, default_specification=DRAFT202012))


def _validate(instance, pointer: str) -> None:
    validator = Draft202012Validator(
        {"$ref": f"{DOC_URI}{pointer}"}, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        details = "\n".join(f"  at {list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10])
        pytest.fail(f"response does not match {pointer}:\n{details}\nbody: {json.dumps(instance)[:1500]}")


def _response_pointer(template: str, method: str, status: int) -> str:
    operation = SPEC["paths"][template][method]
    documented = operation["responses"]
    assert str(status) in documented, (
        f"{method.upper()} {template} answered {status}, which the document does not list ({sorted(documented)})"
    )
    pointer = f"#/paths/{_escape(template)}/{method}/responses/{status}"
    response = documented[str(status)]
    if "$ref" in response:
        pointer = response["$ref"]
    return pointer


def _check_headers(response, response_spec: dict, label: str) -> None:
    for name, header in (response_spec.get("headers") or {}).items():
        if "$ref" in header:
            header = _resolve_pointer(SPEC, header["$ref"])
        if header.get("required"):
            assert response.has_header(name), f"{label}: documented required header {name} is missing"
        if response.has_header(name) and header["schema"].get("type") == "integer":
            assert re.fullmatch(r"\d+", response[name]), f"{label}: header {name}={response[name]!r} not an integer"


def check(response, method: str, template: str, status: int | None = None):
    """Assert the status (if given), then validate body and headers against the document. Returns the JSON."""
    method = method.lower()
    label = f"{method.upper()} {template} → {response.status_code}"
    if status is not None:
        assert response.status_code == status, (label, response.content[:800])
    pointer = _response_pointer(template, method, response.status_code)
    response_spec = _resolve_pointer(SPEC, pointer)
    _check_headers(response, response_spec, label)
    content = response_spec.get("content")
    if not content:
        assert response.content == b"", f"{label}: the document says no body, got {response.content[:200]!r}"
        return None
    assert response["Content-Type"].startswith("application/json"), label
    body = response.json()
    _validate(body, pointer + "/content/application~1json/schema")
    return body


def check_component(response, name: str, status: int):
    """For answers outside any operation (405, unknown routes): validate against components/responses."""
    assert response.status_code == status, response.content[:500]
    pointer = f"#/components/responses/{name}"
    body = response.json()
    _validate(body, pointer + "/content/application~1json/schema")
    return body


# --- the document is served ----------------------------------------------------------------------
def test_openapi_json_is_served_without_a_token(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert re.fullmatch(r'"[0-9a-f]{40}"', response["ETag"]), response["ETag"]  # strong
    assert not response.has_header("X-RateLimit-Limit")  # not throttled
    document = json.loads(response.content)
    assert document == SPEC
    assert document["openapi"] == "3.1.0"
    assert document["servers"][0]["url"] == API
    assert "x-anchors" not in document

    again = client.get(f"{API}/openapi.json", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == response["ETag"]
    assert client.get(f"{API}/openapi.json", HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_openapi_json_ignores_bad_tokens_and_accept_headers(client):
    response = client.get(f"{API}/openapi.json", HTTP_AUTHORIZATION="Bearer nvl_live_garbage", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert json.loads(response.content)["info"]["title"] == "Nuvlyx external API"


def test_openapi_json_refuses_other_methods_with_the_error_body(client):
    response = client.post(f"{API}/openapi.json", data="{}", content_type="application/json")
    assert_error(response, 405, "method_not_allowed")


def test_docs_page_works_offline(client):
    response = client.get(f"{API}/docs", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    external = re.findall(
        r"""<(?:script|link|img|iframe)\b[^>]*(?:src|href)\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""", html
    )
    assert external == [], f"/docs loads from outside: {external}"
    assert "@import" not in html and "fonts.googleapis" not in html
    scripts = re.findall(r"""<script\b[^>]*\bsrc=["']([^"']+)["']""", html)
    assert scripts == [f"{API}/docs/redoc.standalone.js"]
    assert f'"{API}/openapi.json"' in html  # Redoc.init(spec url, ...)

    script = client.get(scripts[0])
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"Redoc" in script.content and len(script.content) > 500_000
    assert b"sourceMappingURL" not in script.content[-300:]
    assert client.get(scripts[0], HTTP_IF_NONE_MATCH=script["ETag"]).status_code == 304


# --- structure -------------------------------------------------------------------------------------
def test_every_ref_resolves():
    refs = list(_iter_refs(SPEC))
    assert len(refs) > 100
    for where, ref in refs:
        try:
            _resolve_pointer(SPEC, ref)
        except AssertionError as exc:
            pytest.fail(f"{where}: {exc}")


def test_every_component_schema_is_a_valid_json_schema():
    for schema in SPEC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    # the documented examples of primitives match their schemas
    for name in ("Money", "DateTime", "Phone", "Uuid", "Currency", "OrderNumber"):
        for example in SPEC["components"]["schemas"][name]["examples"]:
            _validate(example, f"#/components/schemas/{name}")


def _operations():
    for template, item in SPEC["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield template, method, item, item[method]


def test_every_operation_is_complete():
    operation_ids = set()
    declared_tags = {tag["name"] for tag in SPEC["tags"]}
    for template, method, item, op in _operations():
        label = f"{method.upper()} {template}"
        assert op["operationId"] not in operation_ids, label
        operation_ids.add(op["operationId"])
        assert op.get("summary") and op.get("description"), label
        assert set(op["tags"]) <= declared_tags, label
        # path parameters: declared exactly once each, and matching the template
        params = [
            _resolve_pointer(SPEC, p["$ref"]) if "$ref" in p else p
            for p in item.get("parameters", []) + op.get("parameters", [])
        ]
        in_path = sorted(p["name"] for p in params if p["in"] == "path")
        assert in_path == sorted(re.findall(r"\{(\w+)\}", template)), label
        assert all(p.get("required") for p in params if p["in"] == "path"), label
        responses = op["responses"]
        public = op.get("security") == []
        if public:
            continue
        assert op.get("x-required-scope") in (*SCOPES, ANY_SCOPE), label
        assert {"401", "403", "406", "429", "500", "503"} <= set(responses), label
        success = [code for code in responses if code.startswith("2")]
        assert len(success) == 1, label
        if "{" in template:
            assert "404" in responses, label
        if method == "post":
            assert "Idempotency-Key" in {p["name"] for p in params}, label
            assert {"400", "409", "413", "415", "422"} <= set(responses), label
            assert "Idempotent-Replayed" in responses[success[0]]["headers"], label
        if "requestBody" in op:
            assert {"400", "413", "415", "422"} <= set(responses), label
        if method in ("post", "patch"):
            assert "422" in responses, label
        schema = json.dumps(responses[success[0]].get("content", {}))
        if re.search(r'schemas/\w+Page"', schema):
            assert {"page", "limit"} <= {p["name"] for p in params}, label
            assert responses["400"]["$ref"].endswith("/InvalidPagination"), label
        if responses[success[0]].get("content"):
            assert "X-RateLimit-Limit" in responses[success[0]]["headers"], label


def test_every_api_md_endpoint_is_documented():
    """API.md sections 2 and 3, plus GET /me, by method and path."""
    expected = """
        GET /me
        GET /products  POST /products  GET /products/{id}  PATCH /products/{id}  DELETE /products/{id}
        GET /products/{id}/price  GET /categories  POST /categories  GET /price-tiers  POST /price-tiers
        GET /orders  POST /orders  GET /orders/{id}  POST /orders/{id}/refund  POST /orders/{id}/cancel
        GET /customers  POST /customers  GET /customers/{id}  PATCH /customers/{id}
        GET /customers/by-phone/{phone}  GET /customers/{id}/wallet  GET /customers/by-phone/{phone}/wallet
        POST /customers/{id}/wallet/recharge  POST /customers/by-phone/{phone}/wallet/recharge
        GET /customers/{id}/wallet/transactions  GET /inventory/stock  POST /inventory/licenses
        GET /webhooks  POST /webhooks  PATCH /webhooks/{id}  DELETE /webhooks/{id}  GET /webhooks/{id}/deliveries
        POST /webhooks/{id}/test  POST /webhooks/{id}/deliveries/{deliveryId}/redeliver
        GET /openapi.json  GET /docs
        GET /licenses  POST /orders/{id}/items/{itemId}/replace
    """.split()
    pairs = list(zip(expected[::2], expected[1::2], strict=True))
    documented = {(m.upper(), t) for t, m, _, _ in _operations()}
    missing = [f"{m} {p}" for m, p in pairs if (m, p) not in documented]
    assert missing == []
    webhooks = set(SPEC["webhooks"])
    assert webhooks == set(SPEC["components"]["schemas"]["EventType"]["x-known-values"])


# --- written for client generators (issue 18) -----------------------------------------------------
def _error_codes_in_source() -> set[str]:
    """Every error code the server's own code can produce (ApiError(code=...), `code = ...` on exception
    classes, the (status, code) table of nuvlyx/api/errors.py)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    pattern = re.compile(r'\bcode\s*=\s*"([a-z_]+)"|"code": "([a-z_]+)"|\(\d{3}, "([a-z_]+)"\)')
    codes = set()
    for app in ("nuvlyx", "catalog", "wallets", "orders", "integrations", "webhooks"):
        for path in (root / app).rglob("*.py"):
            if "tests" not in path.parts:
                # Django form/model ValidationError codes ("invalid", …) are the admin's, never the API's
                text = "\n".join(line for line in path.read_text().splitlines() if "ValidationError(" not in line)
                codes |= {next(g for g in match.groups() if g) for match in pattern.finditer(text)}
    return codes


def test_errors_are_one_schema_with_an_open_documented_code():
    error = SPEC["components"]["schemas"]["Error"]
    code = error["properties"]["code"]
    assert code["type"] == "string" and "enum" not in code and "const" not in code  # open: new codes don't break
    known = set(code["x-known-values"])
    in_source = _error_codes_in_source()
    assert len(in_source) >= 15 and in_source <= known, in_source - known
    assert all(f"`{value}`" in code["description"] for value in known)
    contract = _api_md_path().read_text() if _api_md_path().exists() else ""
    rows = re.findall(r"^\| (\d{3}) \|.*\|([^|]*)\|$", contract, flags=re.M)
    assert not contract or len(rows) >= 11  # the contract's status table was read
    for row in rows:
        assert set(re.findall(r"`(\w+)`", row[1])) <= known, row
    for name, response in SPEC["components"]["responses"].items():
        content = response.get("content")
        if content:
            assert content == {"application/json": content["application/json"]}, name
            assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, name
            for example in [content["application/json"].get("example")] + [
                e["value"] for e in content["application/json"].get("examples", {}).values()
            ]:
                if example is not None:
                    _validate(example, "#/components/schemas/Error")
                    assert example["code"] in known, (name, example)
    for template, method, _, op in _operations():
        for status, response in op["responses"].items():
            if status[0] in "45":
                assert set(response) == {"$ref"}, f"{method.upper()} {template} {status}: use a shared response"


def _api_md_path():
    """The contract (../shared/API.md beside the checkout; absent in a bare clone, then not compared)."""
    from pathlib import Path

    return Path(__file__).resolve().parents[4] / "shared" / "API.md"


def test_no_schema_narrows_a_shared_schema_with_allof():
    """Generators drop `allOf: [Shared, {narrowing}]`: a single-entry allOf (to add a description) is the only use."""

    def walk(node, where):
        if isinstance(node, dict):
            if "allOf" in node:
                assert len(node["allOf"]) == 1, where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(SPEC, "#")


def test_paginated_lists_have_one_page_schema_each():
    pages = {}
    for template, method, _, op in _operations():
        schema = (op["responses"].get("200", {}).get("content") or {}).get("application/json", {}).get("schema", {})
        if schema.get("$ref", "").endswith("Page"):
            pages[f"{method.upper()} {template}"] = schema["$ref"].rsplit("/", 1)[1]
    assert pages == {
        "GET /customers": "CustomerPage",
        "GET /customers/{id}/wallet/transactions": "WalletTransactionPage",
        "GET /orders": "OrderPage",
        "GET /licenses": "LicensePage",
        "GET /webhooks/{id}/deliveries": "WebhookDeliveryPage",
    }
    for name in pages.values():
        page = SPEC["components"]["schemas"][name]
        assert page["required"] == ["data", "pagination"]
        assert page["properties"]["data"]["type"] == "array" and "$ref" in page["properties"]["data"]["items"]


def test_money_input_is_a_decimal_string():
    money_input = SPEC["components"]["schemas"]["MoneyInput"]
    assert money_input["type"] == "string" and "oneOf" not in money_input
    validator = Draft202012Validator(money_input)
    assert validator.is_valid("10000.00") and validator.is_valid("0.5") and validator.is_valid("9999999999.99")
    for bad in (10000, 0.1, "1e5", "1.001", "-1.00", "NaN", "12345678901.00"):
        assert not validator.is_valid(bad), bad


def test_every_example_matches_its_schema():
    """Parameter and schema examples (CustomerPhone was once `%2B…`, invalid against its own schema)."""
    for name, parameter in SPEC["components"]["parameters"].items():
        if "example" in parameter:
            assert Draft202012Validator(_resolve_schema(parameter["schema"])).is_valid(parameter["example"]), name
    for name, schema in SPEC["components"]["schemas"].items():
        for example in schema.get("examples", []):
            _validate(example, f"#/components/schemas/{_escape(name)}")


def _resolve_schema(schema: dict) -> dict:
    return _resolve_pointer(SPEC, schema["$ref"]) if "$ref" in schema else schema


def test_webhooks_have_operation_ids_and_typed_payloads():
    event_type = SPEC["components"]["schemas"]["EventType"]
    assert event_type["type"] == "string" and "enum" not in event_type  # open: a new event must not break clients
    operation_ids = set()
    for name, item in SPEC["webhooks"].items():
        operation = item["post"]
        assert operation["operationId"] not in operation_ids
        operation_ids.add(operation["operationId"])
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        payload = _resolve_pointer(SPEC, schema["$ref"])
        assert payload["properties"]["type"] == {"type": "string", "const": name}, name
        assert "$ref" in payload["properties"]["data"], name
        assert f"`{name}`" in event_type["description"], name


def test_tags_and_license_are_described():
    assert SPEC["info"]["license"]["name"] and SPEC["info"]["license"]["url"].startswith("https://")
    used = {tag for _, _, _, op in _operations() for tag in op["tags"]}
    for tag in SPEC["tags"]:
        assert tag.get("description"), tag["name"]
    assert used == {tag["name"] for tag in SPEC["tags"]}


# --- route coverage: the URLconf and the document describe the same API ---------------------------
def _api_routes():
    """(normalized path, django route, callback) of every URL pattern under /api/v1/external/."""
    from nuvlyx.api.urls import UnknownRouteView

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    routes = []
    for route, callback in walk(get_resolver().url_patterns, ""):
        if not route.startswith("api/v1/external/"):
            continue
        if getattr(callback, "view_class", None) is UnknownRouteView:
            continue  # the JSON 404 for unknown paths
        local = route[len("api/v1/external/") :]
        assert "^" not in local and "(?" not in local, f"regex route {route!r} cannot be documented; use path()"
        routes.append(("/" + re.sub(r"<(?:\w+:)?\w+>", "{}", local), route, callback))
    return routes


def _served_methods(callback) -> dict[str, str | None]:
    """{method: viewset action or None} the view serves (HEAD/OPTIONS are implicit)."""
    actions = getattr(callback, "actions", None)
    if actions:
        return {method: action for method, action in actions.items() if method not in ("head", "options")}
    view_class = callback.view_class
    names = callback.view_initkwargs.get("http_method_names", view_class.http_method_names)
    return {name: None for name in names if name not in ("head", "options") and hasattr(view_class, name)}


def _required_scope(view_class, method: str, action: str | None):
    if action and action in (getattr(view_class, "action_scopes", None) or {}):
        return view_class.action_scopes[action]
    return getattr(view_class, "read_scope" if method.upper() in SAFE_METHODS else "write_scope", None)


def _normalize(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template)


def test_every_route_is_documented_and_every_documented_route_exists():
    documented = {}
    for template, method, _, op in _operations():
        documented[(_normalize(template), method)] = (template, op)
    served = {}
    for path, route, callback in _api_routes():
        for method, action in _served_methods(callback).items():
            served[(path, method)] = (route, callback, action)

    undocumented = sorted(
        f"{m.upper()} /{route}" for (p, m), (route, _, _) in served.items() if (p, m) not in documented
    )
    missing = sorted(f"{m.upper()} {documented[(p, m)][0]}" for (p, m) in documented if (p, m) not in served)
    assert undocumented == [], f"routes missing from openapi.yaml: {undocumented}"
    assert missing == [], f"documented operations with no route (endpoint not built yet, or drift): {missing}"

    wrong = []
    for key, (_route, callback, action) in served.items():
        template, op = documented[key]
        view_class = getattr(callback, "cls", None) or callback.view_class
        label = f"{key[1].upper()} {template}"
        if not view_class.authentication_classes:
            if op.get("security") != []:
                wrong.append(f"{label}: public view, document requires a token")
            continue
        scope = _required_scope(view_class, key[1], action)
        if op.get("x-required-scope") != scope:
            wrong.append(f"{label}: view needs {scope!r}, document says {op.get('x-required-scope')!r}")
        if key[1] == "post":
            params = {
                (_resolve_pointer(SPEC, p["$ref"]) if "$ref" in p else p)["name"] for p in op.get("parameters", [])
            }
            if getattr(view_class, "idempotent_post", False) != ("Idempotency-Key" in params):
                wrong.append(f"{label}: Idempotency-Key documented={'Idempotency-Key' in params}")
    assert wrong == []


# --- response conformance: real requests, validated against the document ---------------------------
def _idem() -> dict:
    return {"Idempotency-Key": f"test-{uuid.uuid4()}"}


def _catalog(api) -> dict:
    """A tier, a category, a DIGITAL product (2 variations, one with a tier price) and a SERVICE product."""
    tier = check(api.post("/price-tiers", {"name": "Silver", "level": 2}, headers=_idem()), "post", "/price-tiers", 201)
    category = check(api.post("/categories", {"name": "Streaming"}), "post", "/categories", 201)
    body = {
        "name": "1-month digital subscription",
        "description": "Streaming account",
        "postSaleInstructions": "Log in at example.com",
        "categoryIds": [category["id"]],
        "variations": [
            {
                "sku": "SUB-1M",
                "name": "1 month",
                "price": "10000.00",
                "durationDays": 30,
                "tierPrices": [{"tierId": tier["id"], "price": "8500.00"}],
            },
            {"sku": "SUB-3M", "name": "3 months", "price": 27000, "durationDays": 90},
        ],
    }
    digital = check(api.post("/products", body, headers=_idem()), "post", "/products", 201)
    service = check(
        api.post(
            "/products",
            {"name": "Account setup", "kind": "SERVICE", "variations": [{"sku": "SETUP", "price": "5000.00"}]},
        ),
        "post",
        "/products",
        201,
    )
    return {"tier": tier, "category": category, "digital": digital, "service": service}


def _customer(api, tier_id=None, phone="+573001234567", name="Juan Pérez") -> dict:
    body = {"name": name, "phone": phone, "email": "juan@example.com", "tierId": tier_id}
    return check(api.post("/customers", body, headers=_idem()), "post", "/customers", 201)


def test_conformance_me(api):
    check(api.get("/me"), "get", "/me", 200)


def test_conformance_catalog(api):
    world = _catalog(api)
    product_id = world["digital"]["id"]
    check(api.get("/categories"), "get", "/categories", 200)
    check(api.get("/price-tiers"), "get", "/price-tiers", 200)

    listing = api.get("/products")
    rows = check(listing, "get", "/products", 200)
    assert {row["id"] for row in rows} == {product_id, world["service"]["id"]}
    check(api.get("/products", headers={"If-None-Match": listing["ETag"]}), "get", "/products", 304)
    check(api.get("/products", {"status": "ACTIVE", "kind": "DIGITAL", "search": "SUB"}), "get", "/products", 200)
    check(api.get("/products", {"kind": "GADGET"}), "get", "/products", 422)

    detail = api.get(f"/products/{product_id}")
    product = check(detail, "get", "/products/{id}", 200)
    assert product["variations"][0]["tierPrices"][0]["price"] == "8500.00"
    check(api.get(f"/products/{product_id}", headers={"If-None-Match": detail["ETag"]}), "get", "/products/{id}", 304)
    check(api.get(f"/products/{uuid.uuid4()}"), "get", "/products/{id}", 404)

    variation_id = product["variations"][0]["id"]
    patched = api.patch(
        f"/products/{product_id}", {"description": "Updated", "variations": [{"id": variation_id, "name": "One month"}]}
    )
    check(patched, "patch", "/products/{id}", 200)
    check(
        api.patch(f"/products/{product_id}", {"variations": [{"sku": "SUB-3M", "price": "1.00"}]}),
        "patch",
        "/products/{id}",
        409,
    )
    check(
        api.post("/products", {"name": "x", "variations": [{"sku": "A", "price": "1.001"}]}), "post", "/products", 422
    )

    check(api.get(f"/products/{product_id}/price"), "get", "/products/{id}/price", 200)
    customer = _customer(api, tier_id=world["tier"]["id"])
    quote = check(
        api.get(f"/products/{product_id}/price", {"customerId": customer["id"]}), "get", "/products/{id}/price", 200
    )
    assert quote["variations"][0]["price"] == "8500.00" and quote["variations"][1]["appliedTier"] is None
    check(
        api.get(f"/products/{product_id}/price", {"customerPhone": "+573001234567"}), "get", "/products/{id}/price", 200
    )
    both = api.get(f"/products/{product_id}/price", {"customerPhone": "+573001234567", "customerId": customer["id"]})
    check(both, "get", "/products/{id}/price", 400)
    check(
        api.get(f"/products/{product_id}/price", {"customerPhone": "+573009999999"}), "get", "/products/{id}/price", 404
    )

    check(api.delete(f"/products/{world['service']['id']}"), "delete", "/products/{id}", 204)
    check(api.get(f"/products/{world['service']['id']}"), "get", "/products/{id}", 404)


def test_conformance_customers_and_wallets(api):
    customer = _customer(api)
    other = _customer(api, phone=None, name="Ana")
    assert other["phone"] is None and other["phoneLinked"] is False
    check(api.get("/customers"), "get", "/customers", 200)
    check(api.get("/customers", {"search": "Juan", "page": 1, "limit": 1}), "get", "/customers", 200)
    check(api.get("/customers", {"limit": 101}), "get", "/customers", 400)
    check(api.get(f"/customers/{customer['id']}"), "get", "/customers/{id}", 200)
    check(api.patch(f"/customers/{customer['id']}", {"email": None}), "patch", "/customers/{id}", 200)
    clash = api.patch(f"/customers/{other['id']}", {"phone": "+573001234567"})
    assert clash.status_code in (200, 409)  # 409 when a phone set by PATCH counts as linked
    check(clash, "patch", "/customers/{id}")
    check(api.get("/customers/by-phone/%2B573001234567"), "get", "/customers/by-phone/{phone}", 200)
    check(api.get("/customers/by-phone/+573001234567"), "get", "/customers/by-phone/{phone}", 200)
    check(api.get("/customers/by-phone/%2B573009999999"), "get", "/customers/by-phone/{phone}", 404)
    check(api.get("/customers/by-phone/12345"), "get", "/customers/by-phone/{phone}", 422)
    check(api.post("/customers", {"name": "x", "phone": "+57 300"}), "post", "/customers", 422)

    path = f"/customers/{customer['id']}/wallet"
    check(api.get(path), "get", "/customers/{id}/wallet", 200)
    key = _idem()
    first = api.post(f"{path}/recharge", {"amount": "50000.00", "reference": "nequi-1"}, headers=key)
    credit = check(first, "post", "/customers/{id}/wallet/recharge", 201)
    replay = api.post(f"{path}/recharge", {"amount": "50000.00", "reference": "nequi-1"}, headers=key)
    check(replay, "post", "/customers/{id}/wallet/recharge", 201)
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == credit
    reused = api.post(f"{path}/recharge", {"amount": "1.00"}, headers=key)
    assert check(reused, "post", "/customers/{id}/wallet/recharge", 422)["code"] == "idempotency_key_reused"
    bad_key = api.post(f"{path}/recharge", {"amount": "1.00"}, headers={"Idempotency-Key": "tab\tkey"})
    check(bad_key, "post", "/customers/{id}/wallet/recharge", 400)
    check(api.post(f"{path}/recharge", {"amount": "-1"}), "post", "/customers/{id}/wallet/recharge", 422)
    by_phone = api.post("/customers/by-phone/%2B573001234567/wallet/recharge", {"amount": 1000})
    check(by_phone, "post", "/customers/by-phone/{phone}/wallet/recharge", 201)
    check(api.get("/customers/by-phone/%2B573001234567/wallet"), "get", "/customers/by-phone/{phone}/wallet", 200)
    rows = check(api.get(f"{path}/transactions"), "get", "/customers/{id}/wallet/transactions", 200)
    assert rows["pagination"]["total"] == 2
    check(api.get(f"{path}/transactions", {"page": "x"}), "get", "/customers/{id}/wallet/transactions", 400)
    check(api.get(f"/customers/{uuid.uuid4()}/wallet"), "get", "/customers/{id}/wallet", 404)


def test_conformance_inventory_and_orders(api):
    world = _catalog(api)
    variation = world["digital"]["variations"][0]
    service_variation = world["service"]["variations"][0]
    customer = _customer(api, tier_id=world["tier"]["id"])
    check(
        api.post(f"/customers/{customer['id']}/wallet/recharge", {"amount": "100000.00"}),
        "post",
        "/customers/{id}/wallet/recharge",
        201,
    )

    upload = {
        "variationId": variation["id"],
        "licenses": [{"credentials": "user1:pw"}, {"credentials": "user2:pw"}, {"credentials": "user1:pw"}],
    }
    result = check(api.post("/inventory/licenses", upload, headers=_idem()), "post", "/inventory/licenses", 201)
    assert result["created"] == 2 and result["duplicatesSkipped"] == 1
    check(
        api.post("/inventory/licenses", {"variationId": str(uuid.uuid4()), "licenses": [{"credentials": "x"}]}),
        "post",
        "/inventory/licenses",
        422,
    )
    check(api.get("/inventory/stock"), "get", "/inventory/stock", 200)
    check(
        api.get("/inventory/stock", {"lowStock": "true", "productId": world["digital"]["id"]}),
        "get",
        "/inventory/stock",
        200,
    )
    check(api.get("/inventory/stock", {"variationId": "nope"}), "get", "/inventory/stock", 422)

    placed = check(
        api.post(
            "/orders", {"customerPhone": "+573001234567", "items": [{"variationId": variation["id"]}]}, headers=_idem()
        ),
        "post",
        "/orders",
        201,
    )
    assert placed["status"] == "COMPLETED" and placed["totalAmount"] == "8500.00"
    pending = check(
        api.post("/orders", {"customerId": customer["id"], "items": [{"variationId": service_variation["id"]}]}),
        "post",
        "/orders",
        201,
    )
    assert pending["status"] == "PROCESSING"
    check(
        api.post("/orders", {"customerId": customer["id"], "items": [{"variationId": variation["id"]}] * 2}),
        "post",
        "/orders",
        400,
    )  # one license left
    check(api.post("/orders", {"items": [{"variationId": variation["id"]}]}), "post", "/orders", 400)
    check(api.post("/orders", {"customerId": customer["id"], "items": []}), "post", "/orders", 422)
    check(
        api.post("/orders", {"customerPhone": "+573009999999", "items": [{"variationId": variation["id"]}]}),
        "post",
        "/orders",
        404,
    )

    check(api.get("/orders"), "get", "/orders", 200)
    check(
        api.get("/orders", {"status": "COMPLETED", "userId": customer["id"], "dateFrom": "2020-01-01", "limit": 10}),
        "get",
        "/orders",
        200,
    )
    check(api.get("/orders", {"limit": "0"}), "get", "/orders", 400)
    check(api.get("/orders", {"userId": "nope"}), "get", "/orders", 422)
    order = check(api.get(f"/orders/{placed['orderId']}"), "get", "/orders/{id}", 200)
    assert order["items"][0]["license"]["credentials"] in ("user1:pw", "user2:pw")
    check(api.get(f"/orders/{pending['orderId']}"), "get", "/orders/{id}", 200)
    check(api.get(f"/orders/{uuid.uuid4()}"), "get", "/orders/{id}", 404)

    # subscriptions: GET /licenses, renewals, warranty replacements
    held = check(api.get("/licenses", {"customerId": customer["id"]}), "get", "/licenses", 200)
    assert held["pagination"]["total"] == 1 and "credentials" not in json.dumps(held)
    check(api.get("/licenses", {"status": "ACTIVE", "expiresAfter": "2020-01-01"}), "get", "/licenses", 200)
    check(
        api.get("/licenses", {"customerPhone": "+573001234567", "variationId": variation["id"]}),
        "get",
        "/licenses",
        200,
    )
    check(api.get("/licenses", {"status": "nope"}), "get", "/licenses", 422)
    check(api.get("/licenses", {"expiresBefore": "yesterday"}), "get", "/licenses", 422)
    check(api.get("/licenses", {"page": "0"}), "get", "/licenses", 400)
    item_id = order["items"][0]["id"]
    replace = "/orders/{id}/items/{itemId}/replace"
    check(api.post(f"/orders/{placed['orderId']}/items/{uuid.uuid4()}/replace"), "post", replace, 404)
    check(api.post(f"/orders/{placed['orderId']}/items/{item_id}/replace", {"reason": 5}), "post", replace, 422)
    item = check(
        api.post(f"/orders/{placed['orderId']}/items/{item_id}/replace", {"reason": "x"}, headers=_idem()),
        "post",
        replace,
        200,
    )
    assert item["license"]["credentials"] in ("user1:pw", "user2:pw") and len(item["replacements"]) == 1
    check(api.post(f"/orders/{placed['orderId']}/items/{item_id}/replace"), "post", replace, 400)  # no stock left
    check(api.get(f"/orders/{placed['orderId']}"), "get", "/orders/{id}", 200)
    bad_renewal = {"customerId": customer["id"], "items": [{"variationId": variation["id"], "renewsItemId": "x"}]}
    check(api.post("/orders", bad_renewal), "post", "/orders", 422)
    bad_renewal["items"][0]["renewsItemId"] = str(uuid.uuid4())
    check(api.post("/orders", bad_renewal), "post", "/orders", 422)

    check(api.post(f"/orders/{placed['orderId']}/cancel"), "post", "/orders/{id}/cancel", 409)
    check(api.post(f"/orders/{placed['orderId']}/refund", headers=_idem()), "post", "/orders/{id}/refund", 200)
    check(api.post(f"/orders/{placed['orderId']}/refund"), "post", "/orders/{id}/refund", 409)
    check(api.post(f"/orders/{pending['orderId']}/cancel"), "post", "/orders/{id}/cancel", 200)
    rows = check(
        api.get(f"/customers/{customer['id']}/wallet/transactions"), "get", "/customers/{id}/wallet/transactions", 200
    )
    assert {row["type"] for row in rows["data"]} == {"RECHARGE", "PURCHASE", "REFUND"}

    # archiving: a product referenced by orders is ARCHIVED, not deleted
    check(api.delete(f"/products/{world['service']['id']}"), "delete", "/products/{id}", 204)
    archived = check(api.get(f"/products/{world['service']['id']}"), "get", "/products/{id}", 200)
    assert archived["status"] == "ARCHIVED"


def test_conformance_webhooks(api):
    from webhooks.models import Delivery

    created = check(
        api.post(
            "/webhooks",
            {"url": "http://127.0.0.1:9/hook", "events": ["order.completed"], "description": "bot"},
            headers=_idem(),
        ),
        "post",
        "/webhooks",
        201,
    )
    hook = f"/webhooks/{created['id']}"
    check(api.post("/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["nope"]}), "post", "/webhooks", 422)
    check(api.get("/webhooks"), "get", "/webhooks", 200)
    check(api.get(hook), "get", "/webhooks/{id}", 200)
    check(api.patch(hook, {"events": ["*"], "description": "all"}), "patch", "/webhooks/{id}", 200)
    delivery = check(api.post(f"{hook}/test", headers=_idem()), "post", "/webhooks/{id}/test", 202)
    page = check(api.get(f"{hook}/deliveries"), "get", "/webhooks/{id}/deliveries", 200)
    assert page["data"][0]["id"] == delivery["id"]
    check(api.get(f"{hook}/deliveries", {"status": "PENDING", "limit": 5}), "get", "/webhooks/{id}/deliveries", 200)
    check(api.get(f"{hook}/deliveries", {"page": 0}), "get", "/webhooks/{id}/deliveries", 400)
    redeliver = f"{hook}/deliveries/{delivery['id']}/redeliver"
    check(api.post(redeliver), "post", "/webhooks/{id}/deliveries/{deliveryId}/redeliver", 409)  # still PENDING
    Delivery.objects.filter(pk=delivery["id"]).update(status="FAILED")  # as a worker that gave up would leave it
    again = api.post(redeliver, headers=_idem())
    check(again, "post", "/webhooks/{id}/deliveries/{deliveryId}/redeliver", 202)
    check(
        api.post(f"{hook}/deliveries/{uuid.uuid4()}/redeliver"),
        "post",
        "/webhooks/{id}/deliveries/{deliveryId}/redeliver",
        404,
    )
    check(api.patch(hook, {"active": False}), "patch", "/webhooks/{id}", 200)
    check(api.post(f"{hook}/test"), "post", "/webhooks/{id}/test", 409)

    plain = check(api.post("/webhooks", {"url": "http://127.0.0.1:9/b", "events": ["*"]}), "post", "/webhooks", 201)
    check(api.delete(f"/webhooks/{plain['id']}"), "delete", "/webhooks/{id}", 204)
    check(api.get(f"/webhooks/{plain['id']}"), "get", "/webhooks/{id}", 404)


def test_conformance_delete_webhook_after_a_redelivery(api):
    """DELETE /webhooks/:id is a 204 even when the endpoint's log holds a redelivery."""
    from webhooks.models import Delivery

    hook = "/webhooks/" + api.post("/webhooks", {"url": "http://127.0.0.1:9/c", "events": ["*"]}).json()["id"]
    delivery = check(api.post(f"{hook}/test"), "post", "/webhooks/{id}/test", 202)
    Delivery.objects.filter(pk=delivery["id"]).update(status="SUCCEEDED")
    check(
        api.post(f"{hook}/deliveries/{delivery['id']}/redeliver"),
        "post",
        "/webhooks/{id}/deliveries/{deliveryId}/redeliver",
        202,
    )
    check(api.delete(hook), "delete", "/webhooks/{id}", 204)
    check(api.get(hook), "get", "/webhooks/{id}", 404)


def test_conformance_request_level_errors(api, api_for, store, make_token, client):
    from conftest import ApiClient

    check(ApiClient(client, None).get("/orders"), "get", "/orders", 401)
    check(ApiClient(client, "nvl_live_not-a-token").get("/orders"), "get", "/orders", 401)
    check(api_for(store, scopes=["products:read"]).post("/orders", {}), "post", "/orders", 403)
    check(api.post("/orders", raw="{not json"), "post", "/orders", 400)
    check(api.post("/orders", raw="a=1", content_type="application/x-www-form-urlencoded"), "post", "/orders", 415)
    check(api.post("/orders", raw=b"{" + b" " * (1024 * 1024 + 10) + b"}"), "post", "/orders", 413)
    check_component(api.delete("/orders"), "MethodNotAllowed", 405)
    check_component(api.get("/no-such-route"), "NotFound", 404)
    check_component(api.get("/products/not-a-uuid"), "NotFound", 404)

    check(api.get("/orders", headers={"Accept": "text/html"}), "get", "/orders", 406)

    limited = ApiClient(client, make_token(store, rate_limit_per_minute=1))
    check(limited.get("/me"), "get", "/me", 200)
    response = limited.get("/me")
    check(response, "get", "/me", 429)
    assert int(response["Retry-After"]) >= 1


def test_conformance_replayed_refusal_carries_idempotent_replayed(api):
    """A business refusal is stored with its key: the replay is the same 400, with Idempotent-Replayed."""
    world = _catalog(api)
    customer = _customer(api)
    body = {"customerId": customer["id"], "items": [{"variationId": world["service"]["variations"][0]["id"]}]}
    key = _idem()
    first = api.post("/orders", body, headers=key)
    assert check(first, "post", "/orders", 400)["code"] == "insufficient_balance"
    assert not first.has_header("Idempotent-Replayed")
    replay = api.post("/orders", body, headers=key)
    assert check(replay, "post", "/orders", 400) == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    documented = _resolve_pointer(SPEC, SPEC["paths"]["/orders"]["post"]["responses"]["400"]["$ref"])
    assert "Idempotent-Replayed" in documented["headers"]


def test_webhook_payloads_conform(api, store):
    """Every event the API emitted (the exact webhook body) matches the document's `webhooks` section."""
    from catalog.models import Variation
    from nuvlyx.core.models import Event

    world = _catalog(api)
    variation = world["digital"]["variations"][0]
    Variation.objects.filter(pk=variation["id"]).update(low_stock_threshold=5)  # the owner's admin setting
    customer = _customer(api, tier_id=world["tier"]["id"])
    api.post(f"/customers/{customer['id']}/wallet/recharge", {"amount": "100000.00", "reference": "r-1"})
    api.post("/inventory/licenses", {"variationId": variation["id"], "licenses": [{"credentials": "a:1"}]})
    completed = api.post("/orders", {"customerId": customer["id"], "items": [{"variationId": variation["id"]}]})
    service_item = [{"variationId": world["service"]["variations"][0]["id"]}]
    processing = api.post("/orders", {"customerId": customer["id"], "items": service_item})
    api.post("/inventory/licenses", {"variationId": variation["id"], "licenses": [{"credentials": "b:2"}]})
    order = api.get(f"/orders/{completed.json()['orderId']}").json()
    replaced = api.post(f"/orders/{order['id']}/items/{order['items'][0]['id']}/replace", {"reason": "login failed"})
    assert replaced.status_code == 200, replaced.content
    _license_reminders_now(order["items"][0]["id"])
    api.post(f"/orders/{completed.json()['orderId']}/refund")
    api.post(f"/orders/{processing.json()['orderId']}/cancel")
    api.patch(f"/products/{world['digital']['id']}", {"description": "new"})
    api.delete(f"/products/{world['digital']['id']}")
    hook = api.post("/webhooks", {"url": "http://127.0.0.1:9/h", "events": ["*"]}).json()
    api.post(f"/webhooks/{hook['id']}/test")

    events = list(Event.objects.filter(store=store).order_by("created_at"))
    seen = {event.type for event in events}
    assert seen == set(SPEC["webhooks"]), f"event types not produced by this scenario: {set(SPEC['webhooks']) - seen}"
    for event in events:
        assert event.payload["id"] == str(event.pk) and event.payload["type"] == event.type
        pointer = f"#/webhooks/{_escape(event.type)}/post/requestBody/content/application~1json/schema"
        _validate(json.loads(json.dumps(event.payload)), pointer)


def _license_reminders_now(item_id) -> None:
    """Make the item's 1-day reminder and its expiry due now, and run the reminder task's pass."""
    from datetime import timedelta

    from nuvlyx.core.timeutil import now
    from orders.models import OrderItem
    from orders.reminders import reminders_run

    current = now()
    OrderItem.objects.filter(pk=item_id).update(
        delivered_at=current - timedelta(days=30), expires_at=current - timedelta(minutes=1)
    )
    result = reminders_run()
    assert result.sent == 2, result  # license.expiring (the latest point due) and license.expired


# --- the production shape: gunicorn, DEBUG=false, no static-files server ---------------------------
@pytest.mark.live
def test_docs_work_from_gunicorn_without_a_cdn(live_server_proc):
    import requests

    server = live_server_proc(workers=1, threads=2)
    page = requests.get(f"{server.api}/docs", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    script_url = re.search(r"""<script\b[^>]*\bsrc=["']([^"']+)["']""", page.text).group(1)
    script = requests.get(f"{server.url}{script_url}", timeout=10)
    assert script.status_code == 200 and b"Redoc" in script.content
    spec = requests.get(f"{server.api}/openapi.json", timeout=10)
    assert spec.status_code == 200 and spec.json() == SPEC
