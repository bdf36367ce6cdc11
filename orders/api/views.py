"""GET/POST /orders, GET /orders/:id, POST /orders/:id/refund and /cancel."""

from rest_framework.response import Response

from nuvlyx.api.errors import NotFound
from nuvlyx.api.pagination import paginated_response, parse_page
from nuvlyx.api.views import StoreScopedViewSet

from .. import render
from ..filters import OrderFilter
from ..selectors import order_detail, order_list_page, order_total
from ..services import order_cancel, order_place, order_refund
from .serializers import OrderCreateInputSerializer


def _refund_body(result) -> dict:
    return render.order_refunded(result.order, refunded_amount=result.refunded_amount, new_balance=result.new_balance)


class OrderViewSet(StoreScopedViewSet):
    read_scope = "orders:read"
    write_scope = "orders:write"
    not_found_message = "Order not found"

    def list(self, request):
        filters = OrderFilter.parse(request.query_params)
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
