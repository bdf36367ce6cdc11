"""Form fields for the owner's panel: amounts and phones as the store's people write them."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .money import MoneyError, number_display, parse_local_amount
from .phones import PhoneError, parse_local_phone


class LocalMoneyField(forms.Field):
    """An amount in the store's format ("50.000", "50.000,00", "50000.00") → Decimal with 2 places.

    `store` (anything with country and currency) is set by whoever builds the form: the scoping admin
    mixin for model fields (formfield_for_dbfield), the wallet forms explicitly. Without a store the
    field reads the plain "50000.00" form only (store_locale falls back to English)."""

    default_error_messages = {"invalid": _("Enter a valid amount.")}

    def __init__(
        self, *, store=None, allow_zero=True, allow_negative=False, max_digits=None, decimal_places=None, **kwargs
    ):
        self.store = store
        self.allow_zero = allow_zero
        self.allow_negative = allow_negative
        kwargs.pop("max_length", None)
        kwargs.pop("min_value", None)
        kwargs.pop("max_value", None)
        kwargs.pop("step_size", None)
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("maxlength", "24")
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("class", "vMoneyField")

    def _store(self):
        return self.store or _NoStore

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return number_display(value, self._store())
        return value

    def to_python(self, value):
        if isinstance(value, Decimal):
            return value
        text = str(value).strip() if value is not None else ""
        if text in self.empty_values:
            return None
        try:
            return parse_local_amount(
                text, self._store(), allow_zero=self.allow_zero, allow_negative=self.allow_negative
            )
        except MoneyError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (Decimal(initial).quantize(Decimal("0.01")) if initial is not None else None)
        except (forms.ValidationError, ArithmeticError, TypeError, ValueError):
            return True


class _NoStore:
    country = "US"
    currency = "USD"


class LocalPhoneField(forms.CharField):
    """A phone as written locally ("300 555 1234") read with the store's country → E.164."""

    def __init__(self, *, country="CO", **kwargs):
        self.country = country
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_local_phone(text, self.country)
        except PhoneError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None
