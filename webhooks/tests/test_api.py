"""The webhook endpoints of API.md: shapes, validation, SSRF at creation, tenancy, scopes."""

import base64

import pytest

from conftest import assert_error
from nuvlyx.core.events import emit
from nuvlyx.core.models import Event
from webhooks import services
from webhooks.models import Delivery, WebhookEndpoint

PUBLIC_URL = "https://93.184.215.14/hooks"  # a global address literal: valid with the allowances off
ENDPOINT_FIELDS = {"id", "url", "events", "description", "active", "createdAt"}
DELIVERY_FIELDS = {
    "id",
    "eventId",
    "eventType",
    "status",
    "attempts",
    "responseStatus",
    "durationMs",
    "lastError",
    "nextAttemptAt",
    "createdAt",
    "deliveredAt",
}


@pytest.fixture
def strict(settings):
    """The production allowances: https only, no private addresses."""
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOKS_ALLOW_HTTP = False


def create(api, **body):
    body = {"url": "http://127.0.0.1:9/hooks", "events": ["*"], "description": "bot", **body}
    response = api.post("/webhooks", body)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.django_db
class TestCreateAndList:
    def test_create_returns_secret_once_and_list_never_does(self, api):
        created = create(api, events=["order.completed", "order.created", "order.created"])
        assert set(created) == ENDPOINT_FIELDS | {"secret"}
        assert created["events"] == ["order.created", "order.completed"]
        assert created["active"] is True and created["description"] == "bot"
        assert created["createdAt"].endswith("Z")
        secret = created["secret"]
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32

        listed = api.get("/webhooks")
        assert listed.status_code == 200
        assert listed.json() == [{k: v for k, v in created.items() if k != "secret"}]
        assert secret not in listed.content.decode()
        detail = api.get(f"/webhooks/{created['id']}")
        assert "secret" not in detail.json()

        row = WebhookEndpoint.objects.get(pk=created["id"])
        assert secret not in row.secret_encrypted
        assert services.endpoint_secret(row) == secret

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"events": []}, "events"),
            ({"events": "order.created"}, "events"),
            ({"events": ["order.shipped"]}, "events"),
            ({"events": ["*", "order.created"]}, "events"),
            ({"events": [1]}, "events[0]"),
            ({"url": ""}, "url"),
            ({"url": 42}, "url"),
            ({"url": "ftp://93.184.215.14/x"}, "url"),
            ({"url": "https://" + "a" * 2000 + ".com/"}, "url"),
            ({"url": "https://user:pw@93.184.215.14/x"}, "url"),
            ({"description": "x" * 501}, "description"),
        ],
    )
    def test_bad_input_is_422_naming_the_field(self, api, body, field):
        response = api.post("/webhooks", {"url": PUBLIC_URL, "events": ["*"], **body})
        error = assert_error(response, 422, "validation_error")
        assert error["errors"][0]["field"] == field, error
        assert WebhookEndpoint.objects.count() == 0

    def test_missing_fields(self, api):
        error = assert_error(api.post("/webhooks", {}), 422, "validation_error")
        assert {e["field"] for e in error["errors"]} == {"url", "events"}

    def test_http_refused_unless_allowed(self, api, strict):
        error = assert_error(api.post("/webhooks", {"url": "http://93.184.215.14/x", "events": ["*"]}), 422)
        assert error["errors"][0]["field"] == "url"
        assert api.post("/webhooks", {"url": PUBLIC_URL, "events": ["*"]}).status_code == 201


SSRF_HOSTS = [
    "127.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "169.254.169.254",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "0.0.0.0",
    "2130706433",
    "0177.0.0.1",
    "0x7f000001",
    "[fc00::1]",
    "[fe80::1]",
    "localhost",
    "127.1",
    "224.0.0.1",
    "[::]",
    "[64:ff9b::a00:1]",
    "[2002:7f00:1::]",
]


@pytest.mark.django_db
@pytest.mark.usefixtures("strict")
class TestSsrfAtCreation:
    @pytest.mark.parametrize("host", SSRF_HOSTS)
    def test_matrix_refused_with_allowance_off(self, api, host):
        response = api.post("/webhooks", {"url": f"https://{host}/hooks", "events": ["*"]})
        error = assert_error(response, 422, "validation_error")
        assert error["errors"][0]["field"] == "url"
        assert WebhookEndpoint.objects.count() == 0

    def test_with_port(self, api):
        response = api.post("/webhooks", {"url": "https://127.0.0.1:8443/hooks", "events": ["*"]})
        assert_error(response, 422, "validation_error")

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
    def test_patch_to_private_refused(self, api, host):
        endpoint = create(api, url=PUBLIC_URL)
        response = api.patch(f"/webhooks/{endpoint['id']}", {"url": f"https://{host}/x"})
        assert assert_error(response, 422)["errors"][0]["field"] == "url"
        assert WebhookEndpoint.objects.get(pk=endpoint["id"]).url == PUBLIC_URL


