"""Shared test fixtures: stores, tokens, an API client, and real subprocesses.

- `api` / `api_for`: the Django test client speaking to /api/v1/external/ with a token;
- `live_server_proc`: a real gunicorn serving the test database (for concurrent clients);
- `celery_worker_proc`: a real Celery worker on the test database and the real broker.
Both subprocess fixtures need `transactional_db` (data must be committed to be seen).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from nuvlyx.api.permissions import SCOPES

BASE_DIR = Path(__file__).resolve().parent
API = "/api/v1/external"


# --- no process outlives the suite -----------------------------------------------------------
# Every process the suite starts inherits this marker (tests that clean the environment keep it),
# even one that escapes its parent (the postmaster that pg_ctl forks, a worker's pool). At the end
# any live process still carrying it is reported, killed and fails the run.
LEFTOVER_MARKER = "NVLTEST_SESSION"


def pytest_sessionstart(session):
    os.environ.setdefault(LEFTOVER_MARKER, f"{os.getpid()}-{time.time_ns()}")


def _marked_processes() -> list:
    import psutil

    marker, me = os.environ.get(LEFTOVER_MARKER), os.getpid()
    found = []
    for proc in psutil.process_iter(["pid", "status"]):
        if proc.info["pid"] == me or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if proc.environ().get(LEFTOVER_MARKER) == marker:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):
        return
    deadline = time.monotonic() + 10  # a process stopped at teardown may still be exiting
    leftovers = _marked_processes()
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.5)
        leftovers = _marked_processes()
    if not leftovers:
        return
    import psutil

    lines = []
    for proc in leftovers:
        try:
            lines.append(f"  pid {proc.pid}: {' '.join(proc.cmdline())[:200]}")
            proc.kill()
        except psutil.Error:  # it exited while we looked: gone either way
            continue
    sys.stderr.write(
        "\nprocesses started by the test suite were left running (now killed):\n" + "\n".join(lines) + "\n"
    )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- the ledger invariant, checked after every test that touched the database --------------
@pytest.fixture(autouse=True, scope="session")
def _token_cache_subscribed():
    """The process's token cache is listening before the first test, as in a warmed-up web process:
    query counts are then the steady state (a token seen once is authenticated from memory)."""
    from integrations.token_cache import cache

    deadline = time.monotonic() + 10
    while not cache.enabled() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.enabled(), "the token cache could not subscribe to Redis"


@pytest.fixture(autouse=True)
def _wallet_audit_after_each_test(request):
    """`manage.py wallet_audit` must pass after every test (before its data is rolled back), so the
    invariant balance == sum(ledger) holds across the whole suite, not just in dedicated tests.
    Tests that corrupt a balance on purpose carry @pytest.mark.ledger_corrupted_on_purpose."""
    uses_db = set(request.fixturenames) & {"db", "transactional_db"} or request.node.get_closest_marker("django_db")
    if not uses_db or request.node.get_closest_marker("ledger_corrupted_on_purpose"):
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so torn down (rolled back) after the audit
    yield
    from io import StringIO

    from django.core.management import call_command

    call_command("wallet_audit", stdout=StringIO(), stderr=StringIO())


# --- the admin speaks Spanish first; tests written against English text ask for English ---------
@pytest.fixture
def client():
    """pytest-django's `client`, sending `Accept-Language: en` (the admin's default is Spanish).
    Tests of the owner's languages build their own Client (tests/test_admin_l10n.py)."""
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


# --- stores and tokens ------------------------------------------------------------------------
@pytest.fixture
def make_store(db):
    from nuvlyx.core.services import store_create

    counter = {"n": 0}

    def _make(slug: str | None = None, **kwargs):
        counter["n"] += 1
        slug = slug or f"store-{counter['n']}-{os.urandom(3).hex()}"
        return store_create(slug=slug, name=kwargs.pop("name", slug.title()), **kwargs)

    return _make


@pytest.fixture
def store(make_store):
    return make_store("acme", name="Acme Streaming")


@pytest.fixture
def other_store(make_store):
    return make_store("other", name="Other Store")


@pytest.fixture
def sandbox(store):
    """`store`'s sandbox (test mode): the store `nvl_test_` tokens of `store` act on."""
    from nuvlyx.core.sandbox import store_sandbox

    return store_sandbox(store=store)


