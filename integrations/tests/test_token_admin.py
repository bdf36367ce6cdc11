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
    other = client.get(f"/admin/integrations/apitoken/{theirs.pk}/change/")
    assert other.status_code in (302, 404)
    if other.status_code == 302:  # Django redirects to the index with "doesn't exist" for hidden objects
        assert "bot-b-secret-name" not in client.get(other["Location"]).content.decode()


def test_created_token_is_shown_once_and_works(client, owner_a):
    store_a, user_a = owner_a
    client.force_login(user_a)
    response = client.post(
        "/admin/integrations/apitoken/add/",
        {
            "name": "whatsapp-bot",
            "scopes": ["orders:read", "orders:write"],
            "expires_at": "",
            "rate_limit_per_minute": "",
        },
    )
    assert response.status_code == 200, response.content[:2000]
    page = response.content.decode()
    found = re.findall(r"nvl_live_[0-9A-Za-z]{38}", page)
    assert found, page[:2000]
    plaintext = found[0]
    assert tokens.is_well_formed(plaintext)
    token = ApiToken.objects.get(name="whatsapp-bot")
    assert token.store == store_a and token.scopes == ["orders:read", "orders:write"]
    assert token.token_hash == tokens.hash_token(plaintext)
    # Never again: not on the list page, not on the change page.
    assert plaintext not in client.get("/admin/integrations/apitoken/").content.decode()
    assert plaintext not in client.get(f"/admin/integrations/apitoken/{token.pk}/change/").content.decode()
    # And it authenticates.
    me = client.get("/api/v1/external/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert me.status_code == 200 and me.json()["store"]["slug"] == "store-a"


def test_owner_can_revoke(client, owner_a):
    store_a, user_a = owner_a
    token, plaintext = api_token_create(store=store_a, name="bot", scopes=["orders:read"])
    client.force_login(user_a)
    response = client.post(
        "/admin/integrations/apitoken/", {"action": "revoke_selected", "_selected_action": [str(token.pk)]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/external/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code == 401


def test_owner_cannot_revoke_other_stores_token(client, owner_a, store_b):
    _, user_a = owner_a
    theirs, _ = api_token_create(store=store_b, name="b", scopes=["orders:read"])
    client.force_login(user_a)
    client.post("/admin/integrations/apitoken/", {"action": "revoke_selected", "_selected_action": [str(theirs.pk)]})
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_admin_index_groups_settings_first_for_the_owner(client, owner_a):
    _, user_a = owner_a
    client.force_login(user_a)
    page = client.get("/admin/").content.decode()
    assert "Settings" in page and "API tokens" in page
    assert page.index("Settings") < page.index("API tokens")
