"""Issue 6 "done when": a real Celery worker, the real Redis broker, a real local HTTP receiver."""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from conftest import BASE_DIR, subprocess_env, wait_until
from nuvlyx.core.delivery import INTERRUPTED
from nuvlyx.core.events import emit
from nuvlyx.core.models import Event
from nuvlyx.core.tasks import sweep_events
from webhooks.models import Attempt, Delivery, WebhookEndpoint
from webhooks.tasks import sweep_deliveries

from .receiver import Reply

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

FAST_RETRIES = {"WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1,1,1"}


def create_endpoint(api, url, **body) -> dict:
    response = api.post("/webhooks", {"url": url, "events": ["*"], **body})
    assert response.status_code == 201, response.content
    return response.json()


def delivery_of(event_id, endpoint_id=None) -> Delivery:
    qs = Delivery.objects.filter(event_id=event_id)
    if endpoint_id:
        qs = qs.filter(endpoint_id=endpoint_id)
    return qs.get()


def test_test_event_and_domain_event_arrive_signed(api, store, receiver, celery_worker_proc):
    from .receiver import Receiver

    idle = Receiver().start()  # an inactive endpoint's receiver: must get nothing
    try:
        celery_worker_proc()
        endpoint = create_endpoint(api, receiver.url)
        create_endpoint(api, idle.url, active=False)

        # webhook.test through the API
        test_delivery = api.post(f"/webhooks/{endpoint['id']}/test").json()
        wait_until(lambda: len(receiver.requests) == 1, 30, message="webhook.test delivered")
        # a domain event emitted in a committed transaction
        with transaction.atomic():
            event = emit(store=store, type="wallet.recharged", data={"customerId": "c-1", "newBalance": "25000.00"})
        wait_until(lambda: len(receiver.requests) == 2, 30, message="wallet.recharged delivered")

        for request, event_id in zip(receiver.requests, [test_delivery["eventId"], str(event.pk)], strict=True):
            payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
            assert payload == Event.objects.get(pk=event_id).payload
            assert request.headers["webhook-id"] == event_id
        assert payload["data"] == {"customerId": "c-1", "newBalance": "25000.00"}

        wait_until(lambda: delivery_of(event.pk).status == "SUCCEEDED", 20, message="delivery marked SUCCEEDED")
        listed = api.get(f"/webhooks/{endpoint['id']}/deliveries").json()
        assert [d["status"] for d in listed["data"]] == ["SUCCEEDED", "SUCCEEDED"]
        assert all(d["responseStatus"] == 200 and d["attempts"] == 1 for d in listed["data"])
        assert idle.requests == []
    finally:
        idle.stop()


def test_500_then_200_same_webhook_id_two_attempts(api, receiver, celery_worker_proc):
    celery_worker_proc(**FAST_RETRIES)
    receiver.replies = [Reply(status=500, body=b"boom")]
    endpoint = create_endpoint(api, receiver.url)

    queued = api.post(f"/webhooks/{endpoint['id']}/test").json()
    wait_until(lambda: Delivery.objects.get(pk=queued["id"]).status == "SUCCEEDED", 30, message="retried delivery")

    assert [r.headers["webhook-id"] for r in receiver.requests] == [queued["eventId"]] * 2
    for request in receiver.requests:
        Webhook(endpoint["secret"]).verify(request.body, request.headers)
    delivery = Delivery.objects.get(pk=queued["id"])
    assert delivery.attempts == 2 and delivery.response_status == 200
    log = list(Attempt.objects.filter(delivery=delivery).values_list("number", "response_status", "response_excerpt"))
    assert log == [(1, 500, "boom"), (2, 200, "ok")]


