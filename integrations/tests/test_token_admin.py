"""Settings → API Tokens in the admin: scoped to the owner's store; the token is shown exactly once."""

import re

import pytest
from django.contrib.auth import get_user_model

from integrations import tokens
from integrations.models import ApiToken
from integrations.services import api_token_create
from nuvlyx.core.services import store_create


@pytest.fixture
def owner_a(db):
    store = store_create(slug="store-a", name="Store A", owner_email="a@example.com", owner_password="pw-a-123456")
    return store, get_user_model().objects.get(username="a@example.com")


@pytest.fixture
def store_b(db):
    return store_create(slug="store-b", name="Store B", owner_email="b@example.com", owner_password="pw-b-123456")


def test_owner_sees_only_own_tokens_in_list_and_by_url(client, owner_a, store_b):
    store_a, user_a = owner_a
    mine, _ = api_token_create(store=store_a, name="bot-a", scopes=["orders:read"])
    theirs, _ = api_token_create(store=store_b, name="bot-b-secret-name", scopes=["orders:read"])
    client.force_login(user_a)
    listing = client.get("/admin/integrations/apitoken/")
    assert listing.status_code == 200
    assert "bot-a" in listing.content.decode()
    assert "bot-b-secret-name" not in listing.content.decode()
    assert client.get(f"/admin/integrations/apitoken/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/integrations/apitoken/{theirs.pk}/change/").status_code == 404


def test_created_token_is_revealed_once_after_a_redirect_and_works(client, owner_a):
    store_a, user_a = owner_a
    client.force_login(user_a)
    response = client.post(
        "/admin/integrations/apitoken/add/",
        {
            "mode": "live",
            "name": "whatsapp-bot",
            "scopes": ["orders:read", "orders:write"],
            "expires_at": "",
            "rate_limit_per_minute": "",
        },
    )
    token = ApiToken.objects.get(name="whatsapp-bot")
    reveal_url = f"/admin/integrations/apitoken/{token.pk}/reveal/"
    assert response.status_code == 302 and response["Location"] == reveal_url
    assert not re.findall(r"nvl_live_[0-9A-Za-z]{38}", response.content.decode())
    reveal = client.get(reveal_url)
    assert reveal.status_code == 200 and "no-store" in reveal["Cache-Control"]
    page = reveal.content.decode()
    found = re.findall(r"nvl_live_[0-9A-Za-z]{38}", page)
    assert found, page[:2000]
    plaintext = found[0]
    assert "navigator.clipboard" in page
    assert '["orders:read"' not in page and "Orders: read" in page  # readable permissions, no JSON
    assert tokens.is_well_formed(plaintext)
    assert token.store == store_a and token.scopes == ["orders:read", "orders:write"]
    assert token.token_hash == tokens.hash_token(plaintext)
    # The session never holds it in clear.
    from django.contrib.sessions.models import Session

    assert all(plaintext not in str(s.get_decoded()) for s in Session.objects.all())
    # Reload / back button: the same page, no secret, no new token.
    again = client.get(reveal_url)
    assert again.status_code == 200 and "no-store" in again["Cache-Control"]
    assert plaintext not in again.content.decode()
    assert not re.findall(r"nvl_live_[0-9A-Za-z]{38}", again.content.decode())
    assert ApiToken.objects.count() == 1
    # Never again: not on the list page, not on the change page.
    assert plaintext not in client.get("/admin/integrations/apitoken/").content.decode()
    assert plaintext not in client.get(f"/admin/integrations/apitoken/{token.pk}/change/").content.decode()
    # And it authenticates.
    me = client.get("/api/v1/external/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert me.status_code == 200 and me.json()["store"]["slug"] == "store-a"


def test_owner_revokes_with_the_button_after_confirming(client, owner_a):
    store_a, user_a = owner_a
    token, plaintext = api_token_create(store=store_a, name="bot", scopes=["orders:read"])
    client.force_login(user_a)
    revoke_url = f"/admin/integrations/apitoken/{token.pk}/do/revoke/"
    assert revoke_url in client.get(f"/admin/integrations/apitoken/{token.pk}/change/").content.decode()
    confirm = client.get(revoke_url)
    assert confirm.status_code == 200 and "stops working" in confirm.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None  # GET only asks
    response = client.post(revoke_url)
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/external/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code == 401
    assert revoke_url not in client.get(f"/admin/integrations/apitoken/{token.pk}/change/").content.decode()


def test_owner_cannot_revoke_other_stores_token(client, owner_a, store_b):
    _, user_a = owner_a
    theirs, _ = api_token_create(store=store_b, name="b", scopes=["orders:read"])
    client.force_login(user_a)
    assert client.post(f"/admin/integrations/apitoken/{theirs.pk}/do/revoke/").status_code == 404
    client.post("/admin/integrations/apitoken/", {"action": "revoke_selected", "_selected_action": [str(theirs.pk)]})
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_reveal_page_of_another_stores_token_is_404(client, owner_a, store_b):
    _, user_a = owner_a
    theirs, _ = api_token_create(store=store_b, name="b", scopes=["orders:read"])
    client.force_login(user_a)
    assert client.get(f"/admin/integrations/apitoken/{theirs.pk}/reveal/").status_code == 404


def test_admin_index_groups_settings_first_for_the_owner(client, owner_a):
    _, user_a = owner_a
    client.force_login(user_a)
    page = client.get("/admin/").content.decode()
    assert "Settings" in page and "API tokens" in page
    assert page.index("Settings") < page.index("API tokens")
