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

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from .errors import ServiceUnavailable, dependency_errors

logger = logging.getLogger("nuvlyx.api")

# KEYS[1] = bucket key; ARGV = interval (s per request), burst (requests). Now = Redis TIME.
# Returns {allowed (0/1), remaining, reset_seconds (ms), retry_after (ms)}
_GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat + interval - burst * interval
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


@lru_cache(maxsize=1)
def _redis_script():
    import redis

    # Short timeouts: a Redis that is down or hung costs a request at most ~1 s, never a worker.
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=1.0)
    return client.register_script(_GCRA)


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


def hit(key: str, limit_per_minute: int) -> tuple[bool, int, float, float]:
    """Count one request. Returns (allowed, remaining, reset_seconds, retry_after_seconds)."""
    interval = 60.0 / limit_per_minute
    if settings.REDIS_URL:
        allowed, remaining, reset_ms, retry_ms = _redis_script()(keys=[key], args=[interval, limit_per_minute])
    else:
        allowed, remaining, reset_ms, retry_ms = _gcra_local(key, time.time(), interval, limit_per_minute)
    return bool(allowed), int(remaining), int(reset_ms) / 1000, int(retry_ms) / 1000


class TokenRateThrottle(BaseThrottle):
    """Runs after authentication and the scope check (DRF's order), so 401/403 come first."""

    def allow_request(self, request, view) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        limit = token.rate_limit_per_minute or settings.API_RATE_LIMIT_PER_MINUTE
        try:
            allowed, remaining, reset, retry_after = hit(f"nvl:rl:{token.pk}", limit)
        except dependency_errors() as exc:
            if not settings.RATE_LIMIT_FAIL_OPEN:
                raise ServiceUnavailable("Rate limiter unavailable, retry shortly") from exc
            logger.warning("rate limiter unreachable (%s): failing open", type(exc).__name__)
            return True
        request._rate_limit_headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        self._wait = retry_after
        if not allowed:
            request._rate_limit_headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return allowed

    def wait(self) -> float:
        return self._wait
