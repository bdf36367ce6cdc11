"""Model fields shared by every app."""

from django.db import models

from .timeutil import now, truncate_ms


class MillisecondDateTimeField(models.DateTimeField):
    """A DateTimeField stored with millisecond precision (what the API renders and filters on)."""

    def pre_save(self, model_instance, add):
        value = super().pre_save(model_instance, add)
        if value is not None:
            value = truncate_ms(value)
            setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is not None and hasattr(value, "microsecond"):
            value = truncate_ms(value)
        return value


class CreatedAtField(MillisecondDateTimeField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", now)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", False)
        super().__init__(*args, **kwargs)


class UpdatedAtField(MillisecondDateTimeField):
    """Set to now on every save (auto_now with millisecond precision)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", now)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance, add):
        value = now()
        setattr(model_instance, self.attname, value)
        return value


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def is_money_field(db_field) -> bool:
    """What money_field() makes (the admin types and shows these in the store's format)."""
    return isinstance(db_field, models.DecimalField) and (db_field.max_digits, db_field.decimal_places) == (14, 2)