@pytest.fixture
def make_token(db):
    from integrations.services import api_token_create

    def _make(store, scopes=SCOPES, **kwargs) -> str:
        _, plaintext = api_token_create(store=store, name=kwargs.pop("name", "test"), scopes=list(scopes), **kwargs)
        return plaintext

    return _make


class ApiClient:
    """Thin wrapper over Django's test client: JSON in, JSON out, Bearer token, /api/v1/external prefix."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers: dict | None) -> dict:
        out = {}
        if self.token:
            out["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        for name, value in (headers or {}).items():
            out["HTTP_" + name.upper().replace("-", "_")] = value
        return out

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self.client.get(API + path, params or {}, **self._headers(headers))

    def post(
        self,
        path: str,
        body=None,
        headers: dict | None = None,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
    ):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(API + path, data=data, content_type=content_type, **self._headers(headers))

    def patch(self, path: str, body=None, headers: dict | None = None):
        return self.client.patch(
            API + path, data=json.dumps(body or {}), content_type="application/json", **self._headers(headers)
        )

    def delete(self, path: str, headers: dict | None = None):
        return self.client.delete(API + path, **self._headers(headers))

    def put(self, path: str, body=None, headers: dict | None = None):
        return self.client.put(
            API + path, data=json.dumps(body or {}), content_type="application/json", **self._headers(headers)
        )


@pytest.fixture
def api_for(client, make_token):
    """api_for(store, scopes=[...]) → ApiClient with a fresh token of that store."""

    def _make(store, scopes=SCOPES, **kwargs) -> ApiClient:
        from django.test import Client

        return ApiClient(Client(), make_token(store, scopes=scopes, **kwargs))

    return _make


@pytest.fixture
def api(api_for, store) -> ApiClient:
    """A client with every scope on `store`."""
    return api_for(store)


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The contract's error body: statusCode, message, error, code."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert body["statusCode"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["error"], str) and body["error"]
    if code is not None:
        assert body["code"] == code, body
    return body


# --- real subprocesses ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def subprocess_env(**extra) -> dict:
    """The environment a subprocess needs to share the test database, broker and keys."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "nuvlyx.test_settings",
            "DATABASE_URL": f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{connection.settings_dict['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "NUVLYX_ENCRYPTION_KEYS": ",".join(settings.NUVLYX_ENCRYPTION_KEYS),
            "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


class LiveServer:
    def __init__(self, port: int, proc: subprocess.Popen):
        self.port = port
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.api = f"{self.url}{API}"


@pytest.fixture
def live_server_proc(transactional_db, tmp_path):
    """A real gunicorn (2 workers × 8 threads) serving the test database over HTTP."""
    servers: list[LiveServer] = []

    def _start(workers: int = 2, threads: int = 8, app: str = "nuvlyx.wsgi:application", **env) -> LiveServer:
        """`app`: the WSGI entry point (the production one unless a test needs another)."""
        port = free_port()
        log = open(tmp_path / f"gunicorn-{port}.log", "wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(BASE_DIR / "nuvlyx" / "gunicorn_conf.py"),
                app,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--worker-class",
                "gthread",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            cwd=BASE_DIR,
            env=subprocess_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(port, proc)
        server = LiveServer(port, proc)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        stop(server.proc)


class WorkerProcess:
    def __init__(self, start_fn):
        self._start_fn = start_fn
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        self.proc = self._start_fn()
        return self

    def kill(self) -> None:
        """kill -9 the whole worker (main process and its children)."""
        if self.proc is not None:
            stop(self.proc, sig=signal.SIGKILL)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@pytest.fixture
def celery_worker_proc(transactional_db, tmp_path):
    """A real `celery worker` subprocess on the test database and the real (Redis) broker.

    The queue is purged first so messages left by earlier tests are not replayed here.
    """
    from nuvlyx.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)

    workers: list[WorkerProcess] = []

    def _spawn(**env):
        log = open(tmp_path / f"celery-{len(workers)}-{time.time():.0f}.log", "ab")
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "nuvlyx",
                "worker",
                "--loglevel",
                "INFO",
                "--pool",
                "prefork",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
            ],
            cwd=BASE_DIR,
            env=subprocess_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _make(**env) -> WorkerProcess:
        worker = WorkerProcess(lambda: _spawn(**env)).start()
        workers.append(worker)
        return worker

    yield _make
    for worker in workers:
        worker.stop()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")
