"""WhatsApp through the owner's Mosend account, in-process (the task function is called directly).

Mosend is a real local HTTP server (fake_mosend.FakeMosend); nothing of ours is mocked.
"""

import json
import logging
import zoneinfo
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import override_settings

from conftest import free_port
from integrations import whatsapp
from integrations.models import MessageLog, MosendConnection
from integrations.tests.fake_mosend import FakeMosend
from integrations.tests.whatsapp_helpers import (
    API_KEY,
    CREDENTIALS,
    CREDENTIALS_2,
    SENDER,
    connect,
    linked_customer,
    order_data,
    route,
)
from nuvlyx.core import crypto, delivery
from nuvlyx.core.events import emit
from nuvlyx.core.models import Event
from nuvlyx.core.timeutil import now

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    with FakeMosend() as server, override_settings(MOSEND_API_URL=server.url, MOSEND_RETRY_SCHEDULE=[0, 0, 0]):
        yield server


def emit_committed(store, type, data) -> Event:
    with transaction.atomic():
        return emit(store=store, type=type, data=data)


def route_and_send(event) -> MessageLog | None:
    """What the worker does: the event consumer, then the send task's function."""
    message = whatsapp.handle_event(event)
    if message is not None:
        whatsapp.message_send(message_id=message.pk)
        message.refresh_from_db()
    return message


# --- the happy path ---------------------------------------------------------------------------
def test_order_completed_sends_one_template_with_parameters_in_order_and_owner_key(fake, store):
    customer = linked_customer(store)
    connect(store)
    route(store)
    event = emit_committed(store, "order.completed", order_data(customer))

    message = route_and_send(event)

    assert len(fake.requests) == 1
    sent = fake.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.json == {
        "from": SENDER,
        "to": "+573001234567",
        "type": "template",
        "template": {
            "name": "pedido_entregado",
            "language": "es_CO",
            "parameters": [
                "Ana Gómez",
                "ORD-000042",
                "Netflix Premium 1 mes",
                CREDENTIALS,
                "2026-06-18",
                "Acme Streaming",
            ],
        },
    }
    assert message.status == MessageLog.Status.SENT
    assert message.attempts == 1
    assert message.mosend_message_id == "msg_1"
    assert message.customer_id == customer.pk
    assert message.event_id == event.pk
    assert message.phone == "+573001234567"
    assert message.sent_at is not None


def test_a_second_dispatch_of_the_same_event_sends_nothing_more(fake, store):
    customer = linked_customer(store)
    connect(store)
    route(store)
    event = emit_committed(store, "order.completed", order_data(customer))
    first = route_and_send(event)
    again = route_and_send(event)  # events are delivered at least once
    assert again.pk == first.pk
    assert MessageLog.objects.count() == 1
    assert len(fake.sends()) == 1
    assert whatsapp.message_send(message_id=first.pk) == "not_claimed"


def test_multi_item_order_joins_values_and_missing_keys_are_empty(store):
    customer = linked_customer(store)
    data = order_data(customer, two_items=True)
    keys = [
        "product_name",
        "sku",
        "credentials",
        "expiry_date",
        "post_sale_instructions",
        "order_total",
        "new_balance",
        "amount",
        "currency",
    ]
    values = whatsapp.extract_parameters(keys=keys, event_type="order.completed", data=data, store_name="S")
    assert values == [
        "Netflix Premium 1 mes, Spotify Familiar",
        "NFX-1M, SPT-FAM",
        f"{CREDENTIALS}, {CREDENTIALS_2}",
        "2026-06-18, 2026-07-01",
        "No cambies la contraseña., Acepta la invitación.",
        "25000.00",
        "",
        "25000.00",
        "COP",
    ]
    broken = {"orderNumber": "ORD-1", "items": [{"license": None}, "junk", {"productName": "X\nY"}], "user": None}
    values = whatsapp.extract_parameters(
        keys=["customer_name", "credentials", "product_name", "order_number"],
        event_type="order.completed",
        data=broken,
        store_name="S",
    )
    assert values == ["", "", "X Y", "ORD-1"]
    assert whatsapp.extract_parameters(keys=["sku"], event_type="order.completed", data=None, store_name="S") == [""]


