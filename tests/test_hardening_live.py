"""Issue 12 against a real gunicorn started with nuvlyx/gunicorn_conf.py (as in production):
errors the server answers itself carry the contract's JSON body; chunked bodies are read."""

import http.client
import json
import socket

import pytest

from conftest import API

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def _raw(port: int, request: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return int(lines[0].split()[1]), headers, body


def _dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out, data = out + data[:size], data[size + 2 :]


def _assert_json_error(status, headers, body, expected):
    assert status == expected, (status, body[:300])
    assert headers["content-type"].startswith("application/json"), headers
    error = json.loads(body)
    assert error["statusCode"] == expected and error["code"] and error["message"] and error["error"]
    assert b"<html" not in body


@pytest.fixture
def server(live_server_proc):
    return live_server_proc(workers=1, threads=4)


def test_long_request_line_is_a_json_414(server):
    request = f"GET {API}/products?q={'x' * 5000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    _assert_json_error(*_raw(server.port, request), 414)


def test_large_headers_are_a_json_431(server):
    big = f"GET {API}/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {'y' * 9000}\r\n\r\n".encode()
    status, headers, body = _raw(server.port, big)
    assert status in (400, 431), status
    _assert_json_error(status, headers, body, status)
    many = "".join(f"X-H{i}: v\r\n" for i in range(150))
    status, headers, body = _raw(server.port, f"GET {API}/me HTTP/1.1\r\nHost: 127.0.0.1\r\n{many}\r\n".encode())
    _assert_json_error(status, headers, body, 431)


def test_malformed_request_line_and_bad_host_are_json_400(server):
    _assert_json_error(*_raw(server.port, b"GET\x01 / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 400)
    bad_host = f"GET {API}/me HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".encode()
    _assert_json_error(*_raw(server.port, bad_host), 400)


def _post_chunked(port: int, token: str, chunks) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn.request("POST", f"{API}/price-tiers", body=iter(chunks), headers=headers, encode_chunked=True)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_chunked_body_is_read_not_treated_as_empty(server, api):
    status, body = _post_chunked(server.port, api.token, [b'{"name":', b'"Gold",', b'"level":3}'])
    assert status == 201, body
    assert json.loads(body)["name"] == "Gold"
    assert [t["name"] for t in api.get("/price-tiers").json()] == ["Gold"]
    # a chunked body over 1 MB is refused like any other
    status, body = _post_chunked(server.port, api.token, [b'{"name":"' + b"x" * 1024 * 1024 + b'","level":4}'])
    assert status == 413, body[:200]
    assert json.loads(body)["code"] == "payload_too_large"


@pytest.mark.parametrize("trusted", [False, True])
def test_forwarded_scheme_headers_are_believed_only_behind_a_trusted_proxy(live_server_proc, trusted):
    """gunicorn must not mark a plain-HTTP request https on its own (its defaults believe these headers
    from 127.0.0.1): only Django's SECURE_PROXY_SSL_HEADER decides, and only with TRUSTED_PROXY=true."""
    server = live_server_proc(
        workers=1, threads=2, TRUSTED_PROXY=str(trusted).lower(), SECURE_SSL_REDIRECT="true", SECURE_HSTS_SECONDS="0"
    )
    plain = f"GET {API}/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    status, headers, _ = _raw(server.port, f"{plain}\r\n".encode())
    assert status == 301 and headers["location"].startswith("https://"), (status, headers)
    for claim in ("X-Forwarded-Proto: https", "X-Forwarded-Ssl: on", "X-Forwarded-Protocol: ssl"):
        status, headers, _ = _raw(server.port, f"{plain}{claim}\r\n\r\n".encode())
        if trusted and claim.startswith("X-Forwarded-Proto:"):
            assert status != 301, (claim, status, headers)  # the declared proxy said https: served
        else:
            assert status == 301 and headers["location"].startswith("https://"), (claim, status, headers)
