"""The ONE Mosend HTTP client. Every request Nuvlyx makes to Mosend is built here.

Mosend's published API reference (developer.mosend.dev) was not reachable when this was
written, so the wire shape below is our reasonable choice; aligning with the published API
is a change to THIS file only (callers use `send_template` / `check_connection` and
`MosendResult`).

Wire shape
----------
Authentication, every request:  ``Authorization: Bearer <owner's Mosend API key>``

Send a template::

    POST {base_url}/v1/messages
    Content-Type: application/json
    {
      "from": "<sender / phone-number id>",
      "to": "+573001234567",
      "type": "template",
      "template": {
        "name": "order_delivered",
        "language": "es_CO",
        "parameters": ["Ana", "ORD-000042", "..."]      # {{1}}, {{2}}, … in order
      }
    }
    → 2xx {"id": "<mosend message id>", ...}   (also accepted: "messageId", or {"messages": [{"id": ...}]})

Check the connection (the admin's "Test connection")::

    GET {base_url}/v1/account
    → 200 {"name": "<organisation>", ...}

Outcome: 2xx = sent; anything else comes back as an error result with its status (None when no
answer arrived) and the Retry-After of a 429/503. Which failures are retried is decided by the one
rule of the delivery engine (nuvlyx/core/delivery.py), the same as for webhooks.
Timeout: 10 s. Base URL: settings.MOSEND_API_URL (default https://api.mosend.dev).

Nothing here logs or returns the API key; error texts never include request bodies.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import requests

from nuvlyx.core.delivery import parse_retry_after

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
BODY_EXCERPT_BYTES = 500
USER_AGENT = "Nuvlyx-Mosend/1"


@dataclass(frozen=True)
class MosendResult:
    ok: bool
    status: int | None = None  # HTTP status, None when no response arrived
    message_id: str = ""
    error: str = ""
    retry_after: float | None = None  # seconds, from a 429/503 Retry-After header
    data: dict[str, Any] = field(default_factory=dict)
    permanent: bool = False  # no retry can fix it (a key an HTTP header cannot carry)
    body: bytes = b""  # the (start of the) response body, for the caller's redacted excerpt


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "User-Agent": USER_AGENT}


def _url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


MAX_BODY_BYTES = 64 * 1024  # what we read of an answer (JSON of a message id, or an error)


def _read(response: requests.Response, deadline: float) -> tuple[bytes, bool]:
    """The body, read until it ends, MAX_BODY_BYTES, or the deadline; (body, complete)."""
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=1):  # byte by byte: a read of N waits for all N
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES or time.monotonic() > deadline:
            return b"".join(chunks)[:MAX_BODY_BYTES], size >= MAX_BODY_BYTES
    return b"".join(chunks), True


def _result(response: requests.Response, body_bytes: bytes, complete: bool) -> MosendResult:
    status = response.status_code
    try:
        parsed = orjson.loads(body_bytes) if complete and body_bytes else {}
    except orjson.JSONDecodeError:
        parsed = {}
    body = parsed if isinstance(parsed, dict) else {}
    if 200 <= status < 300:
        message_id = body.get("id") or body.get("messageId") or ""
        if not message_id and isinstance(body.get("messages"), list) and body["messages"]:
            first = body["messages"][0]
            message_id = first.get("id", "") if isinstance(first, dict) else ""
        return MosendResult(ok=True, status=status, message_id=str(message_id), data=body, body=body_bytes)
    retry_after = parse_retry_after(response.headers.get("Retry-After")) if status in (429, 503) else None
    return MosendResult(
        ok=False, status=status, error=f"Mosend answered HTTP {status}", retry_after=retry_after, data=body,
        body=body_bytes,
    )  # fmt: skip


def _request(method: str, url: str, *, api_key: str, json: dict | None = None) -> MosendResult:
    """One call, TIMEOUT_SECONDS in all: requests' timeout bounds each read, so an answer trickling in
    byte by byte would hold the worker past its lease (and a second worker would send again). The
    status is known once the headers are in; a 2xx whose body is still coming counts as accepted."""
    try:
        headers = _headers(api_key)
        for value in headers.values():
            value.encode("latin-1")  # what an HTTP header can carry: a pasted "—" in a key cannot
    except UnicodeEncodeError:
        return MosendResult(
            ok=False, error="the Mosend API key has characters an HTTP header cannot carry", permanent=True
        )
    deadline = time.monotonic() + TIMEOUT_SECONDS
    try:
        with requests.request(
            method, url, headers=headers, json=json, timeout=TIMEOUT_SECONDS, allow_redirects=False, stream=True
        ) as response:
            body, complete = _read(response, deadline)
    except requests.Timeout:
        return MosendResult(ok=False, error=f"timed out after {TIMEOUT_SECONDS}s")
    except requests.ConnectionError as exc:
        return MosendResult(ok=False, error=f"connection error: {type(exc).__name__}")
    except requests.RequestException as exc:
        return MosendResult(ok=False, error=f"request error: {type(exc).__name__}")
    logger.info("mosend %s %s -> %s%s", method, url, response.status_code, "" if complete else " (body cut off)")
    return _result(response, body, complete)


def template_payload(*, sender: str, to: str, template: str, language: str, parameters: list[str]) -> dict:
    return {
        "from": sender,
        "to": to,
        "type": "template",
        "template": {"name": template, "language": language, "parameters": list(parameters)},
    }


def send_template(
    *,
    base_url: str,
    api_key: str,
    sender: str,
    to: str,
    template: str,
    language: str,
    parameters: list[str],
) -> MosendResult:
    """Send one approved template to `to` (E.164). Never raises for HTTP/network problems."""
    payload = template_payload(sender=sender, to=to, template=template, language=language, parameters=parameters)
    return _request("POST", _url(base_url, "/v1/messages"), api_key=api_key, json=payload)


def check_connection(*, base_url: str, api_key: str) -> MosendResult:
    """Ask Mosend who this key belongs to (the admin's "Test connection")."""
    return _request("GET", _url(base_url, "/v1/account"), api_key=api_key)
