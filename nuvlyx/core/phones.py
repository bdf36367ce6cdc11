"""Phones: strict E.164, valid per phonenumbers."""

import re
from functools import lru_cache

import phonenumbers

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_STRICT = "Must be a phone number in strict E.164 format, such as +573001234567."


class PhoneError(ValueError):
    pass


def normalize_phone(value: object) -> str:
    """Return the E.164 form of a strictly formatted, valid phone number or raise PhoneError."""
    if not isinstance(value, str) or not _E164.match(value):
        raise PhoneError(_STRICT)
    problem = _e164_problem(value)
    if problem:
        raise PhoneError(problem)
    return value


@lru_cache(maxsize=16384)
def _e164_problem(value: str) -> str | None:
    """Why phonenumbers refuses this E.164-shaped string, or None. Pure, so remembered: a bot quotes and
    orders for the same few thousand customers all day, and phonenumbers' parse + validation is ~18 µs.
    16,384 entries (~3 MB a process) hold the benchmark's 10,000 customers: an LRU smaller than the set
    a client cycles through would never hit."""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return _STRICT
    if not phonenumbers.is_valid_number(parsed):
        return "Not a valid phone number (unassigned range or wrong length)."
    if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != value:
        return _STRICT
    return None


def parse_local_phone(value: str, country: str) -> str:
    """The owner's panel: a number as people write it ("300 555 1234", "(300) 555-1234") read with the
    store's country, or any international form ("+57 300…"), to E.164. The API keeps normalize_phone."""
    from django.utils.translation import gettext as _

    text = (value or "").strip()
    try:
        parsed = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        raise PhoneError(_("Not a phone number. Write it as %(example)s.") % {"example": _example(country)}) from None
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError(
            _("Not a valid phone number for %(country)s. Write it as %(example)s or in international form (+…).")
            % {"country": country, "example": _example(country)}
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _example(country: str) -> str:
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return "+573001234567"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
