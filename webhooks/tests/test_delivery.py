"""One delivery attempt, in-process, against a real local HTTP receiver (no worker needed here).

The live tests (test_live.py) run the same code in a real Celery worker.
"""

import json
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from nuvlyx.core import delivery as delivery_engine
from nuvlyx.core.events import emit
from nuvlyx.core.timeutil import now
from webhooks import services, ssrf, transport
from webhooks.models import Attempt, Delivery, WebhookEndpoint

from .receiver import Reply


@pytest.fixture
def setup(db, store, receiver):
    endpoint, secret = services.endpoint_create(store=store, url=receiver.url, events=["*"])

    def new_delivery(type="order.created", data=None) -> Delivery:
        event = emit(store=store, type=type, data=data or {"orderNumber": 1001, "total": "10000.00"})
        (delivery,) = services.fan_out(event)
        return delivery

    return endpoint, secret, new_delivery


def attempt(delivery: Delivery) -> str:
    outcome = services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return outcome


def test_signed_request_verified_by_standardwebhooks(setup, receiver):
    _, secret, new_delivery = setup
    delivery = new_delivery(data={"name": "Señor Pérez", "total": "10000.00"})
    assert attempt(delivery) == "succeeded"

    (request,) = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload == delivery.event.payload
    assert request.headers["webhook-id"] == str(delivery.event_id)
    assert request.headers["content-type"] == "application/json"
    assert request.body == json.dumps(delivery.event.payload, separators=(",", ":"), ensure_ascii=False).encode()
    with pytest.raises(Exception):  # noqa: B017 - any verification error: the wrong key must not verify
        Webhook(services.signing.generate_secret()).verify(request.body, request.headers)

    assert delivery.status == "SUCCEEDED" and delivery.attempts == 1 and delivery.response_status == 200
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None and delivery.locked_until is None
    (row,) = Attempt.objects.filter(delivery=delivery)
    assert (row.number, row.response_status, row.response_excerpt, row.error) == (1, 200, "ok", "")


def test_failure_schedules_retry_with_jitter_and_logs_the_attempt(setup, receiver, settings):
    _, _, new_delivery = setup
    receiver.default = Reply(status=500, body=b"x" * 5000)
    delivery = new_delivery()
    before = now()
    assert attempt(delivery) == "retry"
    assert delivery.status == "PENDING" and delivery.attempts == 1 and delivery.response_status == 500
    assert delivery.last_error == "HTTP 500"
    delay = (delivery.next_attempt_at - before).total_seconds()
    assert 4.4 <= delay <= 5.6  # 5 s ± 10 %
    row = Attempt.objects.get(delivery=delivery)
    assert len(row.response_excerpt.encode()) == 1024
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    assert endpoint.failing_since is not None
    # not due yet → a duplicate message does nothing
    assert attempt(delivery) == "not_claimed"
    assert len(receiver.requests) == 1


def test_success_clears_failing_since(setup, receiver):
    endpoint, _, new_delivery = setup
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now() - timedelta(days=1))
    attempt(new_delivery())
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_schedule_is_the_contract():
    from django.conf import settings

    assert settings.WEBHOOK_RETRY_SCHEDULE == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert services.CHANNEL.max_attempts() == 8
    schedule = services.CHANNEL.schedule()
    for made, base in enumerate([5, 300, 1800, 7200, 18000, 36000, 36000], start=1):
        assert base * 0.9 <= delivery_engine.retry_delay(schedule, attempts_made=made) <= base * 1.1
    # Retry-After wins when longer, capped at the longest step
    assert delivery_engine.retry_delay(schedule, attempts_made=1, retry_after=120) == 120
    assert delivery_engine.retry_delay(schedule, attempts_made=1, retry_after=10**9) == 36000


def test_retry_after_honoured_on_429(setup, receiver):
    _, _, new_delivery = setup
    receiver.default = Reply(status=429, headers={"Retry-After": "120"})
    delivery = new_delivery()
    before = now()
    assert attempt(delivery) == "retry"
    assert 119 <= (delivery.next_attempt_at - before).total_seconds() <= 121


