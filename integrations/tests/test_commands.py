"""Operator commands: exact stdout for scripts, clear stderr and non-zero exit on bad arguments."""

import subprocess
import sys
import uuid
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from conftest import subprocess_env
from integrations import tokens
from integrations.models import ApiToken
from nuvlyx.core.models import Store, StoreMember
from nuvlyx.core.timeutil import now


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_store_prints_uuid_last_and_creates_owner(db):
    out = run("create_store", "shop1", "--name", "Shop One", "--currency", "usd", "--owner-email", "o@example.com")
    last = out.strip().splitlines()[-1]
    store = Store.objects.get(pk=uuid.UUID(last))
    assert store.slug == "shop1" and store.currency == "USD" and store.name == "Shop One"
    assert StoreMember.objects.filter(store=store, user__username="o@example.com", role="owner").exists()


@pytest.mark.parametrize(
    "args", [["shop1", "--name", "X"], ["bad slug!", "--name", "X"], ["shop2", "--name", "X", "--currency", "pesos"]]
)
def test_create_store_bad_arguments(db, args):
    run("create_store", "shop1", "--name", "Shop One")
    with pytest.raises(CommandError):
        run("create_store", *args)
    assert Store.objects.count() == 1


def test_create_token_prints_only_the_token(store):
    out = run(
        "create_token", store.slug, "--name", "bot", "--scopes", "orders:read,wallet:write", "--expires-in-days", "30"
    )
    assert out.endswith("\n") and out.count("\n") == 1
    plaintext = out.strip()
    assert tokens.is_well_formed(plaintext)
    token = ApiToken.objects.get(token_hash=tokens.hash_token(plaintext))
    assert token.scopes == ["orders:read", "wallet:write"] and token.expires_at is not None


