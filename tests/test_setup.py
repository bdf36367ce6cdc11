"""The two commands and the production configuration."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from conftest import free_port

BASE_DIR = Path(__file__).resolve().parent.parent


def test_check_deploy_is_clean_with_production_values():
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "nuvlyx.settings",
        "DEBUG": "false",
        "SECRET_KEY": "p" + os.urandom(40).hex(),
        "NUVLYX_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_secrets():
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "nuvlyx.settings", "DEBUG": "false"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# --- `make run` on a fresh clone: the embedded PostgreSQL stack ------------------------------
# One clone for the whole module; every start and every way of killing the stack reuses it. The
# virtualenv of this run is reused (VENV=...) so nothing is reinstalled.
STACK_STOP_BUDGET = 10.0  # Ctrl-C / SIGTERM → web, worker, beat and the database gone
RESTART_BUDGET = 30.0  # the next `make run` answers within this


class MakeRun:
    def __init__(self, clone: Path, logs: Path):
        self.clone, self.logs, self.runs = clone, logs, 0
        self.venv = Path(sys.executable).parent.parent
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "DEBUG", "SECRET_KEY", "NUVLYX_", "CELERY_"))
        }

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return (self.logs / f"make-run-{self.runs}.log").read_text(errors="replace")

    def start(self) -> float:
        """Start `make run`; returns the seconds until the API answers with the printed token."""
        self.runs += 1
        self.port = free_port()
        log = open(self.logs / f"make-run-{self.runs}.log", "w")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            ["make", "run", f"VENV={self.venv}", f"PORT={self.port}"],
            cwd=self.clone,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = started + 120
        while time.monotonic() < deadline and self.proc.poll() is None:
            token = self.token()
            if token:
                try:
                    me = requests.get(f"{self.base}/api/v1/external/me", headers=self.auth(), timeout=5)
                    if me.status_code == 200:
                        return time.monotonic() - started
                except requests.ConnectionError:
                    pass
            time.sleep(0.3)
        raise AssertionError("make run did not come up:\n" + self.output()[-4000:])

    def token(self) -> str | None:
        match = re.search(r"API token: (nvl_live_\w+)", self.output())
        return match.group(1) if match else None

    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token()}"}

    def pids(self) -> dict:
        return json.loads((self.clone / "var" / "run.json").read_text())

    def wait_exit(self, timeout: float) -> float:
        started = time.monotonic()
        self.proc.wait(timeout=timeout)
        return time.monotonic() - started

    def stack_processes(self) -> list:
        """Every live process of this clone's stack: cwd in the clone (Python, Celery's pool, postgres)."""
        import psutil

        found = []
        for proc in psutil.process_iter(["pid", "cwd", "status"]):
            cwd = proc.info["cwd"] or ""
            if cwd.startswith(str(self.clone)) and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc)
        return found

    def assert_nothing_left(self, within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while self.stack_processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [" ".join(p.cmdline())[:160] for p in self.stack_processes()]
        assert not left, left
        with pytest.raises(requests.ConnectionError):
            requests.get(self.base, timeout=2)

    def kill_everything(self) -> None:
        """Teardown, whatever happened: the group, then anything of the clone still alive."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for proc in self.stack_processes():
            proc.kill()


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fresh")
    clone = root / "clone"
    subprocess.run(["git", "clone", "--quiet", str(BASE_DIR), str(clone)], check=True, timeout=120)
    (Path(sys.executable).parent.parent / ".installed").touch(exist_ok=True)
    runner = MakeRun(clone, root)
    yield runner
    runner.kill_everything()


