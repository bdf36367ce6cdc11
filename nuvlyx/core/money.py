"""Money: Decimal only, two places, never floats."""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

TWO_PLACES = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")  # largest amount accepted as input (API.md)
MAX_BALANCE = Decimal("999999999999.99")  # what DecimalField(14, 2) can hold
_PLAIN_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


class MoneyError(ValueError):
    """Raised with a human message when an input amount breaks the rules."""


def quantize(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def format_amount(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return f"{quantize(Decimal(value)):.2f}"


def parse_amount(value: object, *, allow_zero: bool = False, allow_negative: bool = False) -> Decimal:
    """Parse an input amount per API.md: a decimal string or a JSON number, at most 2 decimals.

    JSON numbers arrive as Decimal (the parser never makes floats) carrying their literal text.
    """
    if isinstance(value, bool) or value is None:
        raise MoneyError('Must be a decimal string such as "10000.00".')
    if isinstance(value, int):
        literal = str(value)
    elif isinstance(value, Decimal):
        literal = getattr(value, "literal", None) or str(value)
    elif isinstance(value, str):
        literal = value.strip()
        if literal != value or not literal:
            raise MoneyError('Must be a decimal string such as "10000.00".')
    elif isinstance(value, float):
        raise MoneyError('Must be a decimal string such as "10000.00"; floats are not accepted.')
    else:
        raise MoneyError('Must be a decimal string such as "10000.00".')
    if not _PLAIN_DECIMAL.match(literal):
        raise MoneyError("Must be a plain decimal number (no exponent, NaN or Infinity).")
    try:
        amount = Decimal(literal)
    except InvalidOperation:
        raise MoneyError("Must be a plain decimal number.") from None
    if not amount.is_finite():
        raise MoneyError("Must be a finite number.")
    if "." in literal and len(literal.split(".", 1)[1]) > 2:
        raise MoneyError("At most 2 decimal places are allowed.")
    if amount < 0 and not allow_negative:
        raise MoneyError("Must not be negative.")
    if amount == 0 and not allow_zero:
        raise MoneyError("Must be greater than zero.")
    if abs(amount) > MAX_AMOUNT:
        raise MoneyError("Must not exceed 9999999999.99.")
    return quantize(amount)