def test_wallet_recharge_through_the_wallet_service_sends_amount_and_new_balance(fake, store):
    from wallets.services import wallet_recharge

    customer = linked_customer(store, name="Luis")
    connect(store)
    route(
        store,
        event_type="wallet.recharged",
        template="recarga",
        parameters=["customer_name", "amount", "new_balance", "currency"],
    )
    wallet_recharge(customer=customer, amount=Decimal("50000.00"))
    wallet_recharge(customer=customer, amount=Decimal("2500.50"))
    events = list(Event.objects.filter(store=store, type="wallet.recharged").order_by("created_at"))
    assert len(events) == 2

    for event in events:
        route_and_send(event)

    assert [r.json["template"]["parameters"] for r in fake.sends()] == [
        ["Luis", "50000.00", "50000.00", "COP"],
        ["Luis", "2500.50", "52500.50", "COP"],
    ]
    assert MessageLog.objects.filter(status=MessageLog.Status.SENT, customer=customer).count() == 2


# --- no send, and why -------------------------------------------------------------------------
def test_customer_without_linked_phone_is_skipped_with_reason(fake, store):
    customer = linked_customer(store, linked=False)
    connect(store)
    route(store)
    event = emit_committed(store, "order.completed", order_data(customer))
    message = route_and_send(event)
    assert message.status == MessageLog.Status.SKIPPED
    assert message.reason == "customer has no linked phone"
    assert message.attempts == 0
    assert fake.requests == []


def test_disabled_connection_is_skipped_with_reason(fake, store):
    customer = linked_customer(store)
    connect(store, enabled=False)
    route(store)
    message = route_and_send(emit_committed(store, "order.completed", order_data(customer)))
    assert message.status == MessageLog.Status.SKIPPED
    assert message.reason == "connection disabled"
    assert fake.requests == []


def test_connection_disabled_after_routing_skips_at_send_time(fake, store):
    customer = linked_customer(store)
    conn = connect(store)
    route(store)
    message = whatsapp.handle_event(emit_committed(store, "order.completed", order_data(customer)))
    assert message.status == MessageLog.Status.PENDING
    MosendConnection.objects.filter(pk=conn.pk).update(enabled=False)
    assert whatsapp.message_send(message_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert (message.reason, message.attempts) == ("connection disabled", 0)
    assert fake.requests == []


def test_unrouted_or_disabled_route_event_sends_nothing_and_logs_nothing(fake, store):
    customer = linked_customer(store)
    connect(store)
    route(store, event_type="order.refunded", enabled=False)
    assert route_and_send(emit_committed(store, "order.completed", order_data(customer))) is None
    assert route_and_send(emit_committed(store, "order.refunded", order_data(customer))) is None
    assert route_and_send(emit_committed(store, "product.created", {"id": "x"})) is None
    assert MessageLog.objects.count() == 0
    assert fake.requests == []


def test_routes_of_another_store_do_not_apply(fake, store, other_store):
    customer = linked_customer(store)
    connect(other_store)
    route(other_store)
    assert route_and_send(emit_committed(store, "order.completed", order_data(customer))) is None
    assert fake.requests == []


def test_customer_of_another_store_is_not_found(fake, store, other_store):
    stranger = linked_customer(other_store)
    connect(store)
    route(store)
    message = route_and_send(emit_committed(store, "order.completed", order_data(stranger)))
    assert (message.status, message.reason) == (MessageLog.Status.SKIPPED, "customer not found")
    assert fake.requests == []


# --- retries ----------------------------------------------------------------------------------
def test_mosend_500_then_200_is_retried_and_sent_with_two_attempts(fake, store):
    customer = linked_customer(store)
    connect(store)
    route(store)
    fake.program(500, {"error": "internal"})
    message = whatsapp.handle_event(emit_committed(store, "order.completed", order_data(customer)))

    assert whatsapp.message_send(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert (message.attempts, message.response_status, message.leased_until) == (1, 500, None)
    assert "HTTP 500" in message.reason
    assert message.next_attempt_at is not None

    assert whatsapp.message_send(message_id=message.pk) == "succeeded"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.reason) == (MessageLog.Status.SENT, 2, "")
    assert len(fake.sends()) == 2


def test_mosend_400_fails_without_retry(fake, store):
    customer = linked_customer(store)
    connect(store)
    route(store)
    fake.program(400, {"error": "template pedido_entregado not approved"})
    message = route_and_send(emit_committed(store, "order.completed", order_data(customer)))
    assert message.status == MessageLog.Status.FAILED
    assert message.attempts == 1
    assert message.response_status == 400
    assert "not approved" in message.reason
    assert whatsapp.message_send(message_id=message.pk) == "not_claimed"
    assert len(fake.requests) == 1


def test_429_honours_retry_after(fake, store):
    customer = linked_customer(store)
    connect(store)
    route(store)
    fake.program(429, {"error": "slow down"}, headers={"Retry-After": "120"})
    message = route_and_send(emit_committed(store, "order.completed", order_data(customer)))
    assert message.status == MessageLog.Status.PENDING
    assert message.next_attempt_at >= now() + timedelta(seconds=115)
    assert whatsapp.message_send(message_id=message.pk) == "not_claimed"  # not due yet
    assert len(fake.requests) == 1


def test_connection_errors_are_retried_then_fail_after_the_schedule(store):
    customer = linked_customer(store)
    connect(store)
    route(store)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with override_settings(MOSEND_API_URL=dead, MOSEND_RETRY_SCHEDULE=[0, 0]):
        message = whatsapp.handle_event(emit_committed(store, "order.completed", order_data(customer)))
        results = [whatsapp.message_send(message_id=message.pk) for _ in range(4)]
    assert results == ["retry", "retry", "failed", "not_claimed"]
    message.refresh_from_db()
    assert message.attempts == 3
    assert message.reason.startswith("gave up after 3 attempts: connection error")


def test_a_leased_message_is_not_sent_twice(fake, store):
    customer = linked_customer(store)
    connect(store)
    route(store)
    message = whatsapp.handle_event(emit_committed(store, "order.completed", order_data(customer)))
    MessageLog.objects.filter(pk=message.pk).update(leased_until=now() + timedelta(seconds=30))
    assert whatsapp.message_send(message_id=message.pk) == "not_claimed"
    assert fake.requests == []


def test_retry_delay_follows_the_schedule_with_jitter():
    with override_settings(MOSEND_RETRY_SCHEDULE=[5, 300]):
        schedule = whatsapp.CHANNEL.schedule()
        assert whatsapp.CHANNEL.max_attempts() == 3
    assert 4.5 <= delivery.retry_delay(schedule, attempts_made=1) <= 5.5
    assert 270 <= delivery.retry_delay(schedule, attempts_made=2) <= 330
    assert delivery.retry_delay(schedule, attempts_made=3) is None
    assert delivery.retry_delay(schedule, attempts_made=1, retry_after=90) == 90


# --- secrets ----------------------------------------------------------------------------------
def test_api_key_is_encrypted_at_rest(store):
    conn = connect(store)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key_encrypted, api_key_last4 FROM integrations_mosendconnection WHERE id = %s", [conn.pk]
        )
        raw, last4 = cursor.fetchone()
    assert API_KEY not in raw
    assert crypto.decrypt(raw) == API_KEY
    assert last4 == API_KEY[-4:]
    assert ("integrations.MosendConnection", "api_key_encrypted") in crypto.encrypted_fields()


