"""The hand-written SQL of the core app, and the one helper every app's sql.py builds its statements with.

Hand-written SQL is kept only where `make bench` measured it to win on a hot path (authentication,
price quote, order detail, order placement, stock take, ledger append, outbox); everything else is
the ORM. Each app keeps its statements in its own `sql.py`, written as templates whose table and
column names come from the models' `_meta` (`{Event}` → the table, `{Event.store}` → `store_id`),
so renaming a field or a table cannot leave a statement behind. Only names are interpolated, once,
at import; every value is a query parameter.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor

from .models import Event


class _PreparingCursor(ServerBindingCursor):
    """psycopg's server-side binding cursor (Django's own class for it), every statement prepared."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        result = super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)
        if connection.queries_logged:
            # What Django's query log reads (ops.last_executed_query: cursor._query.query), with the
            # values inlined as for the ORM's statements; psycopg leaves it unset for server-side binding.
            self._query = _LoggedQuery(connection.ops.compose_sql(query, params).encode())
        return result


class _LoggedQuery:
    __slots__ = ("query",)

    def __init__(self, query: bytes):
        self.query = query


def prepared_cursor():
    """A cursor for the hot paths' hand-written statements: each is parsed and planned once per
    connection (a PostgreSQL prepared statement, kept by psycopg, up to 100 per connection) instead of
    on every execution, as Django's client-side binding cursors do. Planning was most of the server's
    time on these point statements (EXPLAIN: 0.11-0.25 ms planning against 0.03-0.07 ms executing).
    Through Django's cursor wrapper: query logging, execute wrappers, error translation as usual.
    The ORM keeps Django's default cursors (its SQL is not written for server-side binding)."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_PreparingCursor(connection.connection))


class _Names:
    """`{M}` → M's table, `{M.field}` → that field's column (a name or an attname)."""

    def __init__(self, model):
        self._model = model

    def __str__(self) -> str:
        return self._model._meta.db_table

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __getattr__(self, name: str) -> str:
        return self._model._meta.get_field(name).column


def render(template: str, **models) -> str:
    """The statement with every `{Model}` / `{Model.field}` replaced by the model's real names."""
    return template.format(**{alias: _Names(model) for alias, model in models.items()})


def bulk_insert(model, objects: list) -> None:
    """INSERT rows in one statement, hand-built from the model's concrete fields (every value must
    already be set: defaults are evaluated at instantiation), skipping bulk_create's per-call ORM
    compilation on hot paths."""
    if not objects:
        return
    fields = [f for f in model._meta.concrete_fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    insert = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608
    params = [f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in objects for f in fields]
    with prepared_cursor() as cursor:
        cursor.execute(insert + ", ".join([row] * len(objects)), params)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias


# The outbox: the events of one change in one INSERT. The consumers' interest tests (their `wants_sql`,
# over `wanted_for.store_id` / `wanted_for.types`) run inside the same statement: events nobody wants are
# written dispatched already, so the change costs no extra statement, commit or task (issue 15).
_EVENT_INSERT_HEAD = render(
    "WITH wanted_for AS (SELECT %s::uuid AS store_id, %s::text[] AS types)"
    " INSERT INTO {E} ({E.id}, {E.store}, {E.type}, {E.payload_encrypted}, {E.created_at}, {E.dispatched_at})"
    " SELECT v.id, v.store_id, v.type, v.payload, v.created_at, CASE WHEN w.wanted THEN NULL ELSE v.created_at END"
    " FROM (VALUES ",
    E=Event,
)
_EVENT_INSERT_TAIL = render(
    ") AS v(id, store_id, type, payload, created_at)"
    " CROSS JOIN (SELECT ({{wanted}}) AS wanted FROM wanted_for) AS w RETURNING {E.dispatched_at} IS NULL",
    E=Event,
)
_EVENT_ROW = "(%s::uuid, %s::uuid, %s, %s, %s::timestamptz)"


def event_insert(rows: int, wanted: str) -> str:
    """The INSERT of `rows` events of one store; params: store id, the types, then 5 per event. Each
    returned row says whether the event was wanted (left undispatched for the fan-out)."""
    return _EVENT_INSERT_HEAD + ", ".join([_EVENT_ROW] * rows) + _EVENT_INSERT_TAIL.replace("{wanted}", wanted)


def events_wanted(wanted: str) -> str:
    """The interest test alone; params: store id, the types."""
    return f"SELECT ({wanted}) FROM (SELECT %s::uuid AS store_id, %s::text[] AS types) AS wanted_for"  # noqa: S608 - consumers' fixed SQL


# --- aware datetimes are sent to PostgreSQL in UTC ---------------------------------------------------
@lru_cache(maxsize=1)
def _utc_dumpers():
    from datetime import UTC

    from psycopg.types.datetime import DatetimeBinaryDumper, DatetimeDumper

    def utc(value):
        try:
            return value.astimezone(UTC)
        except OverflowError:  # outside years 1-9999 in UTC: as given (PostgreSQL decides)
            return value

    class UtcDatetimeDumper(DatetimeDumper):
        def dump(self, obj):
            return super().dump(utc(obj))

    class UtcDatetimeBinaryDumper(DatetimeBinaryDumper):
        def dump(self, obj):
            return super().dump(utc(obj))

    return UtcDatetimeDumper, UtcDatetimeBinaryDumper


def send_datetimes_in_utc(sender, connection, **kwargs) -> None:
    """connection_created: psycopg sends an aware datetime with its own offset, and PostgreSQL refuses
    offsets beyond ±15:59 that Python accepts up to ±23:59 (a filter value such as "…+20:00" in the admin
    or the API was a 500). The same instant in UTC is what a timestamptz stores anyway."""
    if connection.vendor != "postgresql":
        return
    from datetime import datetime

    text, binary = _utc_dumpers()
    adapters = connection.connection.adapters
    adapters.register_dumper(datetime, text)
    adapters.register_dumper(datetime, binary)
