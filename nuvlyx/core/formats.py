"""How the API writes ids, amounts, timestamps and order numbers: the one place that decides it.

Every renderer (`<app>/render.py`) formats through these, and the hand-written SQL that pre-renders
values for speed uses the SQL forms below, which produce the same text (tests hold them together):
- ids: canonical UUID text (`str(uuid)` = `uuid::text`);
- amounts: two decimals, no grouping (`"10000.00"`; a numeric(14, 2) column's `::text`);
- timestamps: UTC, milliseconds, a `Z` (`2026-05-18T14:30:00.000Z`; SQL_TIMESTAMP);
- order numbers: `ORD-000042`.
"""

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import overload
from uuid import UUID

_TWO_PLACES = Decimal("0.01")


@overload
def format_id(value: UUID | str) -> str: ...
@overload
def format_id(value: None) -> None: ...
@overload
def format_id(value: UUID | str | None) -> str | None: ...
def format_id(value: UUID | str | None) -> str | None:
    return None if value is None else str(value)


@overload
def format_amount(value: Decimal | int) -> str: ...
@overload
def format_amount(value: None) -> None: ...
@overload
def format_amount(value: Decimal | int | None) -> str | None: ...
def format_amount(value: Decimal | int | None) -> str | None:
    if value is None:
        return None
    return f"{Decimal(value).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP):.2f}"


@overload
def format_datetime(value: datetime) -> str: ...
@overload
def format_datetime(value: None) -> None: ...
@overload
def format_datetime(value: datetime | None) -> str | None: ...
def format_datetime(value: datetime | None) -> str | None:
    """`2026-05-18T14:30:00.000Z` (isoformat is implemented in C: this runs for every row of a list)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def format_order_number(number: int) -> str:
    return f"ORD-{number:06d}"


# --- the same formats in SQL ------------------------------------------------------------------------
SQL_TIMESTAMP = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


def sql_timestamps(statement: str) -> str:
    """TS(column) in `statement` → the column as format_datetime() writes it (both truncate to ms)."""
    return re.sub(r"TS\(([^)]+)\)", lambda match: SQL_TIMESTAMP.format(match.group(1)), statement)
