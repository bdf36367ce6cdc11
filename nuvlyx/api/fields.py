"""Reusable serializer fields with API.md's input and output rules."""

import uuid
from decimal import Decimal

from rest_framework import serializers

from nuvlyx.core.money import MoneyError, format_amount, parse_amount
from nuvlyx.core.phones import PhoneError, normalize_phone


class MoneyField(serializers.Field):
    """In: a decimal string or JSON number (≤ 2 decimals, no exponent/NaN). Out: "10000.00"."""

    default_error_messages = {"invalid": "{message}"}

    def __init__(self, *, allow_zero: bool = False, allow_negative: bool = False, **kwargs):
        self.allow_zero = allow_zero
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        try:
            return parse_amount(data, allow_zero=self.allow_zero, allow_negative=self.allow_negative)
        except MoneyError as exc:
            self.fail("invalid", message=str(exc))

    def to_representation(self, value) -> str | None:
        return format_amount(value)


class E164PhoneField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 16)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a phone number in strict E.164 format.")
        try:
            return normalize_phone(data)
        except PhoneError as exc:
            raise serializers.ValidationError(str(exc)) from None


class StrictCharField(serializers.CharField):
    """A CharField that refuses non-strings (DRF would coerce numbers and booleans)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """Ids are strings: DRF would also turn an integer into a UUID."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


def parse_uuid(value) -> uuid.UUID | None:
    """A UUID from a string, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
