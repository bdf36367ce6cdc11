"""Token matrix: every way to be unauthenticated is a 401 in the contract's body; scopes are 403."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import API, assert_error
from integrations import tokens
from integrations.models import ApiToken
from integrations.services import api_token_create, api_token_revoke
from nuvlyx.core.timeutil import now


@pytest.fixture
def valid_token(store):
    _, plaintext = api_token_create(store=store, name="t", scopes=["products:read"])
    return plaintext


def _get(client, authorization=None, path="/me"):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    return client.get(API + path, **headers)


def test_missing_header_is_401(client, db):
    body = assert_error(_get(client), 401, "unauthorized")
    assert body["error"] == "Unauthorized"


@pytest.mark.parametrize(
    "authorization",
    ["Token abc", "Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "bearer-nvl_live_x", "Bearer garbage", "Bearer \u00e9"],
)
def test_wrong_scheme_or_garbage_is_401(client, db, authorization):
    assert_error(_get(client, authorization), 401, "unauthorized")


def test_bad_checksum_is_401_without_any_query(client, valid_token):
    tampered = valid_token[:-1] + ("A" if valid_token[-1] != "A" else "B")
    assert not tokens.is_well_formed(tampered)
    with CaptureQueriesContext(connection) as queries:
        assert_error(_get(client, f"Bearer {tampered}"), 401, "unauthorized")
    assert len(queries) == 0


def test_unknown_token_with_valid_checksum_is_401(client, db):
    assert_error(_get(client, f"Bearer {tokens.generate()}"), 401, "unauthorized")


def test_revoked_token_is_401(client, store, valid_token):
    api_token_revoke(token=ApiToken.objects.get(store=store))
    assert_error(_get(client, f"Bearer {valid_token}"), 401, "unauthorized")


def test_expired_token_is_401(client, store):
    _, plaintext = api_token_create(
        store=store, name="old", scopes=["products:read"], expires_at=now() - timedelta(seconds=1)
    )
    assert_error(_get(client, f"Bearer {plaintext}"), 401, "unauthorized")


def test_valid_token_is_accepted_and_scheme_is_case_insensitive(client, valid_token):
    assert _get(client, f"Bearer {valid_token}").status_code == 200
    assert _get(client, f"bearer {valid_token}").status_code == 200


@pytest.mark.urls("nuvlyx.api.tests.kernel_urls")
def test_missing_scope_is_403_naming_the_scope(client, store):
    _, plaintext = api_token_create(store=store, name="t", scopes=["orders:read"])
    body = assert_error(_get(client, f"Bearer {plaintext}", "/boom"), 403, "forbidden")
    assert "products:read" in body["message"]


def test_401_comes_before_403_and_404(client, db):
    assert_error(_get(client, None, "/products/00000000-0000-4000-8000-000000000000"), 401, "unauthorized")
    assert_error(_get(client, None, "/no-such-route"), 401, "unauthorized")


def test_token_format_and_entropy(store):
    _, plaintext = api_token_create(store=store, name="t", scopes=["products:read"])
    assert plaintext.startswith("nvl_live_")
    assert len(plaintext) == len("nvl_live_") + 32 + 6
    assert tokens.is_well_formed(plaintext)
    # 32 base62 characters ≈ 190 bits of entropy.
    import math

    assert 32 * math.log2(62) >= 160


def test_no_token_plaintext_anywhere_in_the_database(store):
    _, plaintext = api_token_create(store=store, name="t", scopes=["products:read"])
    secret_part = plaintext[len("nvl_live_") :]
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM integrations_apitoken t")
        rows = [r[0] for r in cursor.fetchall()]
    assert rows
    for row in rows:
        assert plaintext not in row
        assert secret_part not in row
        assert secret_part[8:] not in row  # only the display prefix may be stored


def test_last_used_at_written_at_most_once_a_minute(client, store, valid_token):
    token = ApiToken.objects.get(store=store)
    assert token.last_used_at is None
    _get(client, f"Bearer {valid_token}")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        _get(client, f"Bearer {valid_token}")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    assert not any("UPDATE" in q["sql"] and "integrations_apitoken" in q["sql"] for q in queries)
    # a minute and more later (rewound through the ORM, which also drops every process's cached copy)
    token.last_used_at = first - timedelta(minutes=2)
    token.save(update_fields=["last_used_at"])
    _get(client, f"Bearer {valid_token}")
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first - timedelta(minutes=1)
