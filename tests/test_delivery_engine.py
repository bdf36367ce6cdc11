"""The one outbound delivery engine (nuvlyx/core/delivery.py), through both channels that plug into it.

Webhooks and WhatsApp (Mosend) send to the same real local HTTP receiver here, so every rule is
checked on both with the same answers: which failures retry, the attempt cap and the dead-letter
state, interrupted attempts, jitter bounds.
"""

from datetime import timedelta

import pytest
from django.db import transaction

from integrations import whatsapp
from integrations.models import MessageLog
from integrations.tests.whatsapp_helpers import connect, linked_customer, order_data, route
from nuvlyx.core import delivery
from nuvlyx.core.events import emit
from nuvlyx.core.timeutil import now
from webhooks import services
from webhooks.models import Attempt, WebhookEndpoint
from webhooks.tests import conftest as webhook_fixtures
from webhooks.tests.receiver import Reply

receiver = webhook_fixtures.receiver  # the real local HTTP receiver of the webhook tests


@pytest.fixture
def new_rows(store, receiver, settings):
    """One event → one webhook delivery and one WhatsApp message, both aimed at `receiver`."""
    settings.MOSEND_API_URL = f"http://127.0.0.1:{receiver.port}"
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 0]
    settings.MOSEND_RETRY_SCHEDULE = [0, 0]
    services.endpoint_create(store=store, url=receiver.url, events=["order.completed"])
    customer = linked_customer(store)
    connect(store)
    route(store)

    def make() -> list[tuple[delivery.Channel, object]]:
        with transaction.atomic():
            event = emit(store=store, type="order.completed", data=order_data(customer))
        (row,) = services.fan_out(event)
        message = whatsapp.handle_event(event)
        assert message.status == MessageLog.Status.PENDING
        return [(services.CHANNEL, row.pk), (whatsapp.CHANNEL, message.pk)]

    return make


def test_both_channels_are_registered_with_the_engine():
    assert delivery.channel("webhooks") is services.CHANNEL
    assert delivery.channel("whatsapp") is whatsapp.CHANNEL


@pytest.mark.parametrize(
    "status, webhook, whatsapp",
    [
        (400, "retry", "failed"),
        (401, "retry", "failed"),
        (404, "retry", "failed"),
        (422, "retry", "failed"),
        (429, "retry", "retry"),
        (500, "retry", "retry"),
        (503, "retry", "retry"),
    ],
)
def test_one_retry_rule_webhooks_retry_4xx_whatsapp_does_not(new_rows, receiver, status, webhook, whatsapp):
    """API.md §2: a webhook's "anything else is retried"; §4: WhatsApp's "4xx other than 429: no retry"."""
    receiver.default = Reply(status=status, body=b'{"error": "no"}')
    for channel, pk in new_rows():
        expected = webhook if channel is services.CHANNEL else whatsapp
        assert delivery.attempt(channel, pk) == expected, channel.name
        row = channel.model.objects.get(pk=pk)
        assert (row.status, row.attempts, row.response_status) == (
            "FAILED" if expected == "failed" else "PENDING",
            1,
            status,
        )
        assert getattr(row, channel.lease_field) is None
    assert {request.path for request in receiver.requests} == {"/hooks", "/v1/messages"}


def test_no_answer_is_retried_on_both_channels(new_rows, settings):
    settings.MOSEND_API_URL = "http://127.0.0.1:9"  # nothing listens there
    rows = new_rows()
    WebhookEndpoint.objects.update(url="http://127.0.0.1:9/hooks")
    for channel, pk in rows:
        assert delivery.attempt(channel, pk) == "retry", channel.name
        assert channel.model.objects.get(pk=pk).response_status is None