@pytest.mark.django_db
class TestPatchDelete:
    def test_patch_fields(self, api):
        endpoint = create(api)
        response = api.patch(
            f"/webhooks/{endpoint['id']}",
            {"events": ["wallet.recharged"], "description": "erp", "active": False, "url": "http://127.0.0.1:10/h"},
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == ENDPOINT_FIELDS
        assert body["events"] == ["wallet.recharged"] and body["description"] == "erp"
        assert body["active"] is False and body["url"] == "http://127.0.0.1:10/h"
        assert api.patch(f"/webhooks/{endpoint['id']}", {}).json() == body

    def test_reenable_clears_the_disable(self, api):
        endpoint = create(api)
        services.endpoint_disable(endpoint_id=endpoint["id"], reason="410 Gone")
        row = WebhookEndpoint.objects.get(pk=endpoint["id"])
        assert row.active is False and row.disabled_at is not None
        assert api.patch(f"/webhooks/{endpoint['id']}", {"active": True}).json()["active"] is True
        row.refresh_from_db()
        assert row.disabled_at is None and row.disabled_reason == "" and row.failing_since is None

    @pytest.mark.parametrize("body", [{"active": "yes"}, {"events": []}, {"description": None}])
    def test_patch_bad_input(self, api, body):
        endpoint = create(api)
        assert_error(api.patch(f"/webhooks/{endpoint['id']}", body), 422, "validation_error")

    def test_delete(self, api):
        endpoint = create(api)
        response = api.delete(f"/webhooks/{endpoint['id']}")
        assert response.status_code == 204 and response.content == b""
        assert_error(api.get(f"/webhooks/{endpoint['id']}"), 404, "not_found")
        assert api.get("/webhooks").json() == []


@pytest.mark.django_db
class TestTestEventAndDeliveries:
    def test_send_test_creates_one_delivery_for_that_endpoint(self, api, store):
        target = create(api)
        other = create(api)  # subscribed to "*", must not get the test event
        response = api.post(f"/webhooks/{target['id']}/test")
        assert response.status_code == 202
        delivery = response.json()
        assert set(delivery) == DELIVERY_FIELDS
        assert delivery["status"] == "PENDING" and delivery["eventType"] == "webhook.test"
        assert delivery["attempts"] == 0 and delivery["deliveredAt"] is None
        event = Event.objects.get(pk=delivery["eventId"])
        assert event.payload["data"]["webhookId"] == target["id"]
        # the worker's fan-out of that event is idempotent and targets that endpoint only
        services.fan_out(event)
        assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [
            WebhookEndpoint.objects.get(pk=target["id"]).pk
        ]
        assert api.get(f"/webhooks/{other['id']}/deliveries").json()["pagination"]["total"] == 0

    def test_test_on_inactive_endpoint_is_409(self, api):
        endpoint = create(api, active=False)
        assert_error(api.post(f"/webhooks/{endpoint['id']}/test"), 409, "conflict")
        assert Delivery.objects.count() == 0

    def test_deliveries_paginated_and_filtered(self, api, django_assert_max_num_queries):
        endpoint = create(api)
        ids = [api.post(f"/webhooks/{endpoint['id']}/test").json()["id"] for _ in range(3)]
        Delivery.objects.filter(pk=ids[0]).update(status="SUCCEEDED")
        with django_assert_max_num_queries(8):
            page = api.get(f"/webhooks/{endpoint['id']}/deliveries", {"limit": 2})
        assert page.status_code == 200
        body = page.json()
        assert body["pagination"] == {"page": 1, "limit": 2, "total": 3}
        assert [d["id"] for d in body["data"]] == ids[::-1][:2]
        succeeded = api.get(f"/webhooks/{endpoint['id']}/deliveries", {"status": "SUCCEEDED"}).json()
        assert [d["id"] for d in succeeded["data"]] == [ids[0]]
        assert_error(api.get(f"/webhooks/{endpoint['id']}/deliveries", {"status": "DONE"}), 422)
        assert_error(api.get(f"/webhooks/{endpoint['id']}/deliveries", {"page": "0"}), 400, "invalid_pagination")

    def test_redeliver_same_event_new_delivery(self, api):
        endpoint = create(api)
        first = api.post(f"/webhooks/{endpoint['id']}/test").json()
        assert_error(api.post(f"/webhooks/{endpoint['id']}/deliveries/{first['id']}/redeliver"), 409, "conflict")
        Delivery.objects.filter(pk=first["id"]).update(status="FAILED")
        response = api.post(f"/webhooks/{endpoint['id']}/deliveries/{first['id']}/redeliver")
        assert response.status_code == 202
        again = response.json()
        assert again["id"] != first["id"] and again["eventId"] == first["eventId"]
        assert again["status"] == "PENDING"
        assert Delivery.objects.get(pk=again["id"]).redelivery_of_id == Delivery.objects.get(pk=first["id"]).pk


@pytest.mark.django_db
class TestFanOut:
    def test_matching_active_endpoints_only_and_idempotent(self, api, store):
        star = create(api)
        orders = create(api, events=["order.created"])
        create(api, events=["wallet.recharged"])
        create(api, active=False)
        event = emit(store=store, type="order.created", data={"id": "x"})
        first = services.fan_out(event)
        assert {str(d.endpoint_id) for d in first} == {star["id"], orders["id"]}
        assert services.fan_out(event) == []
        assert Delivery.objects.filter(event=event).count() == 2

    def test_other_store_endpoints_get_nothing(self, api_for, other_store, store):
        create(api_for(other_store))
        event = emit(store=store, type="order.created", data={})
        assert services.fan_out(event) == []


@pytest.mark.django_db
class TestTenancyAndScopes:
    def test_other_store_token_gets_404_everywhere(self, api, api_for, other_store):
        endpoint = create(api)
        delivery = api.post(f"/webhooks/{endpoint['id']}/test").json()
        Delivery.objects.filter(pk=delivery["id"]).update(status="FAILED")
        intruder = api_for(other_store, scopes=["webhooks:manage"])
        base = f"/webhooks/{endpoint['id']}"
        assert intruder.get("/webhooks").json() == []
        assert_error(intruder.get(base), 404, "not_found")
        assert_error(intruder.patch(base, {"active": False}), 404, "not_found")
        assert_error(intruder.delete(base), 404, "not_found")
        assert_error(intruder.post(base + "/test"), 404, "not_found")
        assert_error(intruder.get(base + "/deliveries"), 404, "not_found")
        assert_error(intruder.post(f"{base}/deliveries/{delivery['id']}/redeliver"), 404, "not_found")
        # and a delivery id of store A under an endpoint of store B
        mine = create(intruder)
        assert_error(intruder.post(f"/webhooks/{mine['id']}/deliveries/{delivery['id']}/redeliver"), 404)
        assert WebhookEndpoint.objects.get(pk=endpoint["id"]).active is True
        assert Delivery.objects.count() == 1

    def test_scope_required(self, api, api_for, store):
        endpoint = create(api)
        weak = api_for(store, scopes=["orders:read"])
        assert_error(weak.get("/webhooks"), 403, "forbidden")
        assert_error(weak.post("/webhooks", {"url": PUBLIC_URL, "events": ["*"]}), 403, "forbidden")
        assert_error(weak.delete(f"/webhooks/{endpoint['id']}"), 403, "forbidden")
        assert_error(weak.get("/webhooks/00000000-0000-4000-8000-000000000000/deliveries"), 403, "forbidden")

    def test_unknown_and_malformed_ids(self, api):
        assert_error(api.get("/webhooks/00000000-0000-4000-8000-000000000000"), 404, "not_found")
        assert_error(api.get("/webhooks/not-a-uuid/deliveries"), 404, "not_found")


def test_app_registers_its_handler_and_encrypted_column():
    from nuvlyx.core.crypto import encrypted_fields
    from nuvlyx.core.events import event_handlers

    assert event_handlers()["webhooks"] is services.fan_out
    assert ("webhooks.WebhookEndpoint", "secret_encrypted") in encrypted_fields()


def test_an_endpoint_does_not_receive_events_from_before_it_existed(api, store):
    from datetime import timedelta

    from nuvlyx.core.events import emit
    from nuvlyx.core.models import Event
    from webhooks.models import Delivery, WebhookEndpoint
    from webhooks.services import fan_out

    old = emit(store=store, type="customer.created", data={"id": "x"})
    Event.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(minutes=1))
    created = api.post("/webhooks", {"url": "https://93.184.215.14/hook", "events": ["*"]})
    assert created.status_code == 201, created.content
    new = emit(store=store, type="customer.created", data={"id": "y"})
    fan_out(Event.objects.get(pk=old.pk))
    fan_out(Event.objects.get(pk=new.pk))
    endpoint = WebhookEndpoint.objects.get(pk=created.json()["id"])
    assert list(Delivery.objects.filter(endpoint=endpoint).values_list("event_id", flat=True)) == [new.pk]
