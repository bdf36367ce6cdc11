"""GET/POST /orders, GET /orders/:id, POST /orders/:id/refund and /cancel."""

from rest_framework.response import Response

from nuvlyx.api.errors import DomainError, NotFound, ValidationFailed
from nuvlyx.api.pagination import paginated_response, parse_page
from nuvlyx.api.views import StoreScopedViewSet
from nuvlyx.core.money import format_amount
from nuvlyx.core.phones import PhoneError, normalize_phone
from nuvlyx.core.timeutil import parse_query_datetime

from ..models import OrderItem
from ..selectors import license_list_page, order_detail, order_detail_queryset, order_list_page, order_total
from ..services import order_cancel, order_item_replace, order_place, order_refund
from .serializers import (
    ItemReplaceInputSerializer,
    LicenseListQuerySerializer,
    OrderCreateInputSerializer,
    OrderListQuerySerializer,
)


def _list_filters(query_params) -> dict:
    params = {key: query_params.get(key) for key in OrderListQuerySerializer().fields if query_params.get(key, "")}
    serializer = OrderListQuerySerializer(data=params)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    filters = {
        "status": data.get("status"),
        "user_id": data.get("userId"),
        "product_id": data.get("productId"),
        "variation_id": data.get("variationId"),
    }
    for name, key in (("dateFrom", "date_from"), ("dateTo", "date_to")):
        if data.get(name):
            parsed = parse_query_datetime(data[name])
            if parsed is None:
                raise ValidationFailed.field(name, "Must be an ISO 8601 date or date-time.")
            filters[key] = parsed
    return filters


def _refund_body(result) -> dict:
    return {
        "orderId": str(result.order.pk),
        "orderNumber": result.order.order_number,
        "status": result.order.status,
        "refundedAmount": format_amount(result.refunded_amount),
        "newBalance": format_amount(result.new_balance),
    }


class OrderViewSet(StoreScopedViewSet):
    read_scope = "orders:read"
    write_scope = "orders:write"
    not_found_message = "Order not found"

    def get_store_queryset(self):
        return order_detail_queryset(store=self.store)

    def list(self, request):
        filters = _list_filters(request.query_params)
        page = parse_page(request.query_params)
        total = order_total(store=self.store, filters=filters)
        rows = (
            []
            if page.offset >= total
            else order_list_page(store=self.store, filters=filters, offset=page.offset, limit=page.limit)
        )
        return paginated_response(rows, page=page, total=total)

    def retrieve(self, request, pk=None):
        # Two hand-written queries on PostgreSQL (orders.selectors.order_detail); another store's order is a 404.
        data = order_detail(store=self.store, order_id=pk)
        if data is None:
            raise NotFound(self.not_found_message)
        return Response(data)

    def create(self, request):
        serializer = OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        placed = order_place(
            store=self.store,
            customer_id=data.get("customerId"),
            customer_phone=data.get("customerPhone"),
            items=[item["variationId"] for item in data["items"]],
            renews=[item.get("renewsItemId") for item in data["items"]],
            notes=data.get("notes") or "",
            actor_token_id=request.auth.pk,
        )
        order = placed.order
        return Response(
            {
                "orderId": str(order.pk),
                "orderNumber": order.order_number,
                "status": order.status,
                "totalAmount": format_amount(order.total_amount),
                "newBalance": format_amount(placed.new_balance),
            },
            status=201,
        )

    def refund(self, request, pk=None):
        return Response(_refund_body(order_refund(store=self.store, order_id=pk, actor_token_id=request.auth.pk)))

    def cancel(self, request, pk=None):
        return Response(_refund_body(order_cancel(store=self.store, order_id=pk, actor_token_id=request.auth.pk)))

    def replace_item(self, request, pk=None, item_id=None):
        serializer = ItemReplaceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        replaced = order_item_replace(
            store=self.store,
            order_id=pk,
            item_id=item_id,
            reason=serializer.validated_data.get("reason") or "",
            actor_token_id=request.auth.pk,
        )
        return Response(replaced.item_data)


def _license_filters(query_params) -> dict:
    params = {key: query_params.get(key) for key in LicenseListQuerySerializer().fields if query_params.get(key, "")}
    serializer = LicenseListQuerySerializer(data=params)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    if data.get("customerId") and data.get("customerPhone"):
        raise DomainError("Use customerId or customerPhone, not both", status=400, code="bad_request")
    filters = {
        "customer_id": data.get("customerId"),
        "variation_id": data.get("variationId"),
        "status": data.get("status"),
    }
    if data.get("customerPhone"):
        try:
            filters["customer_phone"] = normalize_phone(data["customerPhone"])
        except PhoneError as exc:
            raise ValidationFailed.field("customerPhone", str(exc)) from None
    for name, key in (("expiresAfter", "expires_after"), ("expiresBefore", "expires_before")):
        if data.get(name):
            parsed = parse_query_datetime(data[name])
            if parsed is None:
                raise ValidationFailed.field(name, "Must be an ISO 8601 date or date-time.")
            filters[key] = parsed
    return filters


class LicenseViewSet(StoreScopedViewSet):
    """GET /licenses: the licenses the store's customers hold, without credentials."""

    queryset = OrderItem.objects.all()
    read_scope = "orders:read"
    write_scope = "orders:write"

    def list(self, request):
        filters = _license_filters(request.query_params)
        page = parse_page(request.query_params)
        rows, total = license_list_page(store=self.store, filters=filters, offset=page.offset, limit=page.limit)
        return paginated_response(rows, page=page, total=total)
