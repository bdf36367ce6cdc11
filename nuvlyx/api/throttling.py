"""Per-token rate limits: GCRA (a token bucket with bursts) in Redis, shared by every process.

limit requests per minute, burst up to `limit`. Without REDIS_URL (the embedded default)
the same algorithm runs in-process.

The clock is Redis's (`TIME` inside the script), never the calling process's: web hosts with
skewed clocks still share one exact limit. When Redis cannot be reached the limiter fails
open or closed per RATE_LIMIT_FAIL_OPEN (docs/architecture.md, "Redis unavailable").
"""

import logging
import math
import threading
import time
from functools import lru_cache
from typing import Any

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from .errors import ServiceUnavailable, dependency_errors

logger = logging.getLogger("nuvlyx.api")

# Both scripts: KEYS[1] = bucket key; ARGV = interval (s per request), burst (requests). Now = Redis
# TIME; tat = the bucket's theoretical arrival time, never in the past.
_GCRA_BUCKET = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
"""

# Count one request. Returns {allowed (0/1), remaining, reset_seconds (ms), retry_after (ms)}
_GCRA = (
    _GCRA_BUCKET
    + """local allow_at = tat + interval - burst * interval
if now < allow_at then
  local retry = allow_at - now
  return {0, 0, math.ceil(retry * 1000), math.ceil(retry * 1000)}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
local remaining = math.floor((now - (new_tat - burst * interval)) / interval)
local reset = 0
if remaining < burst then
  reset = (new_tat - now) - (burst - 1 - remaining) * interval
  if reset < 0 then reset = 0 end
end
return {1, remaining, math.ceil(reset * 1000), 0}
"""
)


# The same bucket read without counting (a 403 still tells the client where it stands).
# Returns {available now (0..burst), reset (ms)}
_GCRA_PEEK = (
    _GCRA_BUCKET
    + """local available = math.floor((now - (tat - burst * interval)) / interval)
if available > burst then available = burst end
if available < 0 then available = 0 end
local reset = 0
if available < burst then
  reset = (tat - now) - (burst - 1 - available) * interval
  if reset < 0 then reset = 0 end
