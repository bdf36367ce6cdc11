"""nuvlyx.core.sql.prepared_cursor: the hot statements are PostgreSQL prepared statements, logged like
any other query, and plain statements again when DATABASE_PREPARED_STATEMENTS=false (no threshold)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nuvlyx.core.sql import prepared_cursor

pytestmark = pytest.mark.django_db

PROBE = "SELECT %s::int + 41 AS prepared_probe"


def _prepared_probes() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%prepared_probe%"])
        return cursor.fetchone()[0]


def test_a_hot_statement_is_prepared_once_and_logged_with_its_values():
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            with prepared_cursor() as cursor:
                cursor.execute(PROBE, [1])
                assert cursor.fetchone() == (42,)
    assert _prepared_probes() == 1
    assert [q["sql"] for q in queries] == ["SELECT 1::int + 41 AS prepared_probe"] * 3


def test_without_a_threshold_nothing_is_prepared():
    connection.ensure_connection()
    saved = connection.connection.prepare_threshold
    connection.connection.prepare_threshold = None  # what DATABASE_PREPARED_STATEMENTS=false configures
    try:
        with prepared_cursor() as cursor:
            cursor.execute(PROBE, [2])
            assert cursor.fetchone() == (43,)
        assert _prepared_probes() == 0
    finally:
        connection.connection.prepare_threshold = saved


def test_the_setting_turns_the_threshold_off(monkeypatch):
    import importlib

    from django.conf import settings as django_settings

    assert django_settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] == 0
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
    import nuvlyx.settings as project_settings

    try:
        reloaded = importlib.reload(project_settings)
        assert "prepare_threshold" not in reloaded.DATABASES["default"].get("OPTIONS", {})
    finally:
        monkeypatch.delenv("DATABASE_PREPARED_STATEMENTS")
        importlib.reload(project_settings)
