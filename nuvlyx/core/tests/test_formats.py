"""nuvlyx.core.formats: the one definition of how ids, amounts and timestamps are written, and the
SQL forms the hot paths use must write the very same text."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from django.db import connection

from nuvlyx.core.formats import (
    SQL_TIMESTAMP,
    format_amount,
    format_datetime,
    format_id,
    format_order_number,
    sql_timestamps,
)

pytestmark = pytest.mark.django_db

MOMENTS = [
    datetime(2026, 5, 18, 14, 30, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, 678999, tzinfo=UTC),  # truncated, never rounded, to milliseconds
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),  # next year in UTC
]


def test_python_formats():
    assert format_datetime(MOMENTS[0]) == "2026-05-18T14:30:00.000Z"
    assert format_datetime(MOMENTS[1]) == "2026-01-02T03:04:05.678Z"
    assert format_datetime(MOMENTS[2]) == "2027-01-01T04:59:59.999Z"
    assert format_datetime(None) is None
    assert format_amount(Decimal("10000")) == "10000.00"
    assert format_amount(Decimal("0.005")) == "0.01"
    assert format_amount(None) is None
    assert format_id(UUID("0b6e0b9e-7f5a-4f57-9b1e-2f0a3c4d5e6f")) == "0b6e0b9e-7f5a-4f57-9b1e-2f0a3c4d5e6f"
    assert format_order_number(42) == "ORD-000042"


def test_sql_forms_write_what_python_writes():
    uuid = UUID("0b6e0b9e-7f5a-4f57-9b1e-2f0a3c4d5e6f")
    with connection.cursor() as cursor:
        for moment in MOMENTS:
            cursor.execute("SELECT " + SQL_TIMESTAMP.format("%s::timestamptz"), [moment])
            assert cursor.fetchone()[0] == format_datetime(moment)
        cursor.execute(sql_timestamps("SELECT TS(%s::timestamptz), TS(NULL::timestamptz)"), [MOMENTS[1]])
        assert cursor.fetchone() == (format_datetime(MOMENTS[1]), None)
        for amount in (Decimal("0"), Decimal("10000.5"), Decimal("999999999999.99")):
            cursor.execute("SELECT %s::numeric(14, 2)::text", [amount])
            assert cursor.fetchone()[0] == format_amount(amount)
        cursor.execute("SELECT %s::uuid::text", [uuid])
        assert cursor.fetchone()[0] == format_id(uuid)
