from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuvlyx.core.money import MoneyError, format_amount, parse_amount
from nuvlyx.core.phones import PhoneError, normalize_phone
from nuvlyx.core.timeutil import format_datetime, now, parse_query_datetime


def test_format_datetime_is_utc_with_milliseconds():
    value = datetime(2026, 5, 18, 14, 30, 0, 123987, tzinfo=UTC)
    assert format_datetime(value) == "2026-05-18T14:30:00.123Z"
    assert now().microsecond % 1000 == 0


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2026-05-18", datetime(2026, 5, 18, tzinfo=UTC)),
        ("2026-05-18T14:30:00.000Z", datetime(2026, 5, 18, 14, 30, tzinfo=UTC)),
        ("2026-05-18T09:30:00-05:00", datetime(2026, 5, 18, 14, 30, tzinfo=UTC)),
    ],
)
def test_parse_query_datetime(raw, expected):
    assert parse_query_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-01", "2026-02-30", "", "18/05/2026"])
def test_parse_query_datetime_rejects(raw):
    assert parse_query_datetime(raw) is None


def test_amounts():
    assert parse_amount("10000") == Decimal("10000.00")
    assert format_amount(Decimal("8500")) == "8500.00"
    for bad in ["1.001", "1e2", "NaN", "-1", "0", 1.5, True, "١٠", "１０", "10.٥٠", "5\n"]:
        with pytest.raises(MoneyError):
            parse_amount(bad)
    assert parse_amount("0", allow_zero=True) == Decimal("0.00")


def test_phones():
    assert normalize_phone("+573001234567") == "+573001234567"
    for bad in ["+57 3001234567", "573001234567", "+570001234567", "+1", None, 573001234567]:
        for _ in range(2):  # the verdict on a string is remembered: the second answer is the same
            with pytest.raises(PhoneError):
                normalize_phone(bad)
    assert normalize_phone("+573001234567") == "+573001234567"
