"""Input serializers of the customers and wallet endpoints (output is rendered by wallets.render)."""

from rest_framework import serializers

from nuvlyx.api.fields import E164PhoneField, MoneyField, StrictCharField, StrictUUIDField


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