def test_worker_killed_mid_delivery_then_completes(api, receiver, celery_worker_proc):
    # a short lease so the test does not wait 150 s; the code path is the production one
    worker = celery_worker_proc(WEBHOOK_LEASE_SECONDS="2")
    receiver.replies = [Reply(sleep=3)]
    endpoint = create_endpoint(api, receiver.url)
    queued = api.post(f"/webhooks/{endpoint['id']}/test").json()

    wait_until(lambda: len(receiver.requests) == 1, 30, message="first attempt in flight")
    worker.kill()  # kill -9 while the receiver is still sleeping on the request
    delivery = Delivery.objects.get(pk=queued["id"])
    assert delivery.status == "PENDING" and delivery.attempts == 0 and delivery.locked_until is not None

    worker.start()

    def delivered_after_sweeps():
        sweep_deliveries()  # what celery beat runs every minute
        return Delivery.objects.get(pk=queued["id"]).status == "SUCCEEDED"

    wait_until(delivered_after_sweeps, 30, interval=1.0, message="delivery completed after restart")
    assert [r.headers["webhook-id"] for r in receiver.requests] == [queued["eventId"]] * 2
    # the attempt cut off by kill -9 reached the receiver: it counts (issue 12)
    delivery = Delivery.objects.get(pk=queued["id"])
    assert delivery.attempts == 2
    log = list(Attempt.objects.filter(delivery=delivery).values_list("number", "response_status", "error"))
    assert log == [(1, None, INTERRUPTED), (2, 200, "")]


EMIT_WITH_DEAD_BROKER = """
import django
django.setup()
from django.db import transaction
from nuvlyx.core.events import emit
from nuvlyx.core.models import Store
with transaction.atomic():
    event = emit(store=Store.objects.get(slug="acme"), type="product.created", data={"name": "Netflix 1 month"})
print(event.pk)
"""


def test_broker_down_at_commit_the_sweepers_deliver(api, store, receiver, celery_worker_proc):
    celery_worker_proc()
    endpoint = create_endpoint(api, receiver.url)

    # another process commits an event while its broker is unreachable
    result = subprocess.run(
        [sys.executable, "-c", EMIT_WITH_DEAD_BROKER],
        cwd=BASE_DIR,
        env=subprocess_env(CELERY_BROKER_URL="redis://127.0.0.1:1/0"),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    event_id = result.stdout.decode().strip().splitlines()[-1]
    event = Event.objects.get(pk=event_id)
    assert event.dispatched_at is None
    assert b"could not enqueue dispatch" in result.stderr

    time.sleep(1.0)
    assert receiver.requests == [] and not Delivery.objects.filter(event=event).exists()

    # the outbox sweeper skips events younger than 30 s (their own enqueue may still be on its way);
    # the endpoint keeps existing before the event (it only receives events from after its creation)
    Event.objects.filter(pk=event.pk).update(created_at=event.created_at - timedelta(seconds=60))
    WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(created_at=event.created_at - timedelta(seconds=120))

    def swept():  # what celery beat runs every minute
        sweep_events()
        sweep_deliveries()
        return len(receiver.requests) >= 1

    wait_until(swept, 30, interval=1.0, message="event delivered by the sweepers")
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == event_id
    Webhook(endpoint["secret"]).verify(request.body, request.headers)
    wait_until(lambda: delivery_of(event_id).status == "SUCCEEDED", 20, message="delivery SUCCEEDED")


def test_an_orders_two_events_arrive_created_first(store, receiver, celery_worker_proc):
    """API.md: order.created and order.completed at once, created first. The worker runs two processes;
    one endpoint's deliveries of one transaction's events go out in one task, in event order."""
    from nuvlyx.core.events import emit_many
    from webhooks import services

    celery_worker_proc()
    services.endpoint_create(store=store, url=receiver.url, events=["*"])
    pairs = []
    for n in range(12):
        with transaction.atomic():
            created, completed = emit_many(
                store=store, events=[("order.created", {"n": n}), ("order.completed", {"n": n})]
            )
        pairs.append((str(created.pk), str(completed.pk)))
    wait_until(lambda: len(receiver.requests) == 24, 60, message="24 deliveries")
    arrived = [request.headers["webhook-id"] for request in receiver.requests]
    for created_id, completed_id in pairs:
        assert arrived.index(created_id) < arrived.index(completed_id), arrived
