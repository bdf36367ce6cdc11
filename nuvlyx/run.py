"""`make run`: the whole embedded stack under one small supervisor (`python -m nuvlyx.run`).

Starts the embedded PostgreSQL (unless DATABASE_URL is set), migrates, sets up the demo store,
then runs the web server, a Celery worker and Celery beat until Ctrl-C / SIGTERM / SIGHUP.

Why a supervisor and not shell traps: each child runs in its own session, so a signal to the
terminal's process group reaches only this process, which stops the children in a fixed order
(web, worker, beat, then the database) once, within the time budget, with no signal loop. Children
get SIGTERM from the kernel if this process is killed with SIGKILL (PR_SET_PDEATHSIG), and if any
child (or the database) dies the rest is stopped too, so nothing is left to block the next run.
The pids of the stack are written to var/run.json (the tests read it).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from nuvlyx import embedded_db

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
CHILD_STOP_TIMEOUT = (
    5.0  # then SIGKILL (tasks are acks_late: a killed one is redelivered); the database gets the rest of 10 s
)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the children then outlive a SIGKILLed supervisor
        pass


class Supervisor:
    def __init__(self, port: int):
        self.port = port
        self.stopping = False
        self.children: dict[str, subprocess.Popen] = {}
        self.postmaster_pid: int | None = None
        self.env = dict(os.environ, PYTHONUNBUFFERED="1")

    def on_signal(self, signum, frame) -> None:
        self.stopping = True  # idempotent: a second Ctrl-C does not start a second shutdown

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.children[name] = proc
        return proc

    def step(self, *args: str) -> bool:
        """Run one manage.py command to its end (or until we are told to stop)."""
        proc = self.spawn("setup", "manage.py", *args)
        while proc.poll() is None:
            if self.stopping:
                self.stop_children()
                return False
            time.sleep(0.1)
        del self.children["setup"]
        if proc.returncode != 0:
            print(f"manage.py {args[0]} failed (exit {proc.returncode}); stopping.", file=sys.stderr)
            return False
        return True

    def database_alive(self) -> bool:
        if self.postmaster_pid is None:
            return True
        try:
            os.kill(self.postmaster_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True

    def stop_children(self) -> None:
        for proc in self.children.values():
            if proc.poll() is None:  # the main process only: a Celery worker stops its own pool
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + CHILD_STOP_TIMEOUT
        for proc in self.children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # the whole group: a worker's pool processes too, even when the main process is gone
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()

    def write_pids(self) -> None:
        pids = {name: proc.pid for name, proc in self.children.items()}
        pids.update(supervisor=os.getpid(), postmaster=self.postmaster_pid, port=self.port)
        (VAR_DIR / "run.json").write_text(json.dumps(pids))

    def wait_for_port(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping:
            if self.children["web"].poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.2)
        return False

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.on_signal)
        (VAR_DIR / "celery" / "queue").mkdir(parents=True, exist_ok=True)
        (VAR_DIR / "celery" / "control").mkdir(parents=True, exist_ok=True)
        release = None
        if not self.env.get("DATABASE_URL"):
            info, _ = embedded_db.ensure_running(VAR_DIR)
            release = embedded_db.hold(VAR_DIR)
            self.postmaster_pid = info["pid"]
            self.env[embedded_db.HELD_ENV] = "1"
        try:
            return self._serve()
        finally:
            self.stop_children()
            if release is not None:
                release()

    def _serve(self) -> int:
        if not self.step("migrate", "--noinput", "-v", "0"):
            return 0 if self.stopping else 1
        if not self.step("demo_setup", "--port", str(self.port)):
            return 0 if self.stopping else 1
        # The production server and configuration (nuvlyx/gunicorn_conf.py: the contract's JSON body for
        # the 400/414/431 gunicorn answers itself; runserver answered those in HTML). One process with
        # threads, so the in-process rate limit and token cache of this mode stay exact.
        self.spawn(
            "web", "-m", "gunicorn", "-c", "nuvlyx/gunicorn_conf.py", "nuvlyx.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--worker-class", "gthread", "--threads", "8",
            "--graceful-timeout", "5", "--access-logfile", "-",
        )  # fmt: skip
        celery = ("-m", "celery", "-A", "nuvlyx")
        self.spawn(
            "worker", *celery, "worker", "--loglevel", "INFO", "--concurrency", "2",
            "--without-gossip", "--without-mingle",
        )  # fmt: skip
        self.spawn("beat", *celery, "beat", "--loglevel", "INFO", "--schedule", str(VAR_DIR / "celerybeat-schedule"))
        self.write_pids()
        if self.wait_for_port():
            print(
                f"Serving http://127.0.0.1:{self.port}/ (web, Celery worker and beat"
                f"{', embedded PostgreSQL' if self.postmaster_pid else ''}). Ctrl-C stops all.",
                flush=True,
            )
        while not self.stopping:
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    print(f"{name} exited (code {proc.returncode}); stopping the rest.", file=sys.stderr, flush=True)
                    return 1
            if not self.database_alive():
                print("the embedded PostgreSQL stopped; stopping the rest.", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.2)
        print("Stopping web, worker, beat and the database…", flush=True)
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()
    sys.exit(Supervisor(args.port).run())


if __name__ == "__main__":
    main()
