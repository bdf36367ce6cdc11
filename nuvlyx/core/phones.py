"""Phones: strict E.164, valid per phonenumbers."""

import re

import phonenumbers

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class PhoneError(ValueError):
    pass


def normalize_phone(value: object) -> str:
    """Return the E.164 form of a strictly formatted, valid phone number or raise PhoneError."""
    if not isinstance(value, str) or not _E164.match(value):
        raise PhoneError("Must be a phone number in strict E.164 format, such as +573001234567.")
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise PhoneError("Must be a phone number in strict E.164 format, such as +573001234567.") from None
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError("Not a valid phone number (unassigned range or wrong length).")
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if formatted != value:
        raise PhoneError("Must be a phone number in strict E.164 format, such as +573001234567.")
    return formatted
