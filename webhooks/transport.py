"""The one place webhooks do outbound HTTP: POST to an address that the SSRF guard checked.

`requests` is pinned to the checked IP through a per-request adapter: the socket connects to
`target.address`, while the Host header, TLS SNI and certificate verification keep using the
URL's hostname. Redirects are never followed, proxies from the environment are ignored, and
at most RESPONSE_EXCERPT_BYTES of the response body are read.
"""

import logging
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool

from nuvlyx.core.delivery import parse_retry_after

from . import ssrf
from .models import RESPONSE_EXCERPT_BYTES

logger = logging.getLogger(__name__)

USER_AGENT = "Nuvlyx-Webhooks/1.0"


@dataclass(frozen=True)
class Result:
    status: int | None  # None when no HTTP response arrived
    duration_ms: int
    error: str  # "" on a 2xx
    excerpt: str
    retry_after: float | None  # seconds, from a 429/503 Retry-After

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class PinnedAdapter(HTTPAdapter):
    """Connects to one pre-checked address whatever the URL's hostname resolves to now."""

    def __init__(self, target: ssrf.Target):
        self.target = target
        super().__init__(max_retries=0)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        target = self.target
        if target.scheme == "https":
            ca_certs = verify if isinstance(verify, str) else requests.utils.DEFAULT_CA_BUNDLE_PATH
            return HTTPSConnectionPool(
                target.address,
                target.port,
                maxsize=1,
                cert_reqs="CERT_REQUIRED",
                ca_certs=ca_certs,
                server_hostname=target.hostname,
                assert_hostname=target.hostname,
            )
        return HTTPConnectionPool(target.address, target.port, maxsize=1)


def _host_header(target: ssrf.Target) -> str:
    host = f"[{target.hostname}]" if ":" in target.hostname else target.hostname
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _excerpt(raw: bytes) -> str:
    return raw[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "")


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Result:
    """One attempt. Never raises for network problems: they come back as an error Result."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = ssrf.resolve_target(url)
    except ssrf.UnsafeUrl as exc:
        return Result(None, elapsed(), f"Blocked: {exc}", "", None)
    return send(target=target, url=url, body=body, headers=headers, timeout=timeout, started=started)


def send(
    *, target: ssrf.Target, url: str, body: bytes, headers: dict[str, str], timeout: float, started: float | None = None
) -> Result:
    """POST to `target.address` (already checked), with the URL's hostname for Host/SNI/certificate."""
    started = time.monotonic() if started is None else started

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    session = requests.Session()
    session.trust_env = False  # an HTTP(S)_PROXY from the environment would bypass the pinning
    adapter = PinnedAdapter(target)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    request_headers = {
        **headers,
        "Host": _host_header(target),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    try:
        with session.post(
            url,
            data=body,
            headers=request_headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            raw = b""
            try:
                raw = response.raw.read(RESPONSE_EXCERPT_BYTES, decode_content=True) or b""
            except Exception:  # a broken body does not change the status we got
                logger.info("could not read the webhook response body from %s", target.hostname)
            status = response.status_code
            retry_after = None
            if status in (429, 503):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            error = ""
            if not 200 <= status < 300:
                error = f"HTTP {status}"
                if 300 <= status < 400:
                    error += " (redirects are not followed)"
            return Result(status, elapsed(), error, _excerpt(raw), retry_after)
    except requests.exceptions.Timeout:
        return Result(None, elapsed(), f"Timed out after {timeout:g} s", "", None)
    except requests.exceptions.SSLError as exc:
        return Result(None, elapsed(), f"TLS error: {_short(exc)}", "", None)
    except requests.exceptions.ConnectionError as exc:
        return Result(None, elapsed(), f"Connection error: {_short(exc)}", "", None)
    except requests.exceptions.RequestException as exc:
        return Result(None, elapsed(), f"Request error: {_short(exc)}", "", None)
    finally:
        session.close()


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."
