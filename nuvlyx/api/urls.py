"""/api/v1/external/: every app's routes, the OpenAPI schema and docs, and a JSON 404."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.urls import include, path, re_path, register_converter
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.throttling import BaseThrottle

from .converters import AnyCaseUUIDConverter
from .errors import NotFound
from .me import MeView
from .openapi import OpenApiJSONView, RedocPageView, RedocScriptView
from .permissions import ANY_SCOPE
from .views import StoreScopedAPIView

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass

register_converter(AnyCaseUUIDConverter, "id")


class _Public:
    authentication_classes: Sequence[type[BaseAuthentication]] = []
    permission_classes: "Sequence[_PermissionClass]" = [AllowAny]
    throttle_classes: Sequence[type[BaseThrottle]] = []


class SchemaView(_Public, OpenApiJSONView):
    """The hand-written OpenAPI document (nuvlyx/api/openapi.yaml) as JSON."""


class DocsView(_Public, RedocPageView):
    """Redoc over SchemaView; its script comes from DocsScriptView (no CDN)."""


class DocsScriptView(_Public, RedocScriptView):
    pass


class UnknownRouteView(StoreScopedAPIView):
    """Unknown paths under the prefix: 401 without a token (auth comes first), else 404."""

    read_scope = write_scope = ANY_SCOPE
    idempotent_post = False
    schema = None  # not part of the documented API

    def _not_found(self, request, *args, **kwargs):
        raise NotFound("Route not found")

    get = post = put = patch = delete = head = options = _not_found


urlpatterns = [
    path("openapi.json", SchemaView.as_view(), name="api-schema"),
    path("docs", DocsView.as_view(), name="api-docs"),
    path("docs/redoc.standalone.js", DocsScriptView.as_view(), name="api-docs-script"),
    path("me", MeView.as_view(), name="api-me"),
    path("", include("catalog.api.urls")),
    path("", include("wallets.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("integrations.api.urls")),
    re_path(r"^.*$", UnknownRouteView.as_view()),
]