def test_create_token_test_mode_acts_on_the_sandbox(store, client):
    plaintext = run("create_token", store.slug, "--name", "bot", "--all-scopes", "--test").strip()
    assert plaintext.startswith("nvl_test_") and tokens.is_well_formed(plaintext)
    token = ApiToken.objects.select_related("store").get(token_hash=tokens.hash_token(plaintext))
    assert token.store.sandbox_of_id == store.pk
    me = client.get("/api/v1/external/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert me.status_code == 200 and me.json()["livemode"] is False
    assert "revoked" in run("revoke_token", tokens.display_prefix(plaintext))


def test_create_token_all_scopes(store):
    from nuvlyx.api.permissions import SCOPES

    plaintext = run("create_token", store.slug, "--name", "all", "--all-scopes").strip()
    assert ApiToken.objects.get(token_hash=tokens.hash_token(plaintext)).scopes == list(SCOPES)


@pytest.mark.parametrize(
    "args",
    [
        ["nope", "--name", "x", "--all-scopes"],
        ["acme", "--name", "x", "--scopes", "orders:read,orders:destroy"],
        ["acme", "--name", "x", "--scopes", ""],
        ["acme", "--name", "x", "--all-scopes", "--expires-in-days", "0"],
    ],
)
def test_create_token_bad_arguments(store, args):
    with pytest.raises(CommandError):
        run("create_token", *args)
    assert not ApiToken.objects.exists()


def test_revoke_token(store):
    plaintext = run("create_token", store.slug, "--name", "bot", "--all-scopes").strip()
    prefix = tokens.display_prefix(plaintext)
    assert "revoked" in run("revoke_token", prefix)
    assert ApiToken.objects.get(prefix=prefix).revoked_at is not None
    with pytest.raises(CommandError):
        run("revoke_token", prefix)
    with pytest.raises(CommandError):
        run("revoke_token", "nvl_live_unknown")


def test_bad_arguments_exit_non_zero_with_stderr(db):
    """The real process: scripts see a non-zero exit and a message on stderr, nothing on stdout."""
    result = subprocess.run(
        [sys.executable, "manage.py", "create_token", "no-such-store", "--name", "x", "--all-scopes"],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert result.returncode != 0
    assert "unknown store" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("test_mode", [False, True])
def test_revoke_token_accepts_the_whole_token(store, test_mode):
    plaintext = run("create_token", store.slug, "--name", "bot", "--all-scopes", *(["--test"] if test_mode else []))
    plaintext = plaintext.strip()
    out = run("revoke_token", plaintext)
    assert f"revoked {tokens.display_prefix(plaintext)}" in out and plaintext not in out
    assert ApiToken.objects.get(token_hash=tokens.hash_token(plaintext)).revoked_at is not None


def test_revoke_token_never_echoes_a_secret(store):
    plaintext = run("create_token", store.slug, "--name", "bot", "--all-scopes").strip()
    unknown = tokens.generate()
    mistyped = plaintext[:-1] + ("a" if plaintext[-1] != "a" else "b")
    for given in (unknown, mistyped):
        with pytest.raises(CommandError) as excinfo:
            run("revoke_token", given)
        message = str(excinfo.value)
        assert tokens.display_prefix(given) in message
        assert given[tokens.DISPLAY_PREFIX_LENGTH :] not in message
        assert given[tokens.DISPLAY_PREFIX_LENGTH : tokens.DISPLAY_PREFIX_LENGTH + 4] not in message
    assert ApiToken.objects.get().revoked_at is None  # a mistyped token revokes nothing


@pytest.mark.parametrize("redis_url", ["", "redis://127.0.0.1:1/0"], ids=["no-redis-url", "redis-unreachable"])
def test_revoke_token_warns_when_running_servers_cannot_be_told(store, redis_url, settings):
    plaintext = run("create_token", store.slug, "--name", "bot", "--all-scopes").strip()
    settings.REDIS_URL = redis_url
    settings.TOKEN_CACHE_SECONDS = 300
    out, err = StringIO(), StringIO()
    call_command("revoke_token", tokens.display_prefix(plaintext), stdout=out, stderr=err)
    assert "revoked" in out.getvalue()
    assert "may accept it for up to 300 seconds unless restarted" in err.getvalue()
    assert ApiToken.objects.get().revoked_at is not None  # kept: it is in the database


def test_revoke_token_no_warning_when_published(store):
    plaintext = run("create_token", store.slug, "--name", "bot", "--all-scopes").strip()
    out, err = StringIO(), StringIO()
    call_command("revoke_token", tokens.display_prefix(plaintext), stdout=out, stderr=err)
    assert "revoked" in out.getvalue() and err.getvalue() == ""


def test_revoke_token_announces_again_a_token_revoked_by_hand(store, monkeypatch):
    """docs/scaling.md: after a revocation written in SQL (never published), run revoke_token."""
    from integrations import token_cache

    plaintext = run("create_token", store.slug, "--name", "bot", "--all-scopes").strip()
    ApiToken.objects.update(revoked_at=now())  # by hand: no signal, nothing published
    published = []
    monkeypatch.setattr(token_cache, "publish", lambda *keys: published.extend(keys) or True)
    with pytest.raises(CommandError, match="already revoked"):
        run("revoke_token", tokens.display_prefix(plaintext))
    assert published == [tokens.hash_token(plaintext)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--expires-in-days", "999999999"], "--expires-in-days"),
        (["--rate-limit", "99999999999"], "--rate-limit"),
        (["--rate-limit", "2147483648"], "--rate-limit"),
        (["--name", "n" * 101], "--name"),
    ],
)
def test_create_token_out_of_range_is_a_clear_error(store, args, message):
    """These were tracebacks (OverflowError, integer out of range, value too long) after the checks."""
    with pytest.raises(CommandError, match=message) as excinfo:
        run("create_token", store.slug, "--name", "bot", "--all-scopes", *args)
    assert "\n" not in str(excinfo.value)
    assert not ApiToken.objects.exists()


def test_create_token_largest_values_fit(store):
    plaintext = run(
        "create_token", store.slug, "--name", "n" * 100, "--all-scopes", "--expires-in-days", "36500",
        "--rate-limit", "2147483647",
    ).strip()  # fmt: skip
    token = ApiToken.objects.get(token_hash=tokens.hash_token(plaintext))
    assert token.rate_limit_per_minute == 2147483647 and len(token.name) == 100


@pytest.mark.parametrize(
    "args, message",
    [
        (["--owner-email", "not-an-email"], "not a valid email"),
        (["--owner-email", ""], "not a valid email"),
        (["--currency", "XYZ"], "ISO 4217"),
        (["--currency", "ABC"], "ISO 4217"),
    ],
)
def test_create_store_refuses_bad_email_and_currency(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_store", "shop1", "--name", "Shop One", *args)
    assert not Store.objects.exists()
    assert not get_user_model().objects.exists()


def test_create_store_refuses_an_owner_of_another_store(db):
    run("create_store", "shop1", "--name", "Shop One", "--owner-email", "o@example.com")
    with pytest.raises(CommandError, match="already belongs to store 'shop1'"):
        run("create_store", "shop2", "--name", "Shop Two", "--owner-email", "O@example.com")
    assert list(Store.objects.values_list("slug", flat=True)) == ["shop1"]
    assert StoreMember.objects.count() == 1


# --- demo_setup -------------------------------------------------------------------------------------
@pytest.fixture
def demo_var(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the encrypted demo token file goes here, not into var/


def test_demo_setup_refuses_without_debug(db, demo_var, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--allow-production"):
        run("demo_setup")
    assert not Store.objects.exists() and not get_user_model().objects.exists()


def test_demo_setup_with_debug_or_the_flag(db, demo_var, settings):
    settings.DEBUG = True
    out = run("demo_setup", "--port", "8123")
    assert "Nuvlyx demo is ready." in out and "http://127.0.0.1:8123/" in out
    settings.DEBUG = False
    assert "the same as last time" in run("demo_setup", "--allow-production")


@pytest.mark.parametrize("port", ["0", "65536", "-1"])
def test_demo_setup_refuses_a_bad_port(db, demo_var, settings, port):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="--port"):
        run("demo_setup", "--port", port)
    assert not Store.objects.exists()


def test_demo_setup_refuses_a_demo_slug_that_is_not_the_demo_store(db, demo_var, settings):
    settings.DEBUG = True
    run("create_store", "demo", "--name", "Someone's real store", "--owner-email", "real@example.com")
    with pytest.raises(CommandError, match="not the demo store"):
        run("demo_setup")
    assert not ApiToken.objects.exists()
    assert not get_user_model().objects.filter(username="owner@demo.nuvlyx.local").exists()
