"""Time helpers: the API's timestamps have millisecond precision, so storage does too."""

from datetime import UTC, date, datetime, time

from django.utils import timezone as dj_timezone
from django.utils.dateparse import parse_date, parse_datetime

from .formats import format_datetime as format_datetime  # the API's formats have one home


def truncate_ms(value: datetime) -> datetime:
    return value.replace(microsecond=(value.microsecond // 1000) * 1000)


def now() -> datetime:
    """The current time, truncated to milliseconds (what we store and render)."""
    return truncate_ms(dj_timezone.now())


def parse_query_datetime(raw: str) -> datetime | None:
    """ISO 8601 with offset or Z, or a bare date (midnight UTC). None when unparseable.

    A datetime without an offset is taken as UTC. The instant is returned in UTC: Python reads offsets
    up to ±23:59, PostgreSQL refuses any beyond ±15:59 (a 500 when passed through), and an instant that
    falls outside years 1-9999 in UTC is None like any other unreadable value.
    """
    raw = raw.strip()
    try:
        parsed = parse_datetime(raw)
    except ValueError:
        return None
    if parsed is None:
        try:
            day: date | None = parse_date(raw)
        except ValueError:
            return None
        if day is None:
            return None
        return datetime.combine(day, time.min, tzinfo=UTC)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None
