"""Issue 12: more than one host. Two web servers, each in its own network namespace (two "hosts"
made by the test with `ip netns` + veth, on this machine only), share one PostgreSQL and one Redis.

The machine's PostgreSQL and Redis listen on loopback only and are not reconfigured: the test runs a
small TCP forwarder in the root namespace on each veth address. It checks that a token's rate limit
holds exactly across both hosts (the bucket and its clock, Redis TIME, live in Redis) and that the
double-spend race split across the two hosts still sells exactly what the wallet affords.

Addresses: 10.250.12.0/29 only, created and removed by the test (checked unused first). Needs root
and iproute2; namespaces, veth pairs, forwarders and servers are removed even when the test fails.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.db import connection

from catalog.tests.factories import make_variation, stock
from conftest import API, BASE_DIR, stop, subprocess_env
from wallets.tests.factories import make_customer

pytestmark = [pytest.mark.live, pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

SUBNET = "10.250.12."
WEB_PORT = 8000


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


class Forwarder:
    """Accepts on (host, port) in the root namespace and pipes each connection to a loopback target."""

    def __init__(self, host: str, target: tuple[str, int]):
        self.target = target
        self.server = socket.create_server((host, 0))
        self.port = self.server.getsockname()[1]
        self.closed = False
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.server.close()
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass


@pytest.fixture
def two_hosts(tmp_path):
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("this test needs root and iproute2 (CI runs as root)")
    if SUBNET in _ip("-br", "addr").stdout:
        pytest.fail(f"{SUBNET}0/29 is already in use on this machine")
    tag = uuid.uuid4().hex[:6]
    db = settings.DATABASES["default"]
    redis_url = settings.REDIS_URL.rsplit("/", 1)
    redis_host_port = redis_url[0].split("//", 1)[1]
    redis_target = (redis_host_port.split(":")[0], int(redis_host_port.split(":")[1]))
    created: list[str] = []
    links: list[str] = []
    forwarders: list[Forwarder] = []
    procs: list[subprocess.Popen] = []
    hosts = []
    try:
        for index in range(2):
            ns, outer, inner = f"nvl12-{tag}-{index}", f"nv{tag}{index}o", f"nv{tag}{index}i"
            root_ip, host_ip = f"{SUBNET}{index * 4 + 1}", f"{SUBNET}{index * 4 + 2}"
            _ip("netns", "add", ns)
            created.append(ns)
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            links.append(outer)
            _ip("link", "set", inner, "netns", ns)
            _ip("addr", "add", f"{root_ip}/30", "dev", outer)
            _ip("link", "set", outer, "up")
            _ip("netns", "exec", ns, "ip", "addr", "add", f"{host_ip}/30", "dev", inner)
            _ip("netns", "exec", ns, "ip", "link", "set", inner, "up")
            _ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
            pg = Forwarder(root_ip, (db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
            rd = Forwarder(root_ip, redis_target)
            forwarders += [pg, rd]
            env = subprocess_env(
                DATABASE_URL=f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{root_ip}:{pg.port}/"
                f"{connection.settings_dict['NAME']}",
                REDIS_URL=f"redis://{root_ip}:{rd.port}/{redis_url[1]}",
                ALLOWED_HOSTS=f"{host_ip},localhost,127.0.0.1",
            )
            log = open(tmp_path / f"host-{index}.log", "wb")
            proc = subprocess.Popen(
                [
                    *("ip", "netns", "exec", ns, sys.executable, "-m", "gunicorn"),
                    *("-c", str(BASE_DIR / "nuvlyx" / "gunicorn_conf.py"), "nuvlyx.wsgi:application"),
                    *("--bind", f"{host_ip}:{WEB_PORT}", "--workers", "2", "--threads", "8", "--timeout", "60"),
                ],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            procs.append(proc)
            hosts.append(f"http://{host_ip}:{WEB_PORT}{API}")
        for url, proc in zip(hosts, procs, strict=True):
            _wait_http(url, proc)
        yield hosts
    finally:
        for proc in procs:
            stop(proc)
        for forwarder in forwarders:
            forwarder.close()
        for link in links:
            _ip("link", "del", link, check=False)  # deletes both ends of the pair
        for ns in created:
            _ip("netns", "del", ns, check=False)
    assert SUBNET not in _ip("-br", "addr").stdout
    assert not any(ns in _ip("netns", "list").stdout for ns in created)


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"web server exited with {proc.returncode}")
        try:
            requests.get(f"{url}/me", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def test_rate_limit_holds_exactly_across_two_hosts(two_hosts, store, make_token):
    token = make_token(store, rate_limit_per_minute=4)  # one request back every 15 s: none during the test
    headers = {"Authorization": f"Bearer {token}"}
    statuses = [
        requests.get(f"{two_hosts[i % 2]}/price-tiers", headers=headers, timeout=30).status_code for i in range(12)
    ]
    assert Counter(statuses) == {200: 4, 429: 8}, statuses


def test_double_spend_split_across_two_hosts_sells_exactly_what_the_wallet_affords(two_hosts, store, make_token):
    from wallets.models import LedgerEntry, Wallet

    variation = make_variation(store, price="1000.00")
    stock(variation, 40)
    customer = make_customer(store, balance="7000.00")
    token = make_token(store, rate_limit_per_minute=100000)
    body = {"customerId": str(customer.pk), "items": [{"variationId": str(variation.pk)}]}
    barrier = threading.Barrier(40)

    def one(index: int) -> int:
        with requests.Session() as session:
            barrier.wait(timeout=60)
            response = session.post(
                f"{two_hosts[index % 2]}/orders", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=120
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = Counter(pool.map(one, range(40)))

    assert statuses == {201: 7, 400: 33}, statuses
    wallet = Wallet.objects.get(customer=customer)
    assert wallet.balance == Decimal("0.00")
    assert LedgerEntry.objects.filter(wallet=wallet, kind="PURCHASE").count() == 7
