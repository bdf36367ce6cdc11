"""An in-process cache of authenticated tokens, invalidated on every process through Redis.

Every API request authenticates. Without this cache that is a PostgreSQL round trip per request
(token + store in one statement), the largest fixed cost of a trivial request (issue 15). With it,
a process that has seen a token recently authenticates it from memory.

Correctness rests on three rules:

1. **Invalidation through Redis pub/sub.** Whatever changes a token (revocation, scopes, rate
   limit, expiry, deletion) or its store publishes on `channel()` once the change is committed
   (signals in integrations/signals.py); every web process runs one subscriber thread that evicts
   what it names. Pub/sub reaches every subscriber within milliseconds, well inside the 1 s the
   contract allows (tests/test_token_cache_live.py measures it across processes).
2. **No subscription, no cache.** The cache is used only while the subscriber is connected: a
   process that cannot hear invalidations (Redis down, reconnecting, no REDIS_URL as in the embedded
   default) authenticates from the database as before. On every (re)connection the cache is emptied,
   since messages sent while disconnected are lost.
3. **No stale insert.** A database read that raced with an invalidation of the same token (or its
   store) is not cached: every eviction is stamped with a generation number, and a read only fills
   the cache if nothing about its token was evicted since it started.

Expiry needs no message: `expires_at` is cached and checked on every request. Entries also age out
after TOKEN_CACHE_SECONDS (a safety net; 0 disables the cache).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

MAX_ENTRIES = 10_000


def channel() -> str:
    """One channel per database: deployments (and test runs) sharing a Redis do not hear each other."""
    return f"nuvlyx:{settings.DATABASES['default']['NAME']}:token-invalidations"


class TokenCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._evicted: dict[str, int] = {}  # key → generation of its last eviction
        self._cleared = 0  # generation of the last clear()
        self._connected = False
        self._pid: int | None = None
        self._thread: threading.Thread | None = None

    # --- reading --------------------------------------------------------------------------------
    def enabled(self) -> bool:
        if not settings.REDIS_URL or settings.TOKEN_CACHE_SECONDS <= 0:
            return False
        self._ensure_subscriber()
        return self._connected

    def get_or_load(self, token_hash: str, load: Callable[[str], Any]) -> Any:
        """The token for this hash: from memory when the cache is usable and fresh, else `load`."""
        if not self.enabled():
            return load(token_hash)
        entry = self._entries.get(token_hash)
        now = time.monotonic()
        if entry is not None and now - entry[0] < settings.TOKEN_CACHE_SECONDS:
            return entry[1]
        generation = self._generation
        token = load(token_hash)
        if token is not None:
            with self._lock:
                evicted = max(
                    self._cleared,
                    self._evicted.get(token_hash, 0),
                    self._evicted.get(f"store:{token.store_id}", 0),
                )
                if evicted <= generation and self._connected:
                    if len(self._entries) >= MAX_ENTRIES:
                        self._entries.clear()
                    self._entries[token_hash] = (now, token)
        return token

    # --- invalidation ---------------------------------------------------------------------------
    def evict(self, key: str) -> None:
        """`key` is a token hash or `store:<id>` (every token of the store)."""
        with self._lock:
            self._generation += 1
            if len(self._evicted) >= MAX_ENTRIES:
                self._evicted.clear()
                self._cleared = self._generation
            self._evicted[key] = self._generation
            if key.startswith("store:"):
                store_id = key.removeprefix("store:")
                for token_hash, (_, token) in list(self._entries.items()):
                    if str(token.store_id) == store_id:
                        del self._entries[token_hash]
            else:
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._cleared = self._generation
            self._entries.clear()

    # --- the subscriber thread ------------------------------------------------------------------
    def _ensure_subscriber(self) -> None:
        pid = os.getpid()
        if self._pid == pid and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == pid and self._thread is not None and self._thread.is_alive():
                return
            # a forked child (gunicorn worker) inherits the parent's entries but not its thread
            self._pid, self._connected = pid, False
            self._entries.clear()
            self._generation += 1
            self._cleared = self._generation
            self._thread = threading.Thread(target=self._listen_forever, name="token-cache", daemon=True)
            self._thread.start()

    def _listen_forever(self) -> None:
        import redis

        while True:
            try:
                # health checks (a PING every 5 s while idle) notice a silent network partition too
                client = redis.Redis.from_url(
                    settings.REDIS_URL, socket_connect_timeout=1.0, socket_timeout=10.0, health_check_interval=5
                )
                pubsub = client.pubsub()
                pubsub.subscribe(channel())
                while True:
                    message = pubsub.get_message(timeout=5.0)
                    if message is None:
                        pubsub.check_health()
                    elif message["type"] == "subscribe":
                        self.clear()  # whatever was published while we were away is lost
                        self._connected = True
                    elif message["type"] == "message":
                        self.evict(message["data"].decode())
            except Exception as exc:  # Redis down or restarting: stop using the cache until back
                if self._connected:
                    logger.warning("token cache: invalidation channel lost (%s); authenticating from the database", exc)
                self._connected = False
                self.clear()
                time.sleep(1.0)


cache = TokenCache()


def publish(*keys: str) -> bool:
    """Evict here at once and on every process through Redis (best effort: a process that misses it
    because it is disconnected is not using its cache).

    Returns whether the invalidation reached Redis: False without REDIS_URL or when Redis could not
    be reached (then other processes may serve their cached copy for up to TOKEN_CACHE_SECONDS;
    `manage.py revoke_token` warns the operator)."""
    for key in keys:
        cache.evict(key)
    if not settings.REDIS_URL:
        return False
    try:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=1.0)
        for key in keys:
            client.publish(channel(), key)
    except Exception as exc:
        logger.warning("token cache: could not publish an invalidation (%s)", type(exc).__name__)
        return False
    return True
