"""bench/order_placement.sql (pgbench) and the app's order placement cannot drift apart.

1. Every statement of the bench file runs against the real, migrated schema (EXPLAIN with its
   pgbench variables filled in): a renamed table or column fails here.
2. A real order placed through orders.services.order_place writes exactly the tables, with the
   same row locks, that the bench file writes; and every INSERT of the bench names the columns
   the app's statement (orders/sql.py, wallets/sql.py, nuvlyx/core/sql.py, bulk_insert) names,
   less only nullable columns the bench leaves NULL.
"""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.tests.factories import make_variation, stock
from orders.services import order_place
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db

BENCH_SQL = Path(__file__).resolve().parents[2] / "bench" / "order_placement.sql"
BENCH_ONLY_TABLES = {"bench_customers", "bench_variations"}  # created by bench/run.py


def bench_statements() -> list[str]:
    statements = []
    for line in BENCH_SQL.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("--", "\\set")) or line.rstrip(";") in ("BEGIN", "COMMIT"):
            continue
        statements.append(re.sub(r"\s*\\gset\s*$", "", line).rstrip(";"))
    return statements


def fill_variables(statement: str) -> str:
    """pgbench's :variables (typed parameters in prepared mode: :x::uuid, :x::text, :x::numeric) → a
    value of that type; an untyped one (a \\set number) → 1."""
    zero = "'00000000-0000-0000-0000-000000000000'"

    def value(match: re.Match) -> str:
        cast = match.group(2) or ""
        if cast == "::uuid":
            return zero + cast
        if cast == "::text":
            return "'COP'" + cast
        return "1" + cast

    return re.sub(r"(?<![:\w]):(\w+)(::\w+)?", value, statement)


def test_no_variable_sits_inside_quotes():
    """In prepared mode pgbench would send ':x' as the literal text, not the variable's value."""
    for statement in bench_statements():
        for literal in re.findall(r"'([^']*)'", statement):
            assert not re.search(r"(?<![:\w]):[a-z]", literal), (literal, statement)


def bench_touches() -> set[tuple[str, str]]:
    """(kind, table) for each INSERT, UPDATE and SELECT … FOR (NO KEY) UPDATE of the bench's transaction."""
    touched = set()
    for statement in bench_statements():
        touched |= touches(statement)
    return {t for t in touched if t[1] not in BENCH_ONLY_TABLES}


def touches(statement: str) -> set[tuple[str, str]]:
    found = set()
    for table in re.findall(r"\bINSERT INTO (\w+)", statement):
        found.add(("insert", table))
    for table in re.findall(r"\bUPDATE (\w+) SET\b", statement):
        found.add(("update", table))
    lock = re.search(r"\bFROM (\w+)[^;]*?\bFOR (?:NO KEY )?UPDATE\b", statement)
    if lock:
        found.add(("lock", lock.group(1)))
    return found


def insert_columns(statement: str) -> tuple[str, list[str]]:
    match = re.search(r"\bINSERT INTO (\w+) \(([^)]*)\)", statement)
    return match.group(1), [c.strip() for c in match.group(2).split(",")]


def model_for(table: str):
    return next(m for m in apps.get_models() if m._meta.db_table == table)


def test_every_bench_statement_runs_against_the_real_schema():
    statements = bench_statements()
    assert len(statements) >= 10
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_customers (n int, phone text)")
        cursor.execute("CREATE TEMP TABLE bench_variations (n int, variation_id uuid)")
        for statement in statements:
            cursor.execute("EXPLAIN " + fill_variables(statement))


def test_the_bench_writes_what_a_real_order_placement_writes(store):
    variation = make_variation(store, price="10000.00", duration_days=30)
    stock(variation, 2)
    make_customer(store, balance="25000.00", phone="+573001234567")
    order_place(store=store, customer_phone="+573001234567", items=[variation.pk])  # the store's counter row exists

    with CaptureQueriesContext(connection) as captured:
        order_place(store=store, customer_phone="+573001234567", items=[variation.pk])
    app_statements = [q["sql"].replace('"', "") for q in captured.captured_queries]
    app_touches = set().union(*(touches(s) for s in app_statements))

    assert bench_touches() == app_touches

    app_inserts = dict(insert_columns(s) for s in app_statements if re.search(r"\bINSERT INTO \w+ \(", s))
    for statement in bench_statements():
        if "INSERT INTO" not in statement:
            continue
        table, bench_columns = insert_columns(statement)
        app_columns = app_inserts[table]
        assert set(bench_columns) <= set(app_columns), (table, set(bench_columns) - set(app_columns))
        model = model_for(table)
        for column in set(app_columns) - set(bench_columns):
            field = next(f for f in model._meta.concrete_fields if f.column == column)
            assert field.null, f"{table}.{column} is written by the app but not by bench/order_placement.sql"
