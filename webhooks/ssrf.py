"""SSRF guard for webhook URLs: checked when an endpoint is saved and again before every send.

Every address a host resolves to must be public (one bad address refuses the URL, so a
round-robin record cannot smuggle in 127.0.0.1). The sender then connects to an address that
was checked (`resolve_target`), so a DNS answer that changes between check and connect
(rebinding) cannot redirect it.

Two settings relax it for development and tests: WEBHOOKS_ALLOW_HTTP (http:// targets) and
WEBHOOKS_ALLOW_PRIVATE_URLS (skip the address checks; the connection is still pinned).
"""

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext_noop

MAX_URL_LENGTH = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Explicit ranges on top of ipaddress's is_global / is_private / ... (belt and braces: the
# stdlib's tables changed across Python versions, and is_global is True for multicast).
_BLOCKED_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(net), why)
    for net, why in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),
        ("198.51.100.0/24", "reserved"),
        ("203.0.113.0/24", "reserved"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fc00::/7", "private (unique local)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
        ("2001:db8::/32", "reserved"),
        ("100::/64", "reserved"),
    )
)
_METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Hosts that look like a number in any base (2130706433, 0x7f000001, 0177.0.0.1, 127.1).
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class UnsafeUrl(ValueError):
    """The URL is not an acceptable webhook target; the message says why (safe to show). `owner` is
    the same for the store owner (nuvlyx.core.errors.owner_text): plainer, and translated."""

    def __init__(self, message: str, owner: tuple[str, dict] | None = None):
        super().__init__(message)
        self.owner = owner or (gettext_noop("This is not a valid web address for a webhook."), {})


_NOT_HTTPS = gettext_noop("The address must start with https://.")


@dataclass(frozen=True)
class Target:
    """Where to connect: the checked address, plus what the request must still carry."""

    scheme: str
    hostname: str  # for the Host header, SNI and certificate verification
    port: int
    address: str  # the checked IP the socket connects to


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address may not be a webhook target, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = blocked_reason(embedded)
            return f"{reason}, IPv4 {embedded} embedded in IPv6" if reason else None
    if address in _METADATA_ADDRESSES:
        return "cloud metadata"
    for network, why in _BLOCKED_NETWORKS:
        if address.version == network.version and address in network:
            return why
    for flag, why in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(address, flag):
            return why
    if not address.is_global:
        return "not globally routable"
    return None


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address of a host written as a number (decimal, octal, hex, short forms), as inet_aton reads it."""
    if not _NUMERIC_HOST.match(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        raise UnsafeUrl("url host is not a valid address") from None


def _split(url: str) -> tuple[str, str, int]:
    if not isinstance(url, str) or not url:
        raise UnsafeUrl("url is required")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(
            f"url must be at most {MAX_URL_LENGTH} characters",
            (gettext_noop("The address is too long (at most %(max)s characters)."), {"max": MAX_URL_LENGTH}),
        )
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeUrl("url must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("url is not a valid URL") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if scheme not in allowed:
        if scheme != "https":
            raise UnsafeUrl("url must use https", (_NOT_HTTPS, {}))
        raise UnsafeUrl("url is not a valid URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(
            "url must not contain credentials",
            (gettext_noop("The address must not contain a user name or password."), {}),
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("url must have a host")
    if port == 0:
        raise UnsafeUrl("url has an invalid port")
    return scheme, host, port or (443 if scheme == "https" else 80)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host stands for: a literal (any spelling) or every DNS answer."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    numeric = _numeric_ipv4(host)
    if numeric is not None:
        return [numeric]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeUrl(f"url host {host!r} could not be resolved", _unresolved(host)) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeUrl(f"url host {host!r} could not be resolved", _unresolved(host))
    return addresses


def _unresolved(host: str) -> tuple[str, dict]:
    return gettext_noop("The server %(host)s could not be found. Check the address."), {"host": host}


def _check_all(host: str, addresses: list[IPAddress]) -> None:
    for address in addresses:
        reason = blocked_reason(address)
        if reason:
            raise UnsafeUrl(
                f"url host {host!r} resolves to {address}, which is not allowed ({reason} address)",
                (
                    gettext_noop(
                        "%(host)s is a private or internal address (%(address)s): webhooks only go to "
                        "public servers on the internet."
                    ),
                    {"host": host, "address": str(address)},
                ),
            )


def validate_url(url: str) -> str:
    """Accept or refuse a URL at creation/update (UnsafeUrl says why). Returns the URL unchanged."""
    _scheme, host, port = _split(url)
    if not settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        _check_all(host, resolve(host, port))
    return url


def resolve_target(url: str) -> Target:
    """At delivery: resolve again, check every address, and return the one to connect to."""
    scheme, host, port = _split(url)
    addresses = resolve(host, port)
    if not settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        _check_all(host, addresses)
    return Target(scheme=scheme, hostname=host, port=port, address=str(addresses[0]))
