"""List filters: django-filter FilterSets whose bad values answer the contract's 422 body.

Each list declares one FilterSet (`<app>/filters.py`) whose filters are named as the API's query
parameters. The view parses the query once with `parse()` (a bad value: 422 `validation_error`
with one `{field, message}` per bad parameter, nothing read), and the selector narrows the store's
queryset with `apply()`. Empty values are ignored, as if absent; unknown parameters too (API.md).
"""

from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from nuvlyx.core.phones import PhoneError, normalize_phone
from nuvlyx.core.timeutil import parse_query_datetime

from .errors import ValidationFailed
from .fields import parse_uuid


class _ApiField(forms.Field):
    """A form field whose one conversion and message are given by its filter."""

    message = ""

    def convert(self, value: str) -> Any:  # None when `value` is not acceptable
        raise NotImplementedError

    def to_python(self, value):
        if value in self.empty_values:
            return None
        converted = self.convert(value)
        if converted is None:
            raise forms.ValidationError(self.message, code="invalid")
        return converted


class _UUIDField(_ApiField):
    message = "Must be a valid UUID."

    def convert(self, value: str) -> Any:
        return parse_uuid(value)


class _DateTimeField(_ApiField):
    message = "Must be an ISO 8601 date or date-time."

    def convert(self, value: str) -> Any:
        return parse_query_datetime(value)


class _BooleanField(_ApiField):
    message = "Must be true or false."

    def convert(self, value: str) -> Any:
        return {"true": True, "false": False}.get(value)


class _ChoiceField(_ApiField):
    def __init__(self, *, values, **kwargs):
        super().__init__(**kwargs)
        self.values = tuple(values)
        self.message = f"Must be one of {', '.join(self.values)}."

    def convert(self, value: str) -> str | None:
        return value if value in self.values else None


class _PhoneField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return normalize_phone(value)
        except PhoneError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class _SearchField(forms.CharField):
    def __init__(self, *, max_length: int, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        self.error_messages["max_length"] = f"At most {max_length} characters."


class UUIDFilter(django_filters.Filter):
    field_class = _UUIDField


class DateTimeFilter(django_filters.Filter):
    field_class = _DateTimeField


class BooleanFilter(django_filters.Filter):
    field_class = _BooleanField


class ChoiceFilter(django_filters.Filter):
    """One of `values` (a model's TextChoices.values); anything else: "Must be one of …"."""

    field_class = _ChoiceField


class PhoneFilter(django_filters.Filter):
    """A phone in strict E.164 (nuvlyx.core.phones), compared normalized."""

    field_class = _PhoneField


class SearchFilter(django_filters.Filter):
    """Free text of at most `max_length` characters, matched by the FilterSet's `method`."""

    field_class = _SearchField


class ApiFilterSet(django_filters.FilterSet):
    """Base of every list's FilterSet: parse() validates a query, apply() narrows a queryset."""

    @classmethod
    def parse(cls, query: Mapping) -> dict[str, Any]:
        """The query's filters as values ({name: value}, None when absent or empty), or 422."""
        data = {name: query.get(name) for name in cls.base_filters if query.get(name) is not None}
        if not any(data.values()):  # the common case on a hot list: nothing to validate
            return dict.fromkeys(cls.base_filters)
        form = cls._form_class()(data)
        if not form.is_valid():
            raise ValidationFailed(
                [{"field": name, "message": str(messages[0])} for name, messages in form.errors.items()]
            )
        return dict(form.cleaned_data)

    @classmethod
    def _form_class(cls):
        """django-filter builds the form class on every FilterSet instance (type() + a deep copy of every
        filter, ~1 ms a request in the profile); the fields never change, so it is built once per class."""
        form_class = cls.__dict__.get("_api_form_class")
        if form_class is None:
            form_class = cls(queryset=cls._queryset_of_nothing()).get_form_class()
            cls._api_form_class = form_class
        return form_class

    store: Any = None  # the store whose rows are filtered, for filters that read another table

    @classmethod
    def apply(cls, queryset: QuerySet, values: Mapping[str, Any], *, store=None) -> QuerySet:
        """`queryset` narrowed by values parse() returned (filters with an empty value are skipped)."""
        given = {name: value for name, value in values.items() if value not in (None, "", [], ())}
        if not given:
            return queryset
        filterset = cls(queryset=queryset)
        filterset.store = store
        for name, value in given.items():
            queryset = filterset.filters[name].filter(queryset, value)
        return queryset

    @classmethod
    def _queryset_of_nothing(cls) -> QuerySet:
        return cls._meta.model._default_manager.none()
