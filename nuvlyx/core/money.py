"""Money: Decimal only, two places, never floats. The API's format, and the owner's panel's (Babel)."""

import functools
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.languages import get_official_languages
from babel.numbers import format_currency, format_decimal, get_decimal_symbol, get_group_symbol
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop  # API rules: English in the API, translated in the panel

from .formats import format_amount as format_amount  # the API's formats have one home

TWO_PLACES = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")  # largest amount accepted as input (API.md)
MAX_BALANCE = Decimal("999999999999.99")  # what DecimalField(14, 2) can hold
# ASCII digits only: \d (and Decimal()) also take "١٠", "１０" or "१०".
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class MoneyError(ValueError):
    """Raised with a human message when an input amount breaks the rules."""


def quantize(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def parse_amount(value: object, *, allow_zero: bool = False, allow_negative: bool = False) -> Decimal:
    """Parse an input amount per API.md: a decimal string or a JSON number, at most 2 decimals.

    JSON numbers arrive as Decimal (the parser never makes floats) carrying their literal text.
    """
    if isinstance(value, bool) or value is None:
        raise MoneyError(gettext_noop('Must be a decimal string such as "10000.00".'))
    if isinstance(value, int):
        literal = str(value)
    elif isinstance(value, Decimal):
        literal = getattr(value, "literal", None) or str(value)
    elif isinstance(value, str):
        literal = value.strip()
        if literal != value or not literal:
            raise MoneyError(gettext_noop('Must be a decimal string such as "10000.00".'))
    elif isinstance(value, float):
        raise MoneyError(gettext_noop('Must be a decimal string such as "10000.00"; floats are not accepted.'))
    else:
        raise MoneyError(gettext_noop('Must be a decimal string such as "10000.00".'))
    if not _PLAIN_DECIMAL.fullmatch(literal):
        raise MoneyError(gettext_noop("Must be a plain decimal number (no exponent, NaN or Infinity)."))
    try:
        amount = Decimal(literal)
    except InvalidOperation:
        raise MoneyError(gettext_noop("Must be a plain decimal number.")) from None
    if not amount.is_finite():
        raise MoneyError(gettext_noop("Must be a finite number."))
    if "." in literal and len(literal.split(".", 1)[1]) > 2:
        raise MoneyError(gettext_noop("At most 2 decimal places are allowed."))
    if amount < 0 and not allow_negative:
        raise MoneyError(gettext_noop("Must not be negative."))
    if amount == 0 and not allow_zero:
        raise MoneyError(gettext_noop("Must be greater than zero."))
    if abs(amount) > MAX_AMOUNT:
        raise MoneyError(gettext_noop("Must not exceed 9999999999.99."))
    return quantize(amount)


# --- the owner's panel: amounts in the store's own format (Babel / CLDR) -------------------------
# The API never uses these: it keeps the contract's "10000.00" (format_amount / parse_amount above).
@functools.lru_cache(maxsize=64)
def store_locale(country: str) -> Locale:
    """The CLDR locale a store's country writes numbers in: its main official language + the country
    (CO → es_CO, BR → pt_BR, MX → es_MX, US → en_US); English when CLDR has no such locale."""
    for language in get_official_languages(country, de_facto=True):
        try:
            return Locale.parse(f"{language}_{country}")
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


def _display_pattern(locale: Locale, whole: bool) -> str:
    pattern = locale.currency_formats["standard"].pattern.split(";")[0]
    # "$ 50.000" is how Colombian prices are written; CLDR's es_CO pattern has no space after the
    # symbol, so a leading symbol gets a no-break space (as CLDR itself does for pt_BR "R$ 50.000,00").
    pattern = re.sub(r"¤(?=[#0])", "¤\u00a0", pattern)
    if whole:
        pattern = re.sub(r"\.0+", "", pattern)  # cents are omitted when they are zero: "$ 50.000"
    return pattern


def money_display(amount: Decimal | None, store, currency: str | None = None) -> str:
    """An amount as the store's owners write it: "$ 50.000", "$ 50.000,50", "R$ 1.234,50".

    Cents are shown only when they are not zero. `store` is anything with `country` and `currency`.
    """
    if amount is None:
        return "—"
    value = quantize(Decimal(amount))
    locale = store_locale(store.country)
    whole = value == value.to_integral_value()
    return format_currency(
        value,
        currency or store.currency,
        format=_display_pattern(locale, whole),
        locale=locale,
        currency_digits=False,
    )


def number_display(amount: Decimal | None, store) -> str:
    """The amount without the currency symbol, in the store's format (what a money input shows)."""
    if amount is None:
        return ""
    value = quantize(Decimal(amount))
    locale = store_locale(store.country)
    whole = value == value.to_integral_value()
    return format_decimal(value, format="#,##0" if whole else "#,##0.00", locale=locale)


def parse_local_amount(text: str, store, *, allow_zero: bool = False, allow_negative: bool = False) -> Decimal:
    """Read an amount typed in the admin, in the store's format, into a Decimal with 2 places.

    es-CO (decimal ",", group "."): "50.000", "50.000,00", "50000", "50000,5" and the plain
    "50000.00" are all accepted. A group symbol must be followed by exactly 3 digits; a "." followed
    by 1 or 2 digits is a decimal point (so "50000.00" works everywhere) except after 1-3 digits where
    "." groups thousands: "1.5", "15.00", "999.50" could be a mistyped "1.500" and are refused (write
    "12,50"). Anything else, e.g. the other convention's grouping "50,000" in es-CO, is refused as
    ambiguous rather than guessed.
    Range and sign rules are parse_amount's (the API's), so both sides agree on what is valid.
    """
    locale = store_locale(store.country)
    dec, group = get_decimal_symbol(locale), get_group_symbol(locale)
    raw = (text or "").strip().replace("\u00a0", " ")
    symbol = locale.currency_symbols.get(store.currency, "")
    for sym in sorted({symbol, "$"} - {""}, key=len, reverse=True):  # "R$" before "$"
        raw = raw.replace(sym, "").strip()
    sign = ""
    if raw.startswith("-"):
        sign, raw = "-", raw[1:].strip()
    if group.strip() == "":
        group = " "
    g, d = re.escape(group), re.escape(dec)
    if re.fullmatch(rf"[1-9]\d{{0,2}}({g}\d{{3}})+({d}\d{{1,2}})?", raw):
        normal = raw.replace(group, "").replace(dec, ".")
    elif re.fullmatch(rf"\d+({d}\d{{1,2}})?", raw):
        normal = raw.replace(dec, ".")
    elif re.fullmatch(r"\d+(\.\d{1,2})?", raw) and not (group == "." and re.fullmatch(r"\d{1,3}\.\d{1,2}", raw)):
        normal = raw  # the plain "50000.00"; where "." groups thousands, "1.5" or "15.00" is refused below
    elif re.fullmatch(rf"\d+{d}\d{{4,}}", raw):
        normal = raw.replace(dec, ".")  # too many decimals: parse_amount says so
    elif raw == "":
        raise MoneyError(_("Enter an amount."))
    elif re.fullmatch(r"[\d.,\s]+", raw):
        raise MoneyError(
            _("Ambiguous or badly grouped amount. Write it as %(example)s or %(plain)s.")
            % {"example": number_display(Decimal("50000.5"), store), "plain": "50000.50"}
        )
    else:
        raise MoneyError(_("Enter a number, such as %(example)s.") % {"example": number_display(Decimal(50000), store)})
    try:
        return parse_amount(sign + normal, allow_zero=allow_zero, allow_negative=allow_negative)
    except MoneyError as exc:
        raise MoneyError(_(str(exc))) from None  # the API's rule; its message translated for the owner