def test_key_and_credentials_never_logged_nor_stored(fake, store, caplog):
    customer = linked_customer(store)
    connect(store)
    route(store)
    # Mosend echoes what it got (key and parameters) in an error body: we must not keep it.
    fake.program(500, {"error": f"bad auth {API_KEY} for params {CREDENTIALS}"})
    fake.program(400, {"error": f"rejected {API_KEY} / {CREDENTIALS}"})
    caplog.set_level(logging.DEBUG)
    message = route_and_send(emit_committed(store, "order.completed", order_data(customer)))
    whatsapp.message_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == MessageLog.Status.FAILED
    assert "[redacted]" in message.reason
    row = json.dumps(MessageLog.objects.filter(pk=message.pk).values().get(), default=str)
    for secret in (API_KEY, CREDENTIALS):
        assert secret not in row
        assert secret not in caplog.text
    assert len(fake.sends()) == 2
    assert "whatsapp message" in caplog.text  # the log is not simply empty


# --- route validation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"event_type": "product.created"}, "event_type"),
        ({"event_type": "order.shipped"}, "event_type"),
        ({"template_name": "  "}, "template_name"),
        ({"language": "Spanish"}, "language"),
        ({"parameters": ["customer_name", "password"]}, "parameters"),
        ({"parameters": "customer_name"}, "parameters"),
    ],
)
def test_route_validation(fields, bad):
    from django.core.exceptions import ValidationError

    good = {"event_type": "order.completed", "template_name": "t", "language": "es", "parameters": ["sku"]}
    whatsapp.validate_route(**good)
    with pytest.raises(ValidationError) as info:
        whatsapp.validate_route(**{**good, **fields})
    assert bad in info.value.message_dict


