"""WhatsApp sends through a real Celery worker, a real order, and a fake Mosend (a local HTTP server)."""

import time
from datetime import timedelta

import pytest

from conftest import wait_until
from integrations import whatsapp
from integrations.models import MessageLog
from integrations.tests.fake_mosend import FakeMosend
from integrations.tests.whatsapp_helpers import API_KEY, SENDER, connect, linked_customer, route
from nuvlyx.core import delivery
from nuvlyx.core.models import Event
from nuvlyx.core.timeutil import now

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def worker_logs(tmp_path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("celery-*.log")))


def test_placed_order_500_then_200_is_retried_by_the_worker_and_logged_sent(celery_worker_proc, store, tmp_path):
    from catalog.tests.factories import make_variation, stock
    from orders.models import Order
    from orders.services import order_place
    from wallets.tests.factories import make_customer

    # given: a linked, funded customer; a stocked product; the owner's Mosend connection and route
    customer = make_customer(store, balance="50000.00", phone="+573001112233", name="Ana")
    variation = make_variation(store, price="15000.00", post_sale_instructions="Entra a la app")
    [credentials] = stock(variation, 1)
    connect(store)
    route(store, parameters=["customer_name", "order_number", "sku", "credentials", "post_sale_instructions"])
    with FakeMosend() as fake:
        fake.program(500, {"error": "temporarily unavailable"})
        celery_worker_proc(MOSEND_API_URL=fake.url, MOSEND_RETRY_SCHEDULE="1,1,1")

        # when: the order is placed (committed); the worker fans the events out and sends
        placed = order_place(store=store, customer_id=customer.pk, items=[variation.pk])

        # then
        message = wait_until(
            lambda: MessageLog.objects.filter(store=store, status=MessageLog.Status.SENT).first(),
            timeout=45,
            message="the WhatsApp message to be SENT",
        )
        sends = fake.sends()
    assert Order.objects.get(pk=placed.order.pk).status == Order.Status.COMPLETED
    assert message.attempts == 2
    assert message.event_type == "order.completed"
    assert message.customer_id == customer.pk
    assert message.mosend_message_id == "msg_2"
    assert MessageLog.objects.filter(store=store).count() == 1  # order.created is not routed
    assert len(sends) == 2
    assert sends[0].json == sends[1].json
    assert sends[1].headers["Authorization"] == f"Bearer {API_KEY}"
    assert sends[1].json["from"] == SENDER
    assert sends[1].json["to"] == "+573001112233"
    assert sends[1].json["template"]["parameters"] == [
        "Ana",
        placed.order.order_number,
        variation.sku,
        credentials,
        "Entra a la app",
    ]
    logs = worker_logs(tmp_path)
    assert "integrations.send_whatsapp" in logs  # the log file is the worker's
    assert API_KEY not in logs
    assert credentials not in logs


def test_sweeper_requeues_due_messages_and_duplicate_tasks_send_once(celery_worker_proc, store):
    customer = linked_customer(store)
    connect(store)
    event = Event.objects.create(store=store, type="order.completed", payload={"data": {}}, dispatched_at=now())
    due = MessageLog.objects.create(
        store=store,
        event=event,
        event_type="order.completed",
        customer=customer,
        template_name="t",
        language="es",
        parameter_keys=["customer_name"],
        phone=customer.phone,
        next_attempt_at=now() - timedelta(minutes=5),
    )
    leased = MessageLog.objects.create(
        store=store,
        event=event,
        event_type="order.completed",
        customer=customer,
        template_name="t2",
        language="es",
        parameter_keys=[],
        phone=customer.phone,
        next_attempt_at=now() - timedelta(minutes=5),
        leased_until=now() + timedelta(minutes=5),
    )
    with FakeMosend() as fake:
        fake.program(200, {"id": "only-one"}, delay=1.0)  # slow, so duplicate tasks overlap
        celery_worker_proc(MOSEND_API_URL=fake.url, MOSEND_RETRY_SCHEDULE="1,1,1")

        assert delivery.sweep(whatsapp.CHANNEL) == 1  # the leased one is someone else's
        for _ in range(3):  # a broker redelivery, a second sweeper, a re-dispatched event…
            whatsapp.enqueue_send(due.pk)

        wait_until(
            lambda: MessageLog.objects.filter(pk=due.pk, status=MessageLog.Status.SENT).exists(),
            timeout=45,
            message="the swept message to be SENT",
        )
        time.sleep(3)  # let the duplicate tasks run (they must find nothing to do)
        sends = fake.sends()
    due.refresh_from_db()
    leased.refresh_from_db()
    assert len(sends) == 1
    assert sends[0].json["template"]["name"] == "t"
    assert (due.attempts, due.mosend_message_id) == (1, "only-one")
    assert (leased.status, leased.attempts) == (MessageLog.Status.PENDING, 0)
