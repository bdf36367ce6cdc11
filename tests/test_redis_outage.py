"""Issue 12 "Done when": Redis stops for 15 s under load; every answer is 503 or normal, never 500;
every event placed during the outage is delivered afterwards, with nothing restarted by hand.

The test runs its OWN redis-server on a free port (never the machine's: other tests use it), with
a gunicorn, a Celery worker and Celery beat pointed at it, stops it under load and restarts it on
the same port. Rate limiting fails open (RATE_LIMIT_FAIL_OPEN's default), so orders keep being
placed while Redis is down: their events wait in the outbox until the sweeper re-queues them.
"""

import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from catalog.tests.factories import make_variation
from conftest import BASE_DIR, free_port, stop, subprocess_env, wait_for_port, wait_until
from nuvlyx.core.models import Event
from wallets.tests.factories import make_customer
from webhooks.models import Delivery
from webhooks.tests.receiver import Receiver

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 15
NORMAL = {200, 201, 202, 304}


def _start_redis(port: int, tmp_path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_port(port, proc)
    return proc


def _spawn(args: list[str], env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def private_stack(tmp_path):
    """redis-server + gunicorn + celery worker + celery beat, all on a private Redis."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (CI installs it)")
    port = free_port()
    procs: dict[str, subprocess.Popen] = {"redis": _start_redis(port, tmp_path)}
    url = f"redis://127.0.0.1:{port}/0"
    # a short retry schedule: a delivery that failed once is retried within the test's wait
    env = subprocess_env(
        REDIS_URL=url,
        CELERY_BROKER_URL=url,
        SWEEP_INTERVAL_SECONDS="3",
        EVENT_SWEEP_GRACE_SECONDS="5",
        WEBHOOK_RETRY_SCHEDULE="2,5,10,20",
    )
    stack = {"port": port, "procs": procs, "tmp": tmp_path}
    try:
        web_port = free_port()
        log = open(tmp_path / "stack.log", "ab")
        procs["web"] = _spawn(
            [
                *("gunicorn", "-c", str(BASE_DIR / "nuvlyx" / "gunicorn_conf.py"), "nuvlyx.wsgi:application"),
                *("--bind", f"127.0.0.1:{web_port}", "--workers", "2", "--threads", "4", "--timeout", "60"),
            ],
            env,
            log,
        )
        procs["worker"] = _spawn(
            [
                *("celery", "-A", "nuvlyx", "worker", "--loglevel", "INFO", "--pool", "prefork"),
                *("--concurrency", "2", "--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            env,
            log,
        )
        procs["beat"] = _spawn(
            ["celery", "-A", "nuvlyx", "beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "beat-schedule")],
            env,
            log,
        )
        wait_for_port(web_port, procs["web"])
        stack["api"] = f"http://127.0.0.1:{web_port}/api/v1/external"
        yield stack
    finally:
        for name in ("web", "worker", "beat", "redis"):
            if name in procs:
                stop(procs[name])


def test_redis_down_fifteen_seconds_under_load(private_stack, store, make_token, receiver):
    # given: a customer who can afford every order, a product that needs no stock, an endpoint
    variation = make_variation(store, price="1.00", depends_on_stock=False)
    customer = make_customer(store, balance="100000.00")
    token = make_token(store, rate_limit_per_minute=1_000_000)
    api = private_stack["api"]
    headers = {"Authorization": f"Bearer {token}"}
    hook = requests.post(f"{api}/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=headers, timeout=30)
    assert hook.status_code == 201, hook.text
    order_body = {"customerId": str(customer.pk), "items": [{"variationId": str(variation.pk)}]}

    answers: list[tuple[str, str, int, str]] = []  # (phase, what, status, body excerpt)
    phase = {"now": "before"}
    done = threading.Event()

    def client(kind: str):
        with requests.Session() as session:
            while not done.is_set():
                current = phase["now"]
                try:
                    if kind == "order":
                        key = {"Idempotency-Key": uuid.uuid4().hex}
                        r = session.post(f"{api}/orders", json=order_body, headers={**headers, **key}, timeout=30)
                    elif kind == "products":
                        r = session.get(f"{api}/products", headers=headers, timeout=30)
                    else:
                        r = session.get(f"{api}/orders", params={"limit": 5}, headers=headers, timeout=30)
                except requests.RequestException as exc:  # a connection error is not an HTTP answer
                    answers.append((current, kind, 0, repr(exc)[:200]))
                    continue
                answers.append((current, kind, r.status_code, r.text[:200]))
                if r.status_code == 503:
                    assert r.headers.get("Retry-After"), r.headers
                time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(k,)) for k in ("order", "order", "products", "orders")]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)
        # when: Redis goes away for 15 s under load, then comes back on the same port
        phase["now"] = "outage"
        outage_started = time.time()
        stop(private_stack["procs"]["redis"])
        time.sleep(OUTAGE_SECONDS)
        phase["now"] = "after"
        outage_ended = time.time()
        private_stack["procs"]["redis"] = _start_redis(private_stack["port"], private_stack["tmp"])
        time.sleep(5)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)

    # then: every answer is normal or 503, never a 500 (nor a dropped connection)
    by_status = Counter((p, s) for p, _, s, _ in answers)
    bad = [a for a in answers if a[2] not in NORMAL | {503}]
    assert not bad, (bad[:10], by_status)
    assert any(p == "outage" for p, _, _, _ in answers), by_status
    assert any(p == "after" and s in NORMAL for p, _, s, _ in answers), by_status  # recovered on its own

    # orders were placed during the outage (the limiter fails open), and their events wait
    placed_during = Event.objects.filter(
        store=store,
        type__startswith="order.",
        created_at__gte=_utc(outage_started),
        created_at__lt=_utc(outage_ended),
    )
    assert placed_during.count() > 0, by_status

    # every order event, those of the outage included, is delivered with nothing restarted
    order_events = Event.objects.filter(store=store, type__startswith="order.")

    def all_delivered():
        expected = set(order_events.values_list("pk", flat=True))
        succeeded = set(
            Delivery.objects.filter(event_id__in=expected, status="SUCCEEDED").values_list("event_id", flat=True)
        )
        return expected and expected == succeeded

    # the worker, beat and web processes survived the outage (a dead worker delivers nothing)
    for name in ("web", "worker", "beat"):
        assert private_stack["procs"][name].poll() is None, (
            f"{name} died during the outage:\n{_log_tail(private_stack)}"
        )
    try:
        wait_until(all_delivered, timeout=120, interval=2, message="every order event delivered after the outage")
    except pytest.fail.Exception:
        statuses = Counter(Delivery.objects.filter(event__in=order_events).values_list("status", flat=True))
        undispatched = order_events.filter(dispatched_at__isnull=True).count()
        pytest.fail(f"deliveries {dict(statuses)}, undispatched events {undispatched}\n{_log_tail(private_stack)}")
    received = {r.headers["webhook-id"] for r in receiver.requests}
    assert {str(pk) for pk in placed_during.values_list("pk", flat=True)} <= received


def _log_tail(stack, lines: int = 60) -> str:
    """The end of the stack's log, without the per-task chatter, for a failure message."""
    text = (stack["tmp"] / "stack.log").read_text(errors="replace").splitlines()
    noise = ("succeeded in", "] received", "Sending due task")
    return "\n".join([line for line in text if not any(n in line for n in noise)][-lines:])


def _utc(timestamp: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, tz=UTC)