# --- with the real order service --------------------------------------------------------------
def test_placed_order_with_mosend_400_is_failed_once_and_the_order_stays_completed(fake, store):
    from catalog.tests.factories import make_variation, stock
    from orders.models import Order
    from orders.services import order_place
    from wallets.tests.factories import make_customer

    customer = make_customer(store, balance="20000.00", phone="+573009998877", name="Eva")
    variation = make_variation(store, price="15000.00")
    [credentials] = stock(variation, 1)
    connect(store)
    route(store, parameters=["customer_name", "credentials", "expiry_date"])
    fake.program(400, {"error": "invalid parameter"})

    placed = order_place(store=store, customer_id=customer.pk, items=[variation.pk])
    # both events share their transaction's timestamp: order them by type, not by created_at
    events = sorted(Event.objects.filter(store=store, type__startswith="order."), key=lambda e: e.type, reverse=True)
    assert [e.type for e in events] == ["order.created", "order.completed"]
    messages = [m for m in (route_and_send(e) for e in events) if m is not None]

    assert Order.objects.get(pk=placed.order.pk).status == Order.Status.COMPLETED
    assert len(messages) == 1
    assert (messages[0].status, messages[0].attempts, messages[0].response_status) == ("FAILED", 1, 400)
    assert len(fake.requests) == 1
    parameters = fake.requests[0].json["template"]["parameters"]
    assert parameters[:2] == ["Eva", credentials]
    local = placed.order.items.get().expires_at.astimezone(zoneinfo.ZoneInfo(store.timezone))
    assert parameters[2] == local.date().isoformat()  # the store's time zone


def test_hand_fulfilled_item_credentials_are_used_when_there_is_no_license():
    data = {"items": [{"license": None, "fulfilment": {"credentials": "svc-user / pw", "expiresAt": None}}]}
    assert whatsapp.extract_parameters(
        keys=["credentials"], event_type="order.completed", data=data, store_name="S"
    ) == ["svc-user / pw"]


# --- found by an audit of the WhatsApp integration (2026-12-03) --------------------------------------
def test_a_secret_straddling_the_excerpt_cut_is_still_redacted(fake, store):
    """Redaction runs over the whole answer, then the excerpt is cut (cut first, half a key survived)."""
    customer = linked_customer(store)
    connect(store)
    route(store)
    fake.program(401, "x" * 480 + f"key={API_KEY} creds={CREDENTIALS}")
    message = route_and_send(emit_committed(store, "order.completed", order_data(customer)))
    assert message.status == MessageLog.Status.FAILED and "[redacted]" in message.reason
    for secret in (API_KEY, CREDENTIALS):
        assert secret[:8] not in message.reason
    fake.program(401, "x" * 480 + f"key={API_KEY}")
    result = whatsapp.connection_check(connection=MosendConnection.objects.get(store=store))
    assert API_KEY[:8] not in result.error and "[redacted]" in result.error


def test_credentials_echoed_json_escaped_are_redacted(fake, store):
    customer = linked_customer(store)
    connect(store)
    route(store)
    data = order_data(customer)
    tricky = 'vip@x.com:Clave"Ñ9\\'
    data["items"][0]["license"]["credentials"] = tricky
    fake.program(400, {"echo": ["Ana", tricky]})  # json.dumps escapes the quote and the Ñ
    message = route_and_send(emit_committed(store, "order.completed", data))
    assert message.status == MessageLog.Status.FAILED
    assert "vip@x.com" not in message.reason and "[redacted]" in message.reason


def test_a_key_an_http_header_cannot_carry_fails_once_cleanly(fake, store, caplog):
    """A pasted em dash: no request, no exception, no key in the log, no retry (it cannot succeed)."""
    bad_key = "mk_live_SECRET—KEY_abcdefWXYZ"
    customer = linked_customer(store)
    connect(store, api_key=bad_key)
    route(store)
    caplog.set_level(logging.DEBUG)
    message = route_and_send(emit_committed(store, "order.completed", order_data(customer)))
    assert message.status == MessageLog.Status.FAILED and message.attempts == 1
    assert "HTTP header" in message.reason
    result = whatsapp.connection_check(connection=MosendConnection.objects.get(store=store))
    assert result.ok is False and "HTTP header" in result.error
    assert fake.requests == []
    assert "SECRET" not in caplog.text


def test_an_answer_trickling_in_is_cut_at_the_timeout_and_sent_once(fake, store):
    """A 200 whose body arrives a byte every 0.4 s (40 s in all): requests' timeout is per read, so the
    attempt outlived its lease and the sweeper sent the message again. Now the call ends at 10 s, and a
    2xx whose body is still coming counts as accepted."""
    import time as clock

    customer = linked_customer(store)
    connect(store)
    route(store)
    fake.program(200, {"id": "msg_slow", "status": "queued", "padding": "x" * 60}, drip=0.4)
    started = clock.monotonic()
    message = route_and_send(emit_committed(store, "order.completed", order_data(customer)))
    assert clock.monotonic() - started < 15
    assert message.status == MessageLog.Status.SENT and len(fake.sends()) == 1
