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
    assert owner_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[theirs.pk])).status_code == 302


def test_add_shows_the_secret_once(owner_client, store):
    response = owner_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {
            "url": "http://127.0.0.1:9/hooks",
            "events": ["order.created", "order.completed"],
            "description": "bot",
            "active": "on",
        },
    )
    assert response.status_code == 200, response.content[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.store == store and endpoint.events == ["order.created", "order.completed"]
    secret = services.endpoint_secret(endpoint)
    assert secret in response.content.decode()
    change = owner_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    assert change.status_code == 200 and secret not in change.content.decode()


def test_add_refuses_private_url_when_not_allowed(owner_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    response = owner_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"url": "http://localhost/hooks", "events": ["*"], "active": "on"},
    )
    assert response.status_code == 200 and "loopback" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_actions_test_reenable_redeliver(owner_client, store):
    endpoint, _ = services.endpoint_create(store=store, url="http://127.0.0.1:9/hooks", events=["*"])
    changelist = reverse("admin:webhooks_webhookendpoint_changelist")
    owner_client.post(changelist, {"action": "send_test_event", "_selected_action": [endpoint.pk]})
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.event_type == "webhook.test"

    services.endpoint_disable(endpoint_id=endpoint.pk, reason="410")
    owner_client.post(changelist, {"action": "reenable", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.active is True and endpoint.disabled_reason == ""

    Delivery.objects.filter(pk=delivery.pk).update(status="FAILED")
    log = reverse("admin:webhooks_delivery_changelist")
    owner_client.post(log, {"action": "redeliver", "_selected_action": [delivery.pk]})
    assert Delivery.objects.filter(redelivery_of=delivery, event_id=delivery.event_id).count() == 1
    detail = owner_client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert detail.status_code == 200
