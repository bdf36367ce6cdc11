"""set_password (the owner's password without a prompt) and the embedded database's stale-pid rule."""

import io
import os
import socket

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from nuvlyx import embedded_db


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user(username="boss@shop.example", email="boss@shop.example")


def set_password(username: str, stdin: str, monkeypatch) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("set_password", username, stdout=out)
    return out.getvalue()


def test_set_password_reads_stdin_and_the_owner_can_log_in(owner, monkeypatch):
    assert "password set" in set_password("boss@shop.example", "a-long-Password-9\n", monkeypatch)
    owner.refresh_from_db()
    assert owner.check_password("a-long-Password-9")


@pytest.mark.parametrize(
    ("username", "stdin", "message"),
    [
        ("nobody@shop.example", "a-long-Password-9\n", "no user"),
        ("boss@shop.example", "", "no password on stdin"),
        ("boss@shop.example", "123\n", "too short"),
    ],
)
def test_set_password_refuses_and_changes_nothing(owner, monkeypatch, username, stdin, message):
    before = owner.password
    with pytest.raises(CommandError, match=message):
        set_password(username, stdin, monkeypatch)
    owner.refresh_from_db()
    assert owner.password == before


def test_a_postmaster_pid_whose_server_does_not_answer_is_stale(tmp_path):
    """After a reboot the pid in postmaster.pid may belong to another live process: not a server."""
    pgdata = embedded_db.data_dir(tmp_path)
    pgdata.mkdir()
    lines = [str(os.getpid()), str(pgdata), "0", "5432", str(tmp_path), "", "0 0", "ready"]
    (pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")
    assert embedded_db.running(tmp_path) is None  # a live pid (ours), but no socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(tmp_path / ".s.PGSQL.5432"))
        listener.listen(1)
        assert embedded_db.running(tmp_path)["pid"] == os.getpid()  # a socket that answers: running
