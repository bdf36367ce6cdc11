"""GET/POST /orders, GET /orders/:id, POST /orders/:id/refund and /cancel."""

from rest_framework.response import Response

from nuvlyx.api.errors import DomainError, NotFound
from nuvlyx.api.pagination import paginated_response, parse_page
from nuvlyx.api.views import StoreScopedViewSet

from .. import render
from ..filters import LicenseFilter, OrderFilter
from ..selectors import license_list_page, order_detail, order_list_page, order_total
from ..services import order_cancel, order_item_replace, order_place, order_refund
from .serializers import ItemReplaceInputSerializer, OrderCreateInputSerializer


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
            renews=[item.get("renewsItemId") for item in data["items"]],
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


class LicenseViewSet(StoreScopedViewSet):
    """GET /licenses: the licenses the store's customers hold, without credentials."""

    read_scope = "orders:read"
    write_scope = "orders:write"

    def list(self, request):
        filters = LicenseFilter.parse(request.query_params)
        if filters.get("customerId") and filters.get("customerPhone"):
            raise DomainError("Use customerId or customerPhone, not both", status=400, code="bad_request")
        page = parse_page(request.query_params)
        rows, total = license_list_page(store=self.store, filters=filters, offset=page.offset, limit=page.limit)
        return paginated_response(rows, page=page, total=total)
