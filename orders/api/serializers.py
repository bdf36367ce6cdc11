"""Input serializers of the orders endpoints (output shapes live in orders.selectors)."""

from rest_framework import serializers

from nuvlyx.api.fields import StrictCharField, StrictUUIDField

from ..models import Order
from ..selectors import LicenseState
from ..services import MAX_ITEMS, MAX_REASON_LENGTH


class OrderItemInputSerializer(serializers.Serializer):
    variationId = StrictUUIDField()
    renewsItemId = StrictUUIDField(required=False, allow_null=True)


class OrderCreateInputSerializer(serializers.Serializer):
    customerId = StrictUUIDField(required=False, allow_null=True)
    # Strict E.164 and "linked" are checked by wallets.selectors.customer_resolve (422 / 404).
    customerPhone = StrictCharField(required=False, allow_null=True, max_length=32, trim_whitespace=False)
    items = serializers.ListField(
        child=OrderItemInputSerializer(), min_length=1, max_length=MAX_ITEMS, allow_empty=False
    )
    notes = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=2000)


class OrderListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.values, required=False)
    userId = StrictUUIDField(required=False)
    productId = StrictUUIDField(required=False)
    variationId = StrictUUIDField(required=False)
    dateFrom = serializers.CharField(required=False)
    dateTo = serializers.CharField(required=False)


class LicenseListQuerySerializer(serializers.Serializer):
    customerId = StrictUUIDField(required=False)
    customerPhone = serializers.CharField(required=False, max_length=32, trim_whitespace=False)
    variationId = StrictUUIDField(required=False)
    status = serializers.ChoiceField(choices=LicenseState.values, required=False)
    expiresBefore = serializers.CharField(required=False)
    expiresAfter = serializers.CharField(required=False)


class ItemReplaceInputSerializer(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=MAX_REASON_LENGTH)