@pytest.mark.live
def test_make_run_on_a_fresh_clone_serves_api_and_admin_and_delivers_an_order_webhook(make_run):
    """Fresh clone, no DATABASE_URL/REDIS_URL: the embedded PostgreSQL serves the API and the admin,
    an order placed through the API is delivered as a signed webhook by the embedded worker, the
    README's operator commands work through bin/manage, and Ctrl-C stops everything in time."""
    from standardwebhooks.webhooks import Webhook

    from webhooks.tests.receiver import Receiver

    make_run.start()
    base, auth = make_run.base, make_run.auth()
    output = make_run.output()
    assert f"curl -H 'Authorization: Bearer {make_run.token()}' {base}/api/v1/external/products" in output
    assert (make_run.clone / "var" / "pg" / "PG_VERSION").read_text().strip() == "18"
    assert requests.get(f"{base}/api/v1/external/docs", timeout=5).status_code == 200
    unauthenticated = requests.get(f"{base}/api/v1/external/products", timeout=5)
    assert unauthenticated.status_code == 401 and unauthenticated.json()["code"] == "unauthorized"
    admin = requests.get(f"{base}/admin/login/", timeout=5)
    assert admin.status_code == 200 and "csrfmiddlewaretoken" in admin.text
    # the production server and configuration: what the server refuses itself is the contract's JSON too
    too_long = requests.get(f"{base}/api/v1/external/products?x={'a' * 70_000}", timeout=5)
    assert too_long.status_code == 414 and too_long.json()["code"] == "bad_request", too_long.text[:200]

    receiver = Receiver().start()
    try:
        hook = requests.post(
            f"{base}/api/v1/external/webhooks", json={"url": receiver.url, "events": ["order.created"]}, headers=auth
        )
        assert hook.status_code == 201, hook.content
        customer = requests.post(
            f"{base}/api/v1/external/customers", json={"name": "Ana", "email": "ana@example.com"}, headers=auth
        )
        assert customer.status_code == 201, customer.content
        customer_id = customer.json()["id"]
        recharge = requests.post(
            f"{base}/api/v1/external/customers/{customer_id}/wallet/recharge", json={"amount": "20000.00"}, headers=auth
        )
        assert recharge.status_code == 201, recharge.content
        products = requests.get(f"{base}/api/v1/external/products", headers=auth, timeout=10).json()
        service = next(p for p in products if p["name"] == "Account setup service")
        detail = requests.get(f"{base}/api/v1/external/products/{service['id']}", headers=auth, timeout=10).json()
        setup = next(v for v in detail["variations"] if v["sku"] == "SETUP")
        order = requests.post(
            f"{base}/api/v1/external/orders",
            json={"customerId": customer_id, "items": [{"variationId": setup["id"]}]},
            headers=auth,
            timeout=10,
        )
        assert order.status_code == 201, order.content
        assert order.json()["newBalance"] == "5000.00"
        deadline = time.monotonic() + 60
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.3)
        assert receiver.requests, "the embedded worker did not deliver the webhook:\n" + make_run.output()[-3000:]
        payload = Webhook(hook.json()["secret"]).verify(receiver.requests[0].body, receiver.requests[0].headers)
        assert payload["type"] == "order.created"
        assert payload["data"]["id"] == order.json()["orderId"]
    finally:
        receiver.stop()

    # The README's operator commands, through bin/manage, while `make run` holds the database.
    manage_env = dict(make_run.env, NUVLYX_PYTHON=sys.executable)
    manage = [str(make_run.clone / "bin" / "manage")]
    created = subprocess.run(
        [*manage, "create_store", "acme", "--name", "Acme", "--owner-email", "boss@acme.example"],
        env=manage_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    password = subprocess.run(
        [*manage, "set_password", "boss@acme.example"],
        input="a-long-Password-9\n", env=manage_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert password.returncode == 0, password.stderr
    session = requests.Session()
    session.get(f"{base}/admin/login/", timeout=5)
    login = session.post(
        f"{base}/admin/login/",
        data={
            "username": "boss@acme.example",
            "password": "a-long-Password-9",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": f"{base}/admin/login/"},
        timeout=10,
    )
    assert login.status_code == 200 and "/admin/logout/" in login.text, login.text[:500]
    audit = subprocess.run([*manage, "wallet_audit"], env=manage_env, capture_output=True, text=True, timeout=120)
    assert audit.returncode == 0, audit.stdout + audit.stderr

    # Ctrl-C: SIGINT to the terminal's process group.
    os.killpg(make_run.proc.pid, signal.SIGINT)
    assert make_run.wait_exit(timeout=30) <= STACK_STOP_BUDGET
    make_run.assert_nothing_left()
    output = make_run.output()
    assert "Traceback" not in output and "Segmentation fault" not in output, output[-3000:]


@pytest.mark.live
def test_make_run_comes_back_after_each_way_of_killing_it(make_run):
    """SIGTERM to the group, SIGKILL of the web process, SIGKILL of the postmaster: each time the
    stack goes away by itself and the next `make run` answers within 30 s, with the same demo token."""
    if make_run.runs == 0:  # alone (-k): the first start
        make_run.start()
        os.killpg(make_run.proc.pid, signal.SIGINT)
        make_run.wait_exit(timeout=30)
    token = None
    for way in ("SIGTERM to the group", "SIGKILL of web", "SIGKILL of the postmaster", "none"):
        elapsed = make_run.start()
        assert elapsed <= RESTART_BUDGET, (way, elapsed)
        assert token is None or make_run.token() == token, "the demo token changed across restarts"
        assert "(the same as last time)" in make_run.output()
        token = make_run.token()
        pids = make_run.pids()
        if way == "SIGTERM to the group":
            os.killpg(make_run.proc.pid, signal.SIGTERM)
            assert make_run.wait_exit(timeout=30) <= STACK_STOP_BUDGET
            output = make_run.output()
            assert "Traceback" not in output and "Segmentation fault" not in output, output[-3000:]
        elif way == "SIGKILL of web":
            os.kill(pids["web"], signal.SIGKILL)
            make_run.wait_exit(timeout=30)
        elif way == "SIGKILL of the postmaster":
            os.kill(pids["postmaster"], signal.SIGKILL)
            make_run.wait_exit(timeout=30)
        else:
            os.killpg(make_run.proc.pid, signal.SIGINT)
            make_run.wait_exit(timeout=30)
        make_run.assert_nothing_left(within=15)
