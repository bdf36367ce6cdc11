"""Settings → Webhooks in the admin: scoped to the owner's store, secret shown once, actions."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from nuvlyx.core.models import StoreMember
from webhooks import services
from webhooks.models import Delivery, WebhookEndpoint


@pytest.fixture
def owner_client(db, store):
    user = get_user_model().objects.create_user("owner", password="pw-123456789", is_staff=True)
    StoreMember.objects.create(store=store, user=user)
    client = Client()
    client.force_login(user)
    return client


def test_owner_sees_only_their_endpoints_and_the_disable_reason(owner_client, store, other_store):
    mine, _ = services.endpoint_create(store=store, url="http://127.0.0.1:9/mine", events=["*"])
    services.endpoint_create(store=other_store, url="http://127.0.0.1:9/theirs", events=["*"])
    services.endpoint_disable(endpoint_id=mine.pk, reason="Disabled: the receiver answered 410 Gone")
    page = owner_client.get(reverse("admin:webhooks_webhookendpoint_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "/mine" in html and "/theirs" not in html
    assert "410 Gone" in html
    theirs = WebhookEndpoint.objects.get(store=other_store)
    assert owner_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[theirs.pk])).status_code == 404


def test_add_reveals_the_secret_once_after_a_redirect(owner_client, store):
    response = owner_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {
            "url": "http://127.0.0.1:9/hooks",
            "events": ["order.created", "order.completed"],
            "description": "bot",
            "active": "on",
        },
    )
    endpoint = WebhookEndpoint.objects.get()
    reveal_url = reverse("admin:webhooks_webhookendpoint_reveal", args=[endpoint.pk])
    assert response.status_code == 302 and response["Location"] == reveal_url
    assert endpoint.store == store and endpoint.events == ["order.created", "order.completed"]
    secret = services.endpoint_secret(endpoint)
    assert secret not in response.content.decode()
    reveal = owner_client.get(reveal_url)
    assert reveal.status_code == 200 and secret in reveal.content.decode()
    assert "no-store" in reveal["Cache-Control"]
    assert "navigator.clipboard" in reveal.content.decode()
    assert "docs/webhooks.md" not in reveal.content.decode()
    # Reload / back: nothing new is created and the secret is not shown again.
    again = owner_client.get(reveal_url)
    assert again.status_code == 200 and secret not in again.content.decode()
    assert "no-store" in again["Cache-Control"]
    assert WebhookEndpoint.objects.count() == 1
    change = owner_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    assert change.status_code == 200 and secret not in change.content.decode()


def test_add_refuses_private_url_when_not_allowed(owner_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    response = owner_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"url": "http://localhost/hooks", "events": ["*"], "active": "on"},
    )
    page = response.content.decode()
    # the owner's message: plain words and the address, not the guard's English
    assert response.status_code == 200 and "127.0.0.1" in page and "loopback" not in page
    assert not WebhookEndpoint.objects.exists()


def test_buttons_send_test_reenable_redeliver_with_confirmation(owner_client, store):
    endpoint, _ = services.endpoint_create(store=store, url="http://127.0.0.1:9/hooks", events=["*"])
    change = reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    send = reverse("admin:webhooks_webhookendpoint_object_action", args=[endpoint.pk, "send_test_event"])
    page = owner_client.get(change).content.decode()
    assert send in page
    assert owner_client.get(send).status_code == 200 and not Delivery.objects.exists()  # GET only confirms
    assert owner_client.post(send).status_code == 302
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.event_type == "webhook.test"

    services.endpoint_disable(endpoint_id=endpoint.pk, reason="410")
    reenable = reverse("admin:webhooks_webhookendpoint_object_action", args=[endpoint.pk, "reenable"])
    assert reenable in owner_client.get(change).content.decode()
    assert owner_client.post(reenable).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.active is True and endpoint.disabled_reason == ""
    assert reenable not in owner_client.get(change).content.decode()  # only offered when disabled

    Delivery.objects.filter(pk=delivery.pk).update(status="FAILED")
    redeliver = reverse("admin:webhooks_delivery_object_action", args=[delivery.pk, "redeliver"])
    detail = owner_client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert detail.status_code == 200 and redeliver in detail.content.decode()
    assert owner_client.get(redeliver).status_code == 200
    assert not Delivery.objects.filter(redelivery_of=delivery).exists()
    assert owner_client.post(redeliver).status_code == 302
    assert Delivery.objects.filter(redelivery_of=delivery, event_id=delivery.event_id).count() == 1


def test_object_actions_need_a_post_with_csrf(store):
    user = get_user_model().objects.create_user("owner2", password="pw-123456789", is_staff=True)
    StoreMember.objects.create(store=store, user=user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    endpoint, _ = services.endpoint_create(store=store, url="http://127.0.0.1:9/hooks", events=["*"])
    send = reverse("admin:webhooks_webhookendpoint_object_action", args=[endpoint.pk, "send_test_event"])
    assert client.post(send).status_code == 403
    assert not Delivery.objects.exists()
