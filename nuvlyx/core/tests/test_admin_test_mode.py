"""The admin's "Test data" switch: the sandbox with a banner on every page; tokens of either mode from one page.
(The whole-admin tenancy walk in both modes is test_admin_tenancy_walk.py.)"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from integrations import tokens
from integrations.models import ApiToken
from nuvlyx.core.models import AdminPreference, Store
from nuvlyx.core.services import store_create
from wallets.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    store = store_create(slug="tienda", name="Tienda Ana", owner_email="ana@example.com", owner_password="pw-12345678")
    Customer.objects.create(store=store, name="Cliente Real")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(get_user_model().objects.get(username="ana@example.com"))
    return store, client


def test_switch_shows_the_sandbox_with_a_banner_on_every_page_and_back(owner):
    store, client = owner
    index = client.get("/admin/").content.decode()
    assert 'id="nvl-test-switch"' in index and 'id="nvl-test-banner"' not in index
    assert not Store.objects.filter(sandbox_of=store).exists()

    response = client.post("/admin/test-mode/", {"test_mode": "1"})

    assert response.status_code == 302 and response["Location"] == "/admin/"
    sandbox = Store.objects.get(sandbox_of=store)  # created on the first switch
    Customer.objects.create(store=sandbox, name="Cliente de Prueba")
    for url in ("/admin/", "/admin/wallets/customer/", "/admin/catalog/product/add/", "/admin/orders/order/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert 'id="nvl-test-banner"' in page.content.decode(), url
    customers = client.get("/admin/wallets/customer/").content.decode()
    assert "Cliente de Prueba" in customers and "Cliente Real" not in customers

    client.post("/admin/test-mode/", {"test_mode": "0"})

    page = client.get("/admin/wallets/customer/").content.decode()
    assert 'id="nvl-test-banner"' not in page
    assert "Cliente Real" in page and "Cliente de Prueba" not in page
    assert Store.objects.filter(sandbox_of=store).count() == 1


def test_switch_is_a_post_for_signed_in_staff_only():
    assert Client().post("/admin/test-mode/", {"test_mode": "1"})["Location"].startswith("/admin/login/")
    assert Client().get("/admin/test-mode/").status_code == 405
    assert not Store.objects.exists()


def test_token_mode_is_chosen_explicitly_on_the_add_form(owner):
    store, client = owner
    form = client.get("/admin/integrations/apitoken/add/").content.decode()
    assert 'name="mode"' in form and "checked" not in re.search(r'<div id="id_mode".*?</div>', form, re.S).group(0)
    missing = client.post("/admin/integrations/apitoken/add/", {"name": "bot", "scopes": ["orders:read"]})
    assert missing.status_code == 200 and not ApiToken.objects.exists()  # no mode, no token

    response = client.post(
        "/admin/integrations/apitoken/add/", {"mode": "test", "name": "bot-prueba", "scopes": ["orders:read"]}
    )

    token = ApiToken.objects.get(name="bot-prueba")
    assert response.status_code == 302 and response["Location"].endswith(f"/{token.pk}/reveal/")
    assert token.store == Store.objects.get(sandbox_of=store) and token.prefix.startswith("nvl_test_")
    [plaintext] = re.findall(r"nvl_test_[0-9A-Za-z]{38}", client.get(response["Location"]).content.decode())
    assert tokens.hash_token(plaintext) == token.token_hash
    me = client.get("/api/v1/external/me", HTTP_AUTHORIZATION=f"Bearer {plaintext}").json()
    assert me["livemode"] is False
    # both modes on one list, told apart
    client.post("/admin/integrations/apitoken/add/", {"mode": "live", "name": "bot-real", "scopes": ["orders:read"]})
    listing = client.get("/admin/integrations/apitoken/").content.decode()
    assert "bot-prueba" in listing and "bot-real" in listing and ">Test<" in listing and ">Live<" in listing
    assert AdminPreference.objects.filter(test_mode=True).count() == 0  # creating a test token flips nothing
