"""Settings → WhatsApp (Mosend) in the admin, as the store owner: key write-only, test button, routes."""

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from integrations.models import MosendConnection, TemplateRoute
from integrations.tests.fake_mosend import FakeMosend
from integrations.tests.whatsapp_helpers import API_KEY, connect, route
from nuvlyx.core import crypto
from nuvlyx.core.services import store_create

pytestmark = pytest.mark.django_db

BASE = "/admin/integrations"


@pytest.fixture
def owner(client):
    store = store_create(slug="tienda", name="Tienda", owner_email="owner@example.com", owner_password="pw-123456")
    client.force_login(get_user_model().objects.get(username="owner@example.com"))
    return store


def route_form(**overrides):
    data = {
        "event_type": "order.completed",
        "template_name": "pedido_entregado",
        "language": "es_CO",
        "enabled": "on",
        "param_1": "customer_name",
        "param_2": "order_number",
        "param_3": "credentials",
    }
    data.update(overrides)
    return data


def test_owner_adds_connection_key_is_encrypted_and_never_rendered(client, owner):
    response = client.post(f"{BASE}/mosendconnection/add/", {"api_key": API_KEY, "sender": "1098", "enabled": "on"})
    assert response.status_code == 302, response.content[:3000]
    conn = MosendConnection.objects.get(store=owner)
    assert conn.api_key_encrypted != API_KEY and crypto.decrypt(conn.api_key_encrypted) == API_KEY
    assert (conn.sender, conn.enabled, conn.api_key_last4) == ("1098", True, API_KEY[-4:])

    for url in (f"{BASE}/mosendconnection/", f"{BASE}/mosendconnection/{conn.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert API_KEY not in html
        assert conn.api_key_encrypted not in html
        assert f"····{API_KEY[-4:]}" in html
    # one connection per store: no second "add"
    assert client.get(f"{BASE}/mosendconnection/add/").status_code == 403


@pytest.mark.parametrize("key", ["mk_live_SECRET\u2014KEY_abcd", "mk_live with space", "mk_live_\u00f1"])
def test_a_key_an_http_header_cannot_carry_is_refused_on_save(client, owner, key):
    """A pasted em dash or a space: refused here, instead of failing every send (and the test button)."""
    response = client.post(f"{BASE}/mosendconnection/add/", {"api_key": key, "sender": "1098", "enabled": "on"})
    assert response.status_code == 200
    assert "copy it again from Mosend" in response.content.decode()
    assert not MosendConnection.objects.exists()


def test_adding_without_a_key_is_refused(client, owner):
    response = client.post(f"{BASE}/mosendconnection/add/", {"api_key": "", "sender": "1098", "enabled": "on"})
    assert response.status_code == 200
    assert "The Mosend API key is required." in response.content.decode()
    assert not MosendConnection.objects.exists()


def test_saving_without_a_key_keeps_it_and_a_new_key_replaces_it(client, owner):
    conn = connect(owner)
    url = f"{BASE}/mosendconnection/{conn.pk}/change/"
    assert client.post(url, {"api_key": "", "sender": "555", "enabled": ""}).status_code == 302
    conn.refresh_from_db()
    assert (conn.sender, conn.enabled, crypto.decrypt(conn.api_key_encrypted)) == ("555", False, API_KEY)
    assert client.post(url, {"api_key": "new-key-ABCD", "sender": "555", "enabled": "on"}).status_code == 302
    conn.refresh_from_db()
    assert (crypto.decrypt(conn.api_key_encrypted), conn.api_key_last4) == ("new-key-ABCD", "ABCD")


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, "connection OK (organisation: Acme Mosend Org)"), (401, "Mosend test failed: Mosend answered HTTP 401")],
)
def test_test_connection_button_calls_mosend_and_shows_the_answer(client, owner, status, expected):
    conn = connect(owner)
    with FakeMosend() as fake, override_settings(MOSEND_API_URL=fake.url):
        if status != 200:
            fake.program(status, {"error": f"invalid key {API_KEY}"})
        change = client.get(f"{BASE}/mosendconnection/{conn.pk}/change/").content.decode()
        assert f'formaction="{BASE}/mosendconnection/{conn.pk}/test-connection/"' in change
        response = client.post(f"{BASE}/mosendconnection/{conn.pk}/test-connection/", follow=True)
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/account")]
    assert fake.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"
    html = response.content.decode()
    assert expected in html
    assert API_KEY not in html


def test_other_stores_connection_is_invisible(client, owner):
    other = store_create(slug="otra", name="Otra")
    theirs = connect(other, api_key="other-store-key-9999")
    assert "9999" not in client.get(f"{BASE}/mosendconnection/").content.decode()
    assert client.get(f"{BASE}/mosendconnection/{theirs.pk}/change/").status_code in (302, 404)
    with FakeMosend() as fake, override_settings(MOSEND_API_URL=fake.url):
        client.post(f"{BASE}/mosendconnection/{theirs.pk}/test-connection/")
    assert fake.requests == []


def test_route_is_created_with_ordered_parameters(client, owner):
    response = client.post(f"{BASE}/templateroute/add/", route_form())
    assert response.status_code == 302, response.content[:3000]
    saved = TemplateRoute.objects.get(store=owner)
    assert (saved.event_type, saved.template_name, saved.language) == ("order.completed", "pedido_entregado", "es_CO")
    assert saved.parameters == ["customer_name", "order_number", "credentials"]
    page = client.get(f"{BASE}/templateroute/{saved.pk}/change/").content.decode()
    assert ">Credentials</option>" in page  # the documented set is offered as choices, in words


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"event_type": "product.created"}, "Select a valid choice"),
        ({"template_name": ""}, "This field is required"),
        ({"language": "espanol"}, "A language code such as es, es_CO or en_US."),
        ({"param_2": "", "param_3": "credentials"}, "parameters have no gaps"),
        ({"param_1": "password"}, "Select a valid choice"),
    ],
)
def test_route_validation_on_save(client, owner, overrides, message):
    response = client.post(f"{BASE}/templateroute/add/", route_form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TemplateRoute.objects.exists()


def test_one_route_per_event(client, owner):
    route(owner)
    response = client.post(f"{BASE}/templateroute/add/", route_form())
    assert response.status_code == 200
    assert "This store already has a route for this event." in response.content.decode()
    assert TemplateRoute.objects.count() == 1


def test_message_log_is_read_only(client, owner):
    assert client.get(f"{BASE}/messagelog/").status_code == 200
    assert client.get(f"{BASE}/messagelog/add/").status_code == 403
