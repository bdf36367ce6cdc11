"""The hand-written OpenAPI 3.1 document (openapi.yaml) and its Redoc viewer, served without a token.

- GET /openapi.json: the YAML, loaded and converted to JSON once per process, with a strong ETag
  (If-None-Match → 304);
- GET /docs: templates/api/docs.html, Redoc rendering /openapi.json;
- GET /docs/redoc.standalone.js: the Redoc bundle shipped by drf-spectacular-sidecar, read once from the
  package and served by this view, so /docs works offline and with DEBUG=false (no CDN, no static-files
  server, no whitenoise needed).

The views carry no authentication, permission or throttle of their own: nuvlyx/api/urls.py mixes in
`_Public` (AllowAny, no throttle). The contract's tests (nuvlyx/api/tests/test_openapi.py) keep the
document and the URLconf from drifting apart.
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.views import APIView

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
REDOC_STATIC_PATH = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
_ANCHORS_KEY = "x-anchors"  # holds YAML anchors only; not part of the document


def _status_sort_key(code: str) -> tuple[int, str]:
    return (int(code.replace("X", "0")) if code.replace("X", "").isdigit() else 999, code)


def _sort_responses(document: dict[str, Any]) -> None:
    """YAML merge keys put shared error responses first; list every operation's responses by status."""
    for section in ("paths", "webhooks"):
        for item in (document.get(section) or {}).values():
            for operation in item.values():
                if isinstance(operation, dict) and isinstance(operation.get("responses"), dict):
                    responses = operation["responses"]
                    operation["responses"] = {code: responses[code] for code in sorted(responses, key=_status_sort_key)}


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The OpenAPI document as a plain dict (anchors resolved, helper key dropped). Not cached: tests use it."""
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    document.pop(_ANCHORS_KEY, None)
    # Round-trip through JSON: anchors become independent copies, keys become strings.
    document = json.loads(json.dumps(document))
    _sort_responses(document)
    return document


class _Asset:
    """Immutable bytes with a strong ETag."""

    def __init__(self, body: bytes):
        self.body = body
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'

    def matches(self, request) -> bool:
        header = request.META.get("HTTP_IF_NONE_MATCH", "")
        candidates = {part.strip() for part in header.split(",") if part.strip()}
        return "*" in candidates or self.etag in candidates

    def response(self, request, content_type: str, cache_control: str) -> HttpResponse:
        if self.matches(request):
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(self.body, content_type=content_type)
        response["ETag"] = self.etag
        response["Cache-Control"] = cache_control
        return response


@lru_cache(maxsize=1)
def spec_asset() -> _Asset:
    body = json.dumps(load_spec(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _Asset(body)


@lru_cache(maxsize=1)
def redoc_asset() -> _Asset:
    location = finders.find(REDOC_STATIC_PATH)
    if not location:
        raise RuntimeError(f"{REDOC_STATIC_PATH} not found: is drf_spectacular_sidecar in INSTALLED_APPS?")
    body = Path(location).read_bytes()
    # The source map is not served: drop the pointer so browser devtools do not ask for it.
    marker = body.rfind(b"//# sourceMappingURL=")
    if marker != -1:
        body = body[:marker].rstrip() + b"\n"
    return _Asset(body)


class _AnyAccept(DefaultContentNegotiation):
    """These views answer with their own bytes: never refuse a request for its Accept header (406)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _DocumentView(APIView):
    content_negotiation_class = _AnyAccept


class OpenApiJSONView(_DocumentView):
    """GET /openapi.json."""

    def get(self, request, *args, **kwargs):
        return spec_asset().response(request, "application/json", "no-cache")


class RedocPageView(_DocumentView):
    """GET /docs: the Redoc page (HTML); everything it loads comes from this server."""

    def get(self, request, *args, **kwargs):
        return render(request, "api/docs.html", {"title": "Nuvlyx external API"})


class RedocScriptView(_DocumentView):
    """GET /docs/redoc.standalone.js: the sidecar's Redoc bundle."""

    def get(self, request, *args, **kwargs):
        return redoc_asset().response(request, "application/javascript; charset=utf-8", "public, max-age=86400")