end
return {available, math.ceil(reset * 1000)}
"""
)


@lru_cache(maxsize=1)
def _redis_script():
    import redis

    # Short timeouts: a Redis that is down or hung costs a request at most ~1 s, never a worker.
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=1.0)
    return client.register_script(_GCRA)


class _Line(threading.local):
    """This thread's own Redis connection for the limiter, outside redis-py's pool.

    One round trip per request is the limiter's whole cost, so it skips what it does not need: the
    pool's checkout and health check, the retry wrapper and generic argument packing (redis-py's
    Connection still does TLS, AUTH, SELECT and the reply parsing). A command can be sent and its
    reply read later (`Pending`, `Pending.result`), so a read request's round trip overlaps its own
    work; a reply nobody read (a request that died in between) is drained before the next command.
    A connection Redis closed (restart, idle timeout) is replaced once, as redis-py's retry would.
    """

    script = None
    conn: Any = None  # redis.Connection
    unread = 0

    def connection(self):
        script = _redis_script()
        if self.script is not script:  # first use, or the settings changed (tests)
            self.reset()
            self.script = script
        if self.conn is None:  # first use, or dropped after an error: connects on the next send
            self.conn = script.registered_client.connection_pool.make_connection()
        return self.conn

    def reset(self) -> None:
        if self.conn is not None:
            self.conn.disconnect()
        self.conn, self.unread = None, 0


_line = _Line()


def _evalsha(sha: str, key: str, interval: float, limit: int) -> bytes:
    k, i, n = key.encode(), repr(interval).encode(), str(limit).encode()
    return b"*6\r\n$7\r\nEVALSHA\r\n$%d\r\n%s\r\n$1\r\n1\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        len(sha),
        sha.encode(),
        len(k),
        k,
        len(i),
        i,
        len(n),
        n,
    )


_local_lock = threading.Lock()
_local_tat: dict[str, float] = {}


def _gcra_local(key: str, now: float, interval: float, burst: int) -> tuple[int, int, int, int]:
    with _local_lock:
        tat = max(_local_tat.get(key, now), now)
        allow_at = tat + interval - burst * interval
        if now < allow_at:
            retry = math.ceil((allow_at - now) * 1000)
            return 0, 0, retry, retry
        new_tat = tat + interval
        _local_tat[key] = new_tat
        remaining = math.floor((now - (new_tat - burst * interval)) / interval)
        reset = 0.0
        if remaining < burst:
            reset = max(0.0, (new_tat - now) - (burst - 1 - remaining) * interval)
        return 1, remaining, math.ceil(reset * 1000), 0


class Pending:
    """One request counted: the answer is read when needed (`result()`), once."""

    __slots__ = ("_conn", "_result", "interval", "key", "limit")

    def __init__(self, key: str, limit_per_minute: int):
        self.key, self.limit, self.interval = key, limit_per_minute, 60.0 / limit_per_minute
        self._result: tuple[int, int, int, int] | None = None
        self._conn: Any = None  # redis.Connection, once sent
        if not settings.REDIS_URL:
            self._result = _gcra_local(key, time.time(), self.interval, limit_per_minute)
            return
        import redis

        try:
            self._send()
        except redis.exceptions.ConnectionError:  # closed by Redis since the last request: once more
            self._send()

    def _send(self) -> None:
        conn = _line.connection()
        try:
            while _line.unread:  # a reply a previous request left behind
                _line.unread -= 1
                conn.read_response()
            conn.send_packed_command([_evalsha(_redis_script().sha, self.key, self.interval, self.limit)], False)
            _line.unread += 1
            self._conn = conn
        except BaseException:
            _line.reset()
            raise

    def result(self) -> tuple[bool, int, float, float]:
        """(allowed, remaining, reset_seconds, retry_after_seconds)"""
        if self._result is None:
            self._result = self._receive(retry=True)
        allowed, remaining, reset_ms, retry_ms = self._result
        return bool(allowed), int(remaining), int(reset_ms) / 1000, int(retry_ms) / 1000

    def _receive(self, *, retry: bool):
        import redis

        if self._conn is None or self._conn is not _line.conn:  # dropped since: the answer is lost
            raise redis.exceptions.ConnectionError("rate limiter connection reset")
        try:
            _line.unread -= 1
            return self._conn.read_response()
        except redis.exceptions.NoScriptError:  # Redis restarted empty: load the script once
            return _redis_script()(keys=[self.key], args=[self.interval, self.limit])
        except redis.exceptions.ConnectionError:
            _line.reset()
            if not retry:
                raise
            # Closed under us (a timeout is not retried: a hung Redis would cost another second).
            self._send()
            return self._receive(retry=False)
        except BaseException:
            _line.reset()
            raise


def hit(key: str, limit_per_minute: int) -> tuple[bool, int, float, float]:
    """Count one request. Returns (allowed, remaining, reset_seconds, retry_after_seconds)."""
    return Pending(key, limit_per_minute).result()


def peek(key: str, limit_per_minute: int) -> tuple[int, float]:
    """(requests available now, seconds until one more is) without counting one."""
    interval = 60.0 / limit_per_minute
    if settings.REDIS_URL:
        script = _redis_script().registered_client.register_script(_GCRA_PEEK)
        available, reset_ms = script(keys=[key], args=[interval, limit_per_minute])
        return int(available), int(reset_ms) / 1000
    with _local_lock:
        now = time.time()
        tat = max(_local_tat.get(key, now), now)
    available = min(limit_per_minute, max(0, math.floor((now - (tat - limit_per_minute * interval)) / interval)))
    reset = 0.0
    if available < limit_per_minute:
        reset = max(0.0, (tat - now) - (limit_per_minute - 1 - available) * interval)
    return available, reset


def headers_without_counting(request) -> None:
    """X-RateLimit-* for a response refused before the limiter ran (403: the scope comes first,
    API.md), read from the bucket without counting the request. Silent when Redis is away."""
    token = getattr(request, "auth", None)
    if token is None:
        return
    limit = token.rate_limit_per_minute or settings.API_RATE_LIMIT_PER_MINUTE
    try:
        available, reset = peek(f"nvl:rl:{token.pk}", limit)
    except dependency_errors():
        return
    request._rate_limit_headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(available),
        "X-RateLimit-Reset": str(math.ceil(reset)),
    }


def _unavailable(exc: BaseException) -> None:
    if not settings.RATE_LIMIT_FAIL_OPEN:
        raise ServiceUnavailable("Rate limiter unavailable, retry shortly") from exc
    logger.warning("rate limiter unreachable (%s): failing open", type(exc).__name__)


# What the last answer said was left, per token, in this process: whether a read may run before its
# answer arrives (TokenRateThrottle). One small int per token seen; a hint only, never the decision.
_headroom: dict = {}


def settle(request) -> float | None:
    """Read the limiter's answer for `request` (once): None if allowed, else the seconds to wait.

    Sets the X-RateLimit-* (and Retry-After) headers the response will carry. Redis unreachable:
    allowed without headers (fail open) or ServiceUnavailable (RATE_LIMIT_FAIL_OPEN=false).
    """
    pending, limit = request.__dict__.pop("_rate_limit_pending", (None, 0))
    if pending is None:
        return None
    try:
        allowed, remaining, reset, retry_after = pending.result()
    except dependency_errors() as exc:
        _unavailable(exc)
        return None
    _headroom[request.auth.pk] = remaining
    request._rate_limit_headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(math.ceil(reset)),
    }
    if allowed:
        return None
    request._rate_limit_headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return retry_after


class TokenRateThrottle(BaseThrottle):
    """Runs after authentication and the scope check (DRF's order), so 401/403 come first.

    The request is counted here. A write waits for the answer before anything else runs. A read
    (GET, HEAD, OPTIONS: no effect) of a token this process last saw with headroom (at least
    HEADROOM requests left) reads it when its response is finalized, so the Redis round trip
    overlaps the read's own work, and if refused after all it still answers 429 and nothing else
    (StoreScopedMixin.finalize_response). Near or past the limit, or not seen yet, a read waits
    like a write: a client hammering past its limit gets cheap 429s, never a list query each.
    """

    HEADROOM = 10
    _wait: float | None = None

    def allow_request(self, request, view) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        limit = token.rate_limit_per_minute or settings.API_RATE_LIMIT_PER_MINUTE
        try:
            request._rate_limit_pending = (Pending(f"nvl:rl:{token.pk}", limit), limit)
        except dependency_errors() as exc:
            _unavailable(exc)
            return True
        if request.method in SAFE_METHODS and _headroom.get(token.pk, 0) >= self.HEADROOM:
            return True
        self._wait = settle(request)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
