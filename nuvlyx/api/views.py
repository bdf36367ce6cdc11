"""The ONE base view every external API endpoint uses.

- `self.store` is the token's store. Scoping happens where the rows are read: every selector and
  service takes `store=` and filters by it (another store's object is not found, a 404), so a view
  hands `store=self.store` to each call and builds no queryset of its own;
- the scope comes from `read_scope` / `write_scope` (HasTokenScope; a view declaring none is closed);
- a request body (POST/PUT/PATCH) is parsed and validated once, before the handler runs;
- POST with Idempotency-Key is replayed / refused per API.md, with the response stored in the same
  transaction as the effect (nuvlyx.api.idempotency.IdempotentPostMixin);
- X-RateLimit-* headers on every response the throttle saw; `Cache-Control: no-store` by default.
"""

from rest_framework import viewsets
from rest_framework.exceptions import Throttled
from rest_framework.views import APIView

from .errors import ValidationFailed
from .idempotency import IdempotentPostMixin
from .throttling import headers_without_counting, settle

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
PAGINATION_PARAMS = frozenset({"page", "limit"})


class StoreScopedMixin(IdempotentPostMixin):
    read_scope: str | None = None
    write_scope: str | None = None
    not_found_message = "Not found"

    @property
    def store(self):
        return self.request.auth.store

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, scope, rate limit
        not_acceptable = getattr(request, "not_acceptable", None)  # JSONContentNegotiation kept it for now
        if not_acceptable is not None:
            raise not_acceptable
        for name, value in request.query_params.lists():
            if name in PAGINATION_PARAMS:
                continue  # not an integer: the paginated list's own 400 invalid_pagination (API.md)
            if "\x00" in name or any("\x00" in item for item in value):
                raise ValidationFailed.field(name.replace("\x00", ""), "Must not contain NUL characters.")
        method = request.method.lower()
        if request.method in BODY_METHODS and method in self.http_method_names and hasattr(self, method):
            # Parsed and validated once, here, before anything uses it (the idempotency
            # fingerprint included), even by endpoints that ignore their body.
            request.data  # noqa: B018

    def permission_denied(self, request, message=None, code=None):
        # API.md: every response carries X-RateLimit-*; a 403 comes before the limiter and is not
        # counted, so it shows the bucket as it is.
        headers_without_counting(request)
        super().permission_denied(request, message=message, code=code)

    def finalize_response(self, request, response, *args, **kwargs):
        # A read's rate-limit answer is read here, after its work (TokenRateThrottle): refused, it
        # answers 429 whatever the handler answered, as if refused before it ran (it changed nothing).
        try:
            wait = settle(request)
        except Exception as exc:  # the limiter failing closed (503)
            response = self.handle_exception(exc)
        else:
            if wait is not None:
                response = self.handle_exception(Throttled(wait))
        response = super().finalize_response(request, response, *args, **kwargs)
        # API answers carry store data, credentials (GET /orders/:id) and secrets (POST /webhooks):
        # no shared or disk cache keeps them. Views that opt into revalidation (the ETag'd product
        # reads) set their own Cache-Control first.
        response.setdefault("Cache-Control", "no-store")
        for name, value in (getattr(request, "_rate_limit_headers", None) or {}).items():
            response[name] = value
        return response


class StoreScopedViewSet(StoreScopedMixin, viewsets.ViewSet):
    """Base for the resource viewsets of the external API (actions mapped in each app's urls.py)."""


class StoreScopedAPIView(StoreScopedMixin, APIView):
    """Base for single-purpose endpoints."""
