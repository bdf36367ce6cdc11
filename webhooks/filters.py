"""GET /webhooks/:id/deliveries filters (status)."""

from nuvlyx.api.filters import ApiFilterSet, ChoiceFilter

from .models import Delivery


class DeliveryFilter(ApiFilterSet):
    status = ChoiceFilter(values=Delivery.Status.values)

    class Meta:
        model = Delivery
        fields: list[str] = []
