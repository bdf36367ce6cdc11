"""Fallback load generator (threads + http.client) for when wrk is not installed.

Only for `--smoke` (keeping the harness alive in CI): in Python the client competes with the
server for the GIL-free cores of a 2-core box and its numbers are not comparable with wrk's.
Reads the same request files as bench/scenario.lua and returns the same result dict.
"""

from __future__ import annotations

import http.client
import random
import threading
import time


def load_requests(path: str) -> list[tuple[str, str, bytes | None]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2:
                continue
            body = parts[2].encode() if len(parts) > 2 and parts[2] else None
            out.append((parts[0], parts[1], body))
    return out


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(pct / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def run(
    *,
    host: str,
    port: int,
    token: str,
    request_file: str,
    duration: float,
    connections: int,
    idempotency: bool = False,
    if_none_match: str | None = None,
) -> dict:
    reqs = load_requests(request_file)
    base_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if if_none_match:
        base_headers["If-None-Match"] = if_none_match
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"c2xx": 0, "c304": 0, "c400": 0, "c4xx": 0, "c5xx": 0, "c400_stock": 0, "c400_balance": 0, "read": 0}
    deadline = time.monotonic() + duration

    def worker(n: int) -> None:
        rng = random.Random(n)
        conn = http.client.HTTPConnection(host, port, timeout=10)
        local_lat, local = [], dict.fromkeys(counts, 0)
        seq = 0
        while time.monotonic() < deadline:
            method, path, body = reqs[rng.randrange(len(reqs))]
            headers = dict(base_headers)
            if idempotency:
                seq += 1
                headers["Idempotency-Key"] = f"py-{n}-{seq}-{rng.getrandbits(32)}"
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                local["read"] += 1
                conn.close()
                continue
            local_lat.append((time.perf_counter() - t0) * 1e6)
            if status == 304:
                local["c304"] += 1
            elif 200 <= status < 300:
                local["c2xx"] += 1
            elif status == 400:
                local["c400"] += 1
                if b'"out_of_stock"' in data:
                    local["c400_stock"] += 1
                elif b'"insufficient_balance"' in data:
                    local["c400_balance"] += 1
            elif status < 500:
                local["c4xx"] += 1
            else:
                local["c5xx"] += 1
        conn.close()
        with lock:
            latencies.extend(local_lat)
            for key, value in local.items():
                counts[key] += value

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 15)
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies) + counts["read"],
        "duration_us": int(elapsed * 1e6),
        "p50": _percentile(latencies, 50),
        "p90": _percentile(latencies, 90),
        "p95": _percentile(latencies, 95),
        "p99": _percentile(latencies, 99),
        "max": latencies[-1] if latencies else 0,
        "mean": sum(latencies) / len(latencies) if latencies else 0,
        "connect": 0,
        "write": 0,
        "timeout": 0,
        "status_errors": 0,
        **counts,
    }
