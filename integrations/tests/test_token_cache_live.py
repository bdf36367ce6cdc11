"""Issue 15: tokens are authenticated from each web process's memory, and a revocation or a scope
change reaches every process within 1 s through Redis (integrations/token_cache.py).

A real gunicorn (2 workers) serves the test database; the test process changes the token the way the
product does (the service, the admin's save) and watches the answers of both workers.
"""

import time

import pytest
import requests
from django.db import connection

from integrations.models import ApiToken
from integrations.services import api_token_revoke

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def _get(url: str, headers: dict) -> int:
    # a new connection per request: a kept-alive one would stay with one worker
    return requests.get(url, headers={**headers, "Connection": "close"}, timeout=10).status_code


def _answers_after(url: str, headers: dict, *, seconds: float) -> list[tuple[float, int]]:
    """(seconds since start, status) of back-to-back requests over `seconds`, spread over the workers."""
    answers = []
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        answers.append((elapsed, _get(url, headers)))
    return answers


def _warm(url: str, headers: dict) -> None:
    for _ in range(60):  # enough for both workers to have authenticated (and cached) the token
        assert _get(url, headers) == 200


def test_a_revocation_reaches_every_process_within_a_second(live_server_proc, store, make_token):
    server = live_server_proc(workers=2, threads=2)
    raw = make_token(store, scopes=["products:read"], rate_limit_per_minute=1_000_000)
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"{server.api}/me"
    _warm(url, headers)
    token = ApiToken.objects.get(store=store)

    # the processes really authenticate from memory: a change that bypasses the product's write paths
    # (raw SQL, so no invalidation is published) is not seen by a process that cached the token
    with connection.cursor() as cursor:
        cursor.execute("UPDATE integrations_apitoken SET revoked_at = now() WHERE id = %s", [token.pk])
    assert 200 in {status for _, status in _answers_after(url, headers, seconds=0.5)}
    with connection.cursor() as cursor:
        cursor.execute("UPDATE integrations_apitoken SET revoked_at = NULL WHERE id = %s", [token.pk])

    # when: the owner revokes it through the product (admin button, API, manage.py revoke_token)
    token.refresh_from_db()
    api_token_revoke(token=token)

    # then: within 1 s every answer, from either worker, is 401
    answers = _answers_after(url, headers, seconds=1.6)
    late = [status for elapsed, status in answers if elapsed >= 1.0]
    assert len(late) >= 10, answers
    assert set(late) == {401}, answers


def test_a_scope_change_reaches_every_process_within_a_second(live_server_proc, store, make_token):
    server = live_server_proc(workers=2, threads=2)
    raw = make_token(store, scopes=["products:read", "orders:read"], rate_limit_per_minute=1_000_000)
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"{server.api}/orders"
    _warm(url, headers)

    # when: the owner removes orders:read in the admin (a model save)
    token = ApiToken.objects.get(store=store)
    with connection.cursor() as cursor:  # (without the product's write path, the processes keep their copy)
        cursor.execute("UPDATE integrations_apitoken SET scopes = '[]'::jsonb WHERE id = %s", [token.pk])
    assert 200 in {status for _, status in _answers_after(url, headers, seconds=0.5)}
    token.scopes = ["products:read"]
    token.save(update_fields=["scopes"])

    answers = _answers_after(url, headers, seconds=1.6)
    late = [status for elapsed, status in answers if elapsed >= 1.0]
    assert len(late) >= 10, answers
    assert set(late) == {403}, answers