def test_attempt_cap_then_dead_on_both_channels(new_rows, receiver):
    receiver.default = Reply(status=503)
    for channel, pk in new_rows():
        assert channel.max_attempts() == 3  # schedule [0, 0]
        outcomes = [delivery.attempt(channel, pk) for _ in range(4)]
        assert outcomes == ["retry", "retry", "failed", "not_claimed"], channel.name
        row = channel.model.objects.get(pk=pk)
        assert (row.status, row.attempts, row.next_attempt_at) == ("FAILED", 3, None)
        assert not delivery.sweepable(channel, at=now() + timedelta(days=1)).filter(pk=pk).exists()
    assert len(receiver.requests) == 6  # 3 per channel, never a 4th


def test_an_interrupted_attempt_counts_towards_the_cap_on_both_channels(new_rows, receiver):
    """A lease that expired: the worker died mid-send. It counts; at the cap the row is dead."""
    rows = new_rows()
    for channel, pk in rows:
        channel.model.objects.filter(pk=pk).update(attempts=1, **{channel.lease_field: now() - timedelta(seconds=1)})
        assert delivery.attempt(channel, pk) == "succeeded", channel.name
        row = channel.model.objects.get(pk=pk)
        assert row.attempts == 3  # the interrupted one (2) and the one just sent (3)
    assert list(Attempt.objects.filter(delivery_id=rows[0][1]).values_list("number", "error")) == [
        (2, delivery.INTERRUPTED),
        (3, ""),
    ]

    rows = new_rows()
    for channel, pk in rows:
        channel.model.objects.filter(pk=pk).update(attempts=2, **{channel.lease_field: now() - timedelta(seconds=1)})
        assert delivery.attempt(channel, pk) == "not_claimed", channel.name
        row = channel.model.objects.get(pk=pk)
        assert (row.status, row.attempts, getattr(row, channel.error_field)) == ("FAILED", 3, delivery.INTERRUPTED)


def test_the_sweeper_finds_due_unleased_rows_of_each_channel(new_rows):
    rows = new_rows()
    for channel, pk in rows:
        channel.model.objects.filter(pk=pk).update(next_attempt_at=now() - timedelta(minutes=5))
        assert list(delivery.sweepable(channel, at=now()).values_list("pk", flat=True)) == [pk]
        channel.model.objects.filter(pk=pk).update(**{channel.lease_field: now() + timedelta(minutes=1)})
        assert not delivery.sweepable(channel, at=now()).exists()


def test_retry_rule_table():
    for final in (True, False):
        assert delivery.retryable(None, client_errors_final=final)  # connection error, timeout, TLS, blocked
        for status in (302, 429, 500, 502, 503, 504):
            assert delivery.retryable(status, client_errors_final=final), status
    for status in (400, 401, 403, 404, 408, 409, 410, 413, 422):
        assert not delivery.retryable(status, client_errors_final=True), status
        assert delivery.retryable(status, client_errors_final=False), status
    assert services.CHANNEL.client_errors_final is False and whatsapp.CHANNEL.client_errors_final is True


def test_jitter_stays_within_ten_percent_and_varies():
    delays = [delivery.retry_delay([100, 1000], attempts_made=1) for _ in range(500)]
    assert all(90 <= d <= 110 for d in delays)
    assert min(delays) < 95 and max(delays) > 105  # it does vary
    assert 900 <= delivery.retry_delay([100, 1000], attempts_made=2) <= 1100
    assert delivery.retry_delay([100, 1000], attempts_made=3) is None
    # Retry-After wins when longer, capped at 10 h; a shorter one does not shorten the schedule
    assert delivery.retry_delay([100], attempts_made=1, retry_after=500) == 500
    assert delivery.retry_delay([100], attempts_made=1, retry_after=10**9) == 36000
    assert 90 <= delivery.retry_delay([100], attempts_made=1, retry_after=1) <= 110


def test_retry_after_parsing():
    assert delivery.parse_retry_after("120") == 120
    assert delivery.parse_retry_after(" 1.5 ") == 1.5
    assert delivery.parse_retry_after("") is None and delivery.parse_retry_after("soon") is None
    assert delivery.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