def test_last_attempt_fails_the_delivery(setup, receiver):
    _, _, new_delivery = setup
    receiver.default = Reply(status=502)
    delivery = new_delivery()
    Delivery.objects.filter(pk=delivery.pk).update(attempts=7)
    assert attempt(delivery) == "failed"
    assert delivery.status == "FAILED" and delivery.attempts == 8 and delivery.next_attempt_at is None


def test_redirect_is_a_failed_attempt_and_not_followed(setup, receiver):
    _, _, new_delivery = setup
    receiver.default = Reply(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    delivery = new_delivery()
    assert attempt(delivery) == "retry"
    assert delivery.response_status == 302 and "not followed" in delivery.last_error
    assert len(receiver.requests) == 1


def test_410_disables_the_endpoint(setup, receiver):
    endpoint, _, new_delivery = setup
    receiver.default = Reply(status=410)
    delivery = new_delivery()
    assert attempt(delivery) == "gone"
    assert delivery.status == "FAILED"
    endpoint.refresh_from_db()
    assert endpoint.active is False and endpoint.disabled_at is not None and "410" in endpoint.disabled_reason


def test_failing_for_five_days_disables(setup, receiver):
    endpoint, _, new_delivery = setup
    receiver.default = Reply(status=500)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now() - timedelta(days=5, minutes=1))
    delivery = new_delivery()
    assert attempt(delivery) == "endpoint_disabled"
    endpoint.refresh_from_db()
    assert endpoint.active is False and "5 days" in endpoint.disabled_reason


def test_inactive_endpoint_receives_nothing(setup, receiver):
    endpoint, _, new_delivery = setup
    delivery = new_delivery()
    services.endpoint_update(endpoint=endpoint, active=False)
    assert attempt(delivery) == "endpoint_inactive"
    assert receiver.requests == [] and delivery.status == "FAILED"


def test_lease_blocks_a_second_sender(setup, receiver):
    _, _, new_delivery = setup
    delivery = new_delivery()
    Delivery.objects.filter(pk=delivery.pk).update(locked_until=now() + timedelta(seconds=60))
    assert attempt(delivery) == "not_claimed"
    assert list(delivery_engine.sweepable(services.CHANNEL, at=now())) == []
    Delivery.objects.filter(pk=delivery.pk).update(locked_until=now() - timedelta(seconds=1))
    assert list(delivery_engine.sweepable(services.CHANNEL, at=now())) == [delivery]
    assert attempt(delivery) == "succeeded"
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433"])
def test_ssrf_rechecked_at_delivery(setup, receiver, settings, host):
    endpoint, _, new_delivery = setup
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=f"http://{host}:{receiver.port}/hooks")
    delivery = new_delivery()
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False  # the allowance was on when the URL was saved
    assert attempt(delivery) == "retry"
    assert receiver.requests == []
    assert delivery.response_status is None and delivery.last_error.startswith("Blocked: ")
    assert "loopback" in Attempt.objects.get(delivery=delivery).error


def test_connection_goes_to_the_checked_address(receiver):
    """No DNS rebinding: the socket goes to target.address; Host still names the URL's host."""
    target = ssrf.Target(scheme="http", hostname="hooks.example.invalid", port=receiver.port, address="127.0.0.1")
    result = transport.send(
        target=target, url=f"http://hooks.example.invalid:{receiver.port}/hooks", body=b"{}", headers={}, timeout=5
    )
    assert result.ok, result
    assert receiver.requests[0].headers["host"] == f"hooks.example.invalid:{receiver.port}"


def test_timeout_is_a_failed_attempt(setup, receiver, settings):
    _, _, new_delivery = setup
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.default = Reply(sleep=1.5)
    delivery = new_delivery()
    assert attempt(delivery) == "retry"
    assert delivery.last_error.startswith("Timed out") and delivery.response_status is None


def test_connection_refused_is_a_failed_attempt(setup):
    endpoint, _, new_delivery = setup
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/hooks")
    delivery = new_delivery()
    assert attempt(delivery) == "retry"
    assert delivery.last_error.startswith("Connection error")
