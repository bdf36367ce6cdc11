"""The outbox: an event commits with the change that caused it, and fan-out happens after commit."""

import pytest
from django.db import transaction

from nuvlyx.core import events
from nuvlyx.core.models import Event


@pytest.fixture
def interested_consumer():
    """A consumer without a `wants` predicate: it wants every event, so fan-out is queued."""
    calls = []
    events.register_event_handler("test-recorder", lambda event: calls.append(event.pk))
    yield calls
    events._handlers.pop("test-recorder")


def test_emit_writes_the_envelope_in_the_callers_transaction(
    store, interested_consumer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        event = events.emit(store=store, type="webhook.test", data={"hello": "world"})
    row = Event.objects.get(pk=event.pk)
    assert row.payload == {
        "id": str(event.pk),
        "type": "webhook.test",
        "createdAt": row.payload["createdAt"],
        "storeId": str(store.pk),
        "livemode": True,
        "data": {"hello": "world"},
    }
    assert row.payload["createdAt"].endswith("Z")
    assert len(callbacks) == 1  # the fan-out is scheduled for after commit, not run inside


def test_rolled_back_change_leaves_no_event(store):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            events.emit(store=store, type="webhook.test", data={})
            raise RuntimeError("boom")
    assert not Event.objects.exists()


def test_unknown_event_type_is_refused(store):
    with pytest.raises(ValueError):
        events.emit(store=store, type="order.exploded", data={})


def test_dispatch_runs_handlers_once_and_marks_dispatched(store, interested_consumer):
    event = events.emit(store=store, type="webhook.test", data={})
    events.dispatch(event.pk)
    events.dispatch(event.pk)  # already dispatched: no second fan-out
    assert interested_consumer == [event.pk]
    assert Event.objects.get(pk=event.pk).dispatched_at is not None


def test_sweeper_requeues_undispatched_events_on_the_real_broker(store, interested_consumer):
    """Only events older than the grace period and not yet dispatched go back on the queue."""
    from datetime import timedelta

    from django.conf import settings

    from nuvlyx.celery import app
    from nuvlyx.core.tasks import sweep_events
    from nuvlyx.core.timeutil import now

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)
        stale = events.emit(store=store, type="webhook.test", data={})
        events.emit(store=store, type="webhook.test", data={})  # fresh: its on-commit enqueue is still due
        done = events.emit(store=store, type="webhook.test", data={})
        Event.objects.filter(pk__in=[stale.pk, done.pk]).update(created_at=now() - timedelta(minutes=5))
        Event.objects.filter(pk=done.pk).update(dispatched_at=now())
        assert sweep_events() == 1
        message_count = conn.default_channel.queue_declare(queue, passive=True).message_count
        conn.default_channel.queue_purge(queue)
    assert message_count == 1


