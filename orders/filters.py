"""GET /orders filters (API.md: status, userId, productId, variationId, dateFrom inclusive, dateTo exclusive)."""

from django.db.models import Exists, OuterRef

from nuvlyx.api.filters import ApiFilterSet, ChoiceFilter, DateTimeFilter, PhoneFilter, UUIDFilter

from .models import LicenseState, Order, OrderItem


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


class LicenseFilter(ApiFilterSet):
    """GET /licenses filters. `status` (ACTIVE / EXPIRED / REFUNDED) depends on "now", so the selector
    applies it (orders.selectors.license_list_queryset) with the same instant it renders the rows at."""

    customerId = UUIDFilter(field_name="order__customer_id")
    customerPhone = PhoneFilter(method="linked_phone")
    variationId = UUIDFilter(field_name="variation_id")
    status = ChoiceFilter(values=LicenseState.values, method="by_state")
    expiresAfter = DateTimeFilter(field_name="expires_at", lookup_expr="gte")
    expiresBefore = DateTimeFilter(field_name="expires_at", lookup_expr="lt")

    class Meta:
        model = OrderItem
        fields: list[str] = []

    def linked_phone(self, queryset, name, value):
        return queryset.filter(order__customer__phone=value, order__customer__phone_linked_at__isnull=False)

    def by_state(self, queryset, name, value):
        return queryset  # applied by the selector, at the instant of the rendering
