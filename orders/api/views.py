"""GET/POST /orders, GET /orders/:id, POST /orders/:id/refund and /cancel."""

from rest_framework.response import Response

from nuvlyx.api.errors import NotFound, ValidationFailed
from nuvlyx.api.pagination import paginated_response, parse_page
from nuvlyx.api.views import StoreScopedViewSet
from nuvlyx.core.timeutil import parse_query_datetime

from .. import render
from ..selectors import order_detail, order_list_page, order_total
from ..services import order_cancel, order_place, order_refund
from .serializers import OrderCreateInputSerializer, OrderListQuerySerializer


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
    return render.order_refunded(result.order, refunded_amount=result.refunded_amount, new_balance=result.new_balance)


class OrderViewSet(StoreScopedViewSet):
    read_scope = "orders:read"
    write_scope = "orders:write"
    not_found_message = "Order not found"

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
            notes=data.get("notes") or "",
            actor_token_id=request.auth.pk,
        )
        return Response(
            render.order_placed(placed.order, new_balance=placed.new_balance),
            status=201,
        )

    def refund(self, request, pk=None):
        return Response(_refund_body(order_refund(store=self.store, order_id=pk, actor_token_id=request.auth.pk)))

    def cancel(self, request, pk=None):
        return Response(_refund_body(order_cancel(store=self.store, order_id=pk, actor_token_id=request.auth.pk)))
