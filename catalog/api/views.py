"""Products, categories and price tiers of the external API (API.md sections 2 and 3, seed 001)."""

from django.http import HttpResponse
from django.utils.http import http_date
from rest_framework.response import Response

from nuvlyx.api.views import StoreScopedViewSet

from .. import selectors, services
from .serializers import (
    CategoryCreateInput,
    PriceTierCreateInput,
    ProductCreateInput,
    ProductPatchInput,
    product_input_to_service,
)


def _validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _etag_matches(request, etag: str) -> bool:
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    candidates = [value.strip() for value in header.split(",")]
    # If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/"x" matches "x".
    return any(c == "*" or c.removeprefix("W/") == etag for c in candidates)


def _conditional(request, validator: selectors.Validator, render) -> Response | HttpResponse:
    """304 without rendering when the client's ETag still matches; else the rendered body.

    `render()` returns the body as data, as bytes, or as (validator, bytes) when building it produced the
    validator that describes it (the cached product list)."""
    if _etag_matches(request, validator.etag):
        response = Response(status=304)
    else:
        body = render()
        if isinstance(body, tuple):
            validator, body = body
        if isinstance(body, bytes):
            response = HttpResponse(body, content_type="application/json")
        else:
            response = Response(body)
    response["ETag"] = validator.etag
    if validator.last_modified is not None:
        response["Last-Modified"] = http_date(validator.last_modified.timestamp())
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Authorization"
    return response


class ProductViewSet(StoreScopedViewSet):
    read_scope = "products:read"
    write_scope = "products:write"
    not_found_message = selectors.PRODUCT_NOT_FOUND

    def list(self, request):
        filters = selectors.ProductFilters.parse(request.query_params)
        validator = selectors.product_list_validator(store=self.store, filters=filters)
        return _conditional(
            request,
            validator,
            lambda: selectors.product_list_body(store=self.store, filters=filters, validator=validator),
        )

    def retrieve(self, request, pk):
        product, validator = selectors.product_with_validator(store=self.store, product_id=pk)
        return _conditional(request, validator, lambda: selectors.product_detail_data(product))

    def create(self, request):
        data = _validated(ProductCreateInput, request)
        product = services.product_create(store=self.store, **product_input_to_service(data))
        return Response(selectors.product_detail_data(product), status=201)

    def partial_update(self, request, pk):
        product = selectors.product_get(store=self.store, product_id=pk)
        data = _validated(ProductPatchInput, request)
        product.store = self.store
        product = services.product_update(product=product, **product_input_to_service(data))
        return Response(selectors.product_detail_data(product))

    def destroy(self, request, pk):
        product = selectors.product_get(store=self.store, product_id=pk)
        product.store = self.store
        services.product_delete(product=product)
        return Response(status=204)


class CategoryViewSet(StoreScopedViewSet):
    read_scope = "products:read"
    write_scope = "products:write"

    def list(self, request):
        return Response(selectors.category_list_data(store=self.store))

    def create(self, request):
        data = _validated(CategoryCreateInput, request)
        category = services.category_create(
            store=self.store, name=data["name"], slug=data.get("slug"), description=data.get("description", "")
        )
        return Response(selectors.category_data(category), status=201)


class PriceTierViewSet(StoreScopedViewSet):
    read_scope = "products:read"
    write_scope = "products:write"

    def list(self, request):
        return Response(selectors.price_tier_list_data(store=self.store))

    def create(self, request):
        data = _validated(PriceTierCreateInput, request)
        tier = services.price_tier_create(store=self.store, name=data["name"], level=data["level"])
        return Response(selectors.price_tier_data(tier), status=201)