def test_one_fan_out_task_per_transaction(store, interested_consumer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            first = events.emit(store=store, type="webhook.test", data={"n": 1})
            second = events.emit(store=store, type="webhook.test", data={"n": 2})
    assert len(callbacks) == 1
    assert callbacks[0].event_batch == [first.pk, second.pk]


def test_rolled_back_savepoint_does_not_lose_the_next_events(
    store, interested_consumer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    events.emit(store=store, type="webhook.test", data={"n": 1})
                    raise RuntimeError("undo")
            except RuntimeError:
                pass
            kept = events.emit(store=store, type="webhook.test", data={"n": 2})
    assert [callback.event_batch for callback in callbacks] == [[kept.pk]]
    assert list(Event.objects.values_list("pk", flat=True)) == [kept.pk]


def test_events_nobody_wants_are_marked_dispatched_without_a_task(store, django_capture_on_commit_callbacks):
    """No webhook endpoint and no WhatsApp route in this store: nothing is queued for the worker."""
    with django_capture_on_commit_callbacks(execute=True):
        event = events.emit(store=store, type="customer.created", data={"id": "x"})
    assert Event.objects.get(pk=event.pk).dispatched_at is not None


def test_an_endpoint_makes_its_events_wanted(store, api, django_capture_on_commit_callbacks):
    created = api.post("/webhooks", {"url": "https://93.184.215.14/hook", "events": ["customer.created"]})
    assert created.status_code == 201, created.content
    assert events.anyone_wants(store.pk, ["customer.created"])
    assert not events.anyone_wants(store.pk, ["product.created"])
    with django_capture_on_commit_callbacks() as callbacks:
        wanted = events.emit(store=store, type="customer.created", data={"id": "y"})
    assert callbacks and Event.objects.get(pk=wanted.pk).dispatched_at is None


# --- poison events: a consumer that always fails -------------------------------------------------
@pytest.fixture
def failing_consumer():
    """A real registered consumer that raises on every event (a bug, a bad configuration)."""
    calls = []

    def handler(event):
        calls.append(event.pk)
        raise RuntimeError(f"consumer bug while handling {event.payload['data']}")

    events.register_event_handler("test-poison", handler)
    yield calls
    events._handlers.pop("test-poison")


def test_a_poison_event_stops_after_the_cap_and_is_dead_in_the_admin(store, failing_consumer, settings, client, caplog):
    from datetime import timedelta

    from django.contrib.auth import get_user_model

    from nuvlyx.core.services import store_create
    from nuvlyx.core.tasks import sweep_events
    from nuvlyx.core.timeutil import now

    settings.EVENT_DISPATCH_MAX_ATTEMPTS = 3
    poison = events.emit(store=store, type="webhook.test", data={"secret": "s3cr3t-value"})
    Event.objects.filter(pk=poison.pk).update(created_at=now() - timedelta(minutes=5))

    for attempt in (1, 2):
        with pytest.raises(RuntimeError):
            events.dispatch(poison.pk)  # the task retries, the sweeper comes back
        row = Event.objects.get(pk=poison.pk)
        assert (row.dispatch_attempts, row.dead_at, row.dispatched_at) == (attempt, None, None)
    with caplog.at_level("ERROR", logger="nuvlyx.core.events"):
        events.dispatch(poison.pk)  # the third failure: given up, not raised (the batch goes on)
    row = Event.objects.get(pk=poison.pk)
    assert row.dispatch_attempts == 3 and row.dead_at is not None and row.dispatched_at is None
    assert row.dispatch_error == "test-poison: RuntimeError"  # never the message: it may quote the payload
    assert any("is dead after 3 failed dispatches" in r.getMessage() for r in caplog.records)
    assert "s3cr3t-value" not in caplog.text.split("Traceback")[0]

    events.dispatch(poison.pk)  # dead: nothing runs any more
    assert failing_consumer == [poison.pk] * 3
    assert sweep_events() == 0  # and the sweeper leaves it alone

    owner_store = store_create(slug="tienda", name="Tienda", owner_email="owner@example.com", owner_password="pw-1")
    Event.objects.filter(pk=poison.pk).update(store=owner_store)
    client.force_login(get_user_model().objects.get(username="owner@example.com"))
    dead_list = client.get("/admin/core/event/?dispatch=dead")
    assert dead_list.status_code == 200
    assert str(poison.pk) in dead_list.content.decode()
    pending_list = client.get("/admin/core/event/?dispatch=pending")
    assert str(poison.pk) not in pending_list.content.decode()
    assert "s3cr3t-value" not in client.get(f"/admin/core/event/{poison.pk}/change/").content.decode()


def test_a_dead_event_can_be_dispatched_again_from_the_admin(store, failing_consumer, settings, client):
    from django.contrib.auth.models import User

    settings.EVENT_DISPATCH_MAX_ATTEMPTS = 1
    poison = events.emit(store=store, type="webhook.test", data={})
    events.dispatch(poison.pk)
    assert Event.objects.get(pk=poison.pk).dead_at is not None
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    response = client.post(
        "/admin/core/event/", {"action": "dispatch_again", "_selected_action": [str(poison.pk)]}, follow=True
    )
    assert response.status_code == 200
    row = Event.objects.get(pk=poison.pk)
    assert (row.dead_at, row.dispatch_attempts, row.dispatch_error) == (None, 0, "")
