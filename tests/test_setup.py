"""The two commands and the production configuration."""

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


@pytest.mark.live
def test_make_run_on_a_fresh_clone_serves_docs_and_guards_the_api(tmp_path):
    """`make run` on a fresh clone (embedded SQLite, filesystem broker): docs 200, API 401 without a token,
    the printed demo token works, and a webhook is delivered asynchronously by the embedded worker.
    The virtualenv of this run is reused so the test does not reinstall."""
    from standardwebhooks.webhooks import Webhook

    from webhooks.tests.receiver import Receiver

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(BASE_DIR), str(clone)], check=True, timeout=120)
    venv = Path(sys.executable).parent.parent
    (venv / ".installed").touch(exist_ok=True)
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "DEBUG", "SECRET_KEY", "NUVLYX_", "CELERY_"))
    }
    log = open(tmp_path / "make-run.log", "w+")
    proc = subprocess.Popen(
        ["make", "run", f"VENV={venv}", f"PORT={port}"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        docs = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                docs = requests.get(f"{base}/api/v1/external/docs", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        log.seek(0)
        output = log.read()
        assert docs is not None and docs.status_code == 200, output[-3000:]
        unauthenticated = requests.get(f"{base}/api/v1/external/products", timeout=5)
        assert unauthenticated.status_code == 401
        assert unauthenticated.json()["code"] == "unauthorized"
        token = re.search(r"API token: (nvl_live_\w+)", output).group(1)
        me = requests.get(f"{base}/api/v1/external/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert me.status_code == 200 and me.json()["store"]["slug"] == "demo"
        assert (clone / "var" / "db.sqlite3").exists()

        receiver = Receiver().start()
        try:
            auth = {"Authorization": f"Bearer {token}"}
            hook = requests.post(
                f"{base}/api/v1/external/webhooks",
                json={"url": receiver.url, "events": ["*"]},
                headers=auth,
                timeout=10,
            )
            assert hook.status_code == 201, hook.content
            test = requests.post(f"{base}/api/v1/external/webhooks/{hook.json()['id']}/test", headers=auth, timeout=10)
            assert test.status_code == 202, test.content
            deadline = time.monotonic() + 60
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.3)
            assert receiver.requests, "the embedded worker did not deliver the webhook"
            delivered = receiver.requests[0]
            payload = Webhook(hook.json()["secret"]).verify(delivered.body, delivered.headers)
            assert payload["type"] == "webhook.test"
        finally:
            receiver.stop()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
