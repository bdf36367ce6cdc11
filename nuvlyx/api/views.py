"""The ONE base view every external API endpoint uses.

- the store comes from the token, and get_queryset() is always filtered by it;
- the scope comes from `read_scope` / `write_scope` / `action_scopes` (HasTokenScope);
- POST with Idempotency-Key is replayed / refused per API.md, with the response stored in
  the same transaction as the effect;
- X-RateLimit-* headers on every response the throttle saw.
"""

from django.db import transaction
from django.http import HttpResponse
from rest_framework import viewsets
from rest_framework.views import APIView

from . import idempotency
from .errors import NotFound, ValidationFailed

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class StoreScopedMixin:
    read_scope: str | None = None
    write_scope: str | None = None
    action_scopes: dict[str, str] = {}
    not_found_message = "Not found"
    idempotent_post = True  # honour Idempotency-Key on POST

    @property
    def store(self):
        return self.request.auth.store

    def get_queryset(self):
        return self.get_store_queryset().filter(store_id=self.store.pk)

    def get_store_queryset(self):
        """Override: the unscoped queryset (select_related/prefetch); the store filter is added."""
        return super().get_queryset()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for name, value in request.query_params.lists():
            if "\x00" in name or any("\x00" in item for item in value):
                raise ValidationFailed.field(name.replace("\x00", ""), "Must not contain NUL characters.")

    def get_object(self):
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        obj = self.get_queryset().filter(**{self.lookup_field: lookup}).first()
        if obj is None:
            raise NotFound(self.not_found_message)
        self.check_object_permissions(self.request, obj)
        return obj

    # --- dispatch with idempotency ---------------------------------------------------------
    def dispatch(self, request, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            if request.method.lower() in self.http_method_names:
                handler = getattr(self, request.method.lower(), self.http_method_not_allowed)
            else:
                handler = self.http_method_not_allowed
            if request.method in BODY_METHODS and handler != self.http_method_not_allowed:
                # Parsed and validated once, here, before anything uses it (idempotency
                # fingerprint included), even by endpoints that ignore their body.
                request.data  # noqa: B018
            if (
                request.method == "POST"
                and self.idempotent_post
                and idempotency.HEADER in request.META
                and handler != self.http_method_not_allowed
            ):
                response = self._idempotent(request, handler, *args, **kwargs)
            else:
                response = handler(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def _idempotent(self, request, handler, *args, **kwargs):
        key = idempotency.validate_key(request.META[idempotency.HEADER])
        fp = idempotency.fingerprint(request.method, request.get_full_path(), request.data)
        claim = idempotency.claim(store=self.store, key=key, fp=fp)
        if claim.replay is not None:
            replay = HttpResponse(
                idempotency.replay_body(claim.replay),
                status=claim.replay.response_status,
                content_type=claim.replay.response_content_type or "application/json",
            )
            replay["Idempotent-Replayed"] = "true"
            return replay
        stored = False
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        response = handler(request, *args, **kwargs)
                except Exception as exc:
                    response = self.handle_exception(exc)
                    # The inner block already undid the effects; what remains is ours to commit.
                    transaction.set_rollback(False)
                response = self.finalize_response(request, response, *args, **kwargs)
                if hasattr(response, "render"):
                    response.render()
                code = getattr(response, "error_code", None)
                if idempotency.is_storable(response.status_code, code):
                    idempotency.complete(
                        claim.record,
                        status=response.status_code,
                        body=response.content,
                        content_type=response.get("Content-Type", "application/json"),
                    )
                    stored = True
        finally:
            if not stored:
                idempotency.release(claim.record)
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # API answers carry store data, credentials (GET /orders/:id) and secrets (POST /webhooks):
        # no shared or disk cache keeps them. Views that opt into revalidation (the ETag'd product
        # reads) set their own Cache-Control first.
        response.setdefault("Cache-Control", "no-store")
        for name, value in (getattr(request, "_rate_limit_headers", None) or {}).items():
            response[name] = value
        return response


class StoreScopedViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    """Base for every resource viewset of the external API."""


class StoreScopedAPIView(StoreScopedMixin, APIView):
    """Base for single-purpose endpoints (no queryset of their own)."""

    def get_store_queryset(self):  # pragma: no cover - APIViews without a queryset
        raise NotImplementedError
