"""One transaction's events reach each endpoint in event order: their first attempts are queued as
one task per endpoint (webhooks.deliver_in_order), read back from the real Redis broker."""

import base64
import json

import pytest
import redis
from django.conf import settings
from django.db import transaction

from nuvlyx.core.events import emit_many
from nuvlyx.core.tasks import dispatch_events
from webhooks import services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)


def queued() -> list[tuple[str, list]]:
    """(task name, args) of every message waiting in our queue, oldest first."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    out = []
    for raw in reversed(client.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1)):  # kombu LPUSHes
        message = json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        out.append((message["headers"]["task"], args))
    return out


def purge() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def test_first_attempts_are_queued_per_endpoint_in_event_order(store):
    one, _ = services.endpoint_create(store=store, url="http://127.0.0.1:9/one", events=["*"])
    two, _ = services.endpoint_create(store=store, url="http://127.0.0.1:9/two", events=["order.completed"])
    with transaction.atomic():
        created, completed = emit_many(store=store, events=[("order.created", {}), ("order.completed", {})])
    purge()  # the dispatch task queued at commit: run it here instead, in this process

    dispatch_events.apply(args=[[str(created.pk), str(completed.pk)]])

    def delivery(event, endpoint):
        return str(Delivery.objects.get(event=event, endpoint=endpoint).pk)

    tasks = queued()
    purge()
    assert sorted(tasks) == sorted(
        [
            ("webhooks.deliver_in_order", [[delivery(created, one), delivery(completed, one)]]),
            ("webhooks.deliver", [delivery(completed, two)]),  # one delivery: the plain task
        ]
    )


def test_outside_a_dispatch_batch_each_delivery_is_its_own_task(store):
    endpoint, _ = services.endpoint_create(store=store, url="http://127.0.0.1:9/one", events=["*"])
    with transaction.atomic():
        (event,) = emit_many(store=store, events=[("wallet.recharged", {})])
    purge()
    services.fan_out(event)  # e.g. the sweeper's path: no batch
    tasks = queued()
    purge()
    assert tasks == [("webhooks.deliver", [str(Delivery.objects.get(event=event, endpoint=endpoint).pk)])]
