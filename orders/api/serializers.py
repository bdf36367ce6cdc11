"""Input serializers of the orders endpoints (output shapes live in orders.selectors)."""

from rest_framework import serializers

from nuvlyx.api.fields import StrictCharField, StrictUUIDField

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


class ItemReplaceInputSerializer(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=MAX_REASON_LENGTH)
