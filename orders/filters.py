"""GET /orders filters (API.md: status, userId, productId, variationId, dateFrom inclusive, dateTo exclusive)."""

from django.db.models import Exists, OuterRef

from nuvlyx.api.filters import ApiFilterSet, ChoiceFilter, DateTimeFilter, UUIDFilter

from .models import Order, OrderItem


class OrderFilter(ApiFilterSet):
    status = ChoiceFilter(values=Order.Status.values)
    userId = UUIDFilter(field_name="customer_id")
    productId = UUIDFilter(field_name="product_id", method="with_item")
    variationId = UUIDFilter(field_name="variation_id", method="with_item")
    dateFrom = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    dateTo = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields: list[str] = []

    def with_item(self, queryset, name, value):
        """Orders with at least one item of that product / variation (EXISTS: an order is listed once)."""
        return queryset.filter(Exists(OrderItem.objects.filter(order_id=OuterRef("pk"), **{name: value})))
