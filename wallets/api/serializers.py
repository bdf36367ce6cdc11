"""Input serializers of the customers and wallet endpoints (output is rendered by wallets.render)."""

import uuid

from rest_framework import serializers

from nuvlyx.api.errors import ValidationFailed
from nuvlyx.api.fields import E164PhoneField, MoneyField, StrictCharField, StrictUUIDField, parse_uuid


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CustomerCreateInput(serializers.Serializer):
    name = StrictCharField(max_length=200, trim_whitespace=True)
    email = StrictEmailField(max_length=254, required=False, allow_blank=True, allow_null=True)
    phone = E164PhoneField(required=False, allow_null=True)
    tierId = StrictUUIDField(required=False, allow_null=True)


class CustomerUpdateInput(serializers.Serializer):
    name = StrictCharField(max_length=200, trim_whitespace=True, required=False)
    email = StrictEmailField(max_length=254, required=False, allow_blank=True, allow_null=True)
    phone = E164PhoneField(required=False, allow_null=True)
    tierId = StrictUUIDField(required=False, allow_null=True)


class RechargeInput(serializers.Serializer):
    amount = MoneyField()
    reference = StrictCharField(max_length=120, required=False, allow_blank=True, allow_null=True)
    note = StrictCharField(max_length=500, required=False, allow_blank=True, allow_null=True)


def parse_price_query(params) -> tuple[uuid.UUID | str | None, str | None]:
    """customerId / customerPhone of GET /products/:id/price, for wallets.selectors.customer_resolve.

    Both given: returned as they are, so customer_resolve answers 400 before looking at either.
    """
    raw_id = params.get("customerId")
    phone = params.get("customerPhone")
    if phone is not None and phone.startswith(" ") and phone[1:].isdigit():
        phone = "+" + phone[1:]  # an unencoded "+" in a query string arrives as a space
    if raw_id is None or phone is not None:
        return raw_id, phone
    customer_id = parse_uuid(raw_id)
    if customer_id is None:
        raise ValidationFailed.field("customerId", "Must be a valid UUID.")
    return customer_id, None
