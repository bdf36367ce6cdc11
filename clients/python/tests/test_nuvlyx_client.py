"""nuvlyx-client against a live server: real gunicorn on the test database, a real Celery worker, a real
webhook receiver. The only fakes are of the network: a TCP proxy in front of gunicorn that drops the first
response, or answers one 503 itself (it never touches our code).
"""

import socket
import threading
import time
import uuid
from decimal import Decimal

import pytest
import requests
from nuvlyx_client import (
    ApiError,
    Forbidden,
    InsufficientBalance,
    InvalidPagination,
    NotFound,
    Nuvlyx,
    OutOfStock,
    PhoneNotLinked,
    RateLimit,
    Unauthorized,
    ValidationError,
    WebhookVerificationError,
    verify_webhook,
)
from nuvlyx_client.errors import error_from_response

from conftest import wait_until

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PHONE = "+573001234567"


# --- a network fake: a TCP proxy in front of gunicorn ---------------------------------------------
def _read_request(conn: socket.socket) -> bytes:
    """One HTTP/1.1 request (headers + Content-Length body) from a client socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class Proxy:
    """Forwards TCP connections to `upstream`. The first connections follow `plans`, in order:
    "drop" forwards the request, waits for the server's answer and closes without passing it on;
    "503" answers 503 + Retry-After itself. Later connections are passed through untouched."""

    def __init__(self, upstream_port: int, plans: list[str]):
        self.upstream_port = upstream_port
        self.plans = list(plans)
        self.handled: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> "Proxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        self.listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            plan = self.plans.pop(0) if self.plans else "pass"
            self.handled.append(plan)
            threading.Thread(target=getattr(self, f"_{plan.replace('503', 'unavailable')}"), args=(conn,)).start()

    def _unavailable(self, conn: socket.socket) -> None:
        with conn:
            _read_request(conn)
            body = b'{"statusCode":503,"message":"Retry","error":"Service Unavailable","code":"service_unavailable"}'
            conn.sendall(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )

    def _drop(self, conn: socket.socket) -> None:
        with conn, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            upstream.sendall(_read_request(conn))
            upstream.settimeout(60)
            upstream.recv(1)  # the server answered: the request was executed; the client never hears of it
        # closing `conn` without a byte: the client sees the connection dropped

    def _pass(self, conn: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))

        def pump(source: socket.socket, target: socket.socket) -> None:
            try:
                while chunk := source.recv(65536):
                    target.sendall(chunk)
            except OSError:
                pass
            finally:
                for sock in (source, target):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(upstream, conn), daemon=True).start()
        pump(conn, upstream)


# --- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture
def server(live_server_proc):
    return live_server_proc(workers=1, threads=4)


@pytest.fixture
def token(store, make_token):
    return make_token(store)


class Sleeps(list):
    """Records every wait the client makes (and really waits)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(seconds)


def make_client(base_url: str, token: str, **kwargs) -> tuple[Nuvlyx, Sleeps]:
    sleeps = Sleeps()
    return Nuvlyx(token, base_url, sleep=sleeps, timeout=60, **kwargs), sleeps


def seed_catalog(client: Nuvlyx) -> dict:
    """What the store owner set up: a tier, a stock-backed product with a tier price."""
    tier = client.request("POST", "/price-tiers", body={"name": "Reseller", "level": 1})
    product = client.request(
        "POST",
        "/products",
        body={
            "name": "Streaming 1 month",
            "postSaleInstructions": "Log in at example.com",
            "variations": [
                {
                    "sku": "STR-1M",
                    "name": "1 month",
                    "price": Decimal("10000.00"),
                    "durationDays": 30,
                    "tierPrices": [{"tierId": tier["id"], "price": Decimal("8500")}],
                }
            ],
        },
    )
    return {"tier": tier, "product": product, "variation": product["variations"][0]}


# --- the first hour -----------------------------------------------------------------------------------
def test_first_hour(server, store, token, make_token):
    client, _ = make_client(server.api, token)
    world = seed_catalog(client)
    variation_id = world["variation"]["id"]

    # products, with Decimal money and typed rate-limit headers
    products = client.list_products(status="ACTIVE")
    assert [p["id"] for p in products] == [world["product"]["id"]]
    assert products[0]["variations"][0]["price"] == Decimal("10000.00")
    assert isinstance(products[0]["variations"][0]["price"], Decimal)
    assert isinstance(client.rate_limit, RateLimit) and client.rate_limit.limit >= 1
    assert client.get_product(world["product"]["id"])["variations"][0]["tierPrices"][0]["price"] == Decimal("8500.00")

    # a customer, a quote at the customer's tier
    customer = client.create_customer("Juan Pérez", phone=PHONE, tier_id=world["tier"]["id"])
    assert customer["phoneLinked"] is True
    assert client.customer_by_phone(PHONE)["id"] == customer["id"]
    quote = client.quote_price(world["product"]["id"], customer_phone=PHONE)
    assert quote["variations"][0]["price"] == Decimal("8500.00")
    assert quote["variations"][0]["basePrice"] == Decimal("10000.00")

    # a recharge with the payment's id as key: a second send is a replay, not a second credit
    first = client.recharge(Decimal("20000"), phone=PHONE, reference="nequi-1", idempotency_key="nequi-1")
    assert first["newBalance"] == Decimal("20000.00") and not client.last_replayed
    again = client.recharge(Decimal("20000"), phone=PHONE, reference="nequi-1", idempotency_key="nequi-1")
    assert again == first and client.last_replayed
    assert client.get_wallet(customer_id=customer["id"])["balance"] == Decimal("20000.00")
    with pytest.raises(TypeError):
        client.recharge(0.1, phone=PHONE)  # type: ignore[arg-type]  # floats never reach the wire
    with pytest.raises(ValueError):
        client.recharge(Decimal("1.005"), phone=PHONE)

    # licenses, an order, its detail with the delivered credentials
    uploaded = client.upload_licenses(variation_id, ["user1:pw1", "user2:pw2"])
    assert uploaded["created"] == 2 and uploaded["availableStock"] == 2
    placed = client.place_order([variation_id], customer_phone=PHONE)
    assert placed["status"] == "COMPLETED"
    assert placed["totalAmount"] == Decimal("8500.00") and placed["newBalance"] == Decimal("11500.00")
    assert client.last_idempotency_key  # generated for the write
    order = client.get_order(placed["orderId"])
    assert order["items"][0]["license"] is not None
    assert order["items"][0]["license"]["credentials"] in {"user1:pw1", "user2:pw2"}
    assert order["items"][0]["pricePaid"] == Decimal("8500.00")

    # paginated lists, through the page iterators (1 per page, so several pages are walked)
    client.place_order([variation_id], customer_id=customer["id"])
    assert [o["orderNumber"] for o in client.iter_orders(limit=1)] == ["ORD-000002", "ORD-000001"]
    page = client.list_orders(limit=1)
    assert page.total == 2 and page.limit == 1 and len(page.data) == 1
    ledger = list(client.iter_wallet_transactions(customer["id"], limit=1))
    assert [t["type"] for t in ledger] == ["PURCHASE", "PURCHASE", "RECHARGE"]
    assert [t["amount"] for t in ledger] == [Decimal("-8500.00"), Decimal("-8500.00"), Decimal("20000.00")]
    assert [c["id"] for c in client.iter_customers(search="Juan")] == [customer["id"]]

    # error codes, one class each
    with pytest.raises(InsufficientBalance) as caught:
        client.place_order([variation_id], customer_id=customer["id"])
    assert caught.value.status == 400 and caught.value.code == "insufficient_balance"
    client.recharge(Decimal("50000.00"), customer_id=customer["id"])
    with pytest.raises(OutOfStock):
        client.place_order([variation_id], customer_id=customer["id"])  # both licenses were sold
    with pytest.raises(PhoneNotLinked):
        client.customer_by_phone("+573009999999")
    with pytest.raises(NotFound):
        client.get_order(str(uuid.uuid4()))
    with pytest.raises(ValidationError) as invalid:
        client.create_customer("Bad phone", phone="3001234567")
    assert invalid.value.errors[0]["field"] == "phone"
    with pytest.raises(InvalidPagination):
        client.list_orders(limit=1000)
    with pytest.raises(Forbidden):
        make_client(server.api, make_token(store, scopes=["products:read"]))[0].get_order(placed["orderId"])
    with pytest.raises(Unauthorized):
        make_client(server.api, "nvl_live_not-a-token")[0].list_products()


def test_subscriptions_held_licenses_replacement_and_renewal(server, token):
    client, _ = make_client(server.api, token)
    variation_id = seed_catalog(client)["variation"]["id"]
    customer = client.create_customer("Ana", phone=PHONE)
    client.recharge(Decimal("100000.00"), customer_id=customer["id"])
    client.upload_licenses(variation_id, ["user1:pw1", "user2:pw2"])
    placed = client.place_order([variation_id], customer_phone=PHONE)
    item = client.get_order(placed["orderId"])["items"][0]

    [held] = client.iter_licenses(customerPhone=PHONE, status="ACTIVE")
    assert held["itemId"] == item["id"] and "credentials" not in held
    replaced = client.replace_order_item(placed["orderId"], item["id"], reason="locked")
    assert replaced["license"]["credentials"] != item["license"]["credentials"]
    assert replaced["replacements"][0]["reason"] == "locked"
    with pytest.raises(OutOfStock):
        client.replace_order_item(placed["orderId"], item["id"])
    client.upload_licenses(variation_id, ["user3:pw3"])
    renewal = client.place_order([variation_id], customer_id=customer["id"], renews=[item["id"]])
    [renewed] = client.get_order(renewal["orderId"])["items"]
    assert renewed["license"]["expiresAt"] > item["license"]["expiresAt"]
    assert client.list_licenses(customerId=customer["id"]).total == 2


def test_an_unknown_error_code_still_raises_the_typed_base_error():
    error = error_from_response(418, {"statusCode": 418, "message": "m", "error": "I'm a teapot", "code": "teapot"})
    assert type(error) is ApiError and error.code == "teapot" and error.status == 418
    proxy_page = error_from_response(502, "<html>Bad Gateway</html>")
    assert type(proxy_page) is ApiError and proxy_page.status == 502


# --- retries --------------------------------------------------------------------------------------------
def test_a_post_orders_retried_after_a_dropped_connection_places_one_order(server, token):
    from orders.models import Order

    owner, _ = make_client(server.api, token)
    world = seed_catalog(owner)
    customer = owner.create_customer("Ana", phone=PHONE)
    owner.recharge(Decimal("30000.00"), customer_id=customer["id"])
    owner.upload_licenses(world["variation"]["id"], ["a:1", "b:2"])

    proxy = Proxy(server.port, plans=["drop"]).start()
    try:
        client, sleeps = make_client(f"http://127.0.0.1:{proxy.port}/api/v1/external", token)
        placed = client.place_order([world["variation"]["id"]], customer_phone=PHONE)
    finally:
        proxy.stop()

    assert proxy.handled[:2] == ["drop", "pass"]
    assert client.retries == 1 and len(sleeps) == 1
    assert client.last_replayed  # the second send got the first one's stored answer
    assert Order.objects.filter(customer_id=customer["id"]).count() == 1
    assert str(Order.objects.get(customer_id=customer["id"]).pk) == placed["orderId"]
    assert owner.get_wallet(customer_id=customer["id"])["balance"] == Decimal("30000.00") - placed["totalAmount"]


def test_a_503_with_retry_after_is_waited_out(server, token):
    owner, _ = make_client(server.api, token)
    world = seed_catalog(owner)
    customer = owner.create_customer("Ana", phone=PHONE)
    proxy = Proxy(server.port, plans=["503"]).start()
    try:
        client, sleeps = make_client(f"http://127.0.0.1:{proxy.port}/api/v1/external", token)
        assert client.list_products()[0]["id"] == world["product"]["id"]
        assert sleeps == [1.0] and client.retries == 1
        proxy.plans.append("503")
        client.session.close()  # the next request opens a new connection: the proxy answers it 503
        credit = client.recharge(Decimal("1000.00"), customer_id=customer["id"])  # a write, through a 503
        assert sleeps == [1.0, 1.0]
    finally:
        proxy.stop()
    assert proxy.handled[:4] == ["503", "pass", "503", "pass"]
    assert credit["newBalance"] == Decimal("1000.00")
    assert owner.get_wallet(customer_id=customer["id"])["balance"] == Decimal("1000.00")


def test_a_429_is_waited_out(server, store, make_token):
    token = make_token(store, rate_limit_per_minute=20)  # 20 at once, then one every 3 s
    session = requests.Session()
    statuses = [
        session.get(f"{server.api}/me", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code
        for _ in range(21)
    ]
    assert statuses[-1] == 429, statuses  # the bucket is empty

    client, sleeps = make_client(server.api, token)
    assert client.me()["store"]["id"] == str(store.pk)
    assert client.retries >= 1 and sleeps and all(1 <= s <= 3 for s in sleeps), sleeps
    assert client.last_status == 200


# --- ETag cache -------------------------------------------------------------------------------------------
def test_a_304_is_served_from_the_cache(server, token):
    client, _ = make_client(server.api, token)
    world = seed_catalog(client)
    product_id = world["product"]["id"]

    first = client.list_products()
    assert client.last_status == 200 and not client.last_from_cache
    second = client.list_products()
    assert client.last_status == 304 and client.last_from_cache
    assert second == first and second is not first
    detail = client.get_product(product_id)
    assert client.get_product(product_id) == detail and client.last_status == 304

    client.upload_licenses(world["variation"]["id"], ["x:1"])  # stock counts change the representation
    fresh = client.list_products()
    assert client.last_status == 200 and not client.last_from_cache
    assert fresh[0]["variations"][0]["stockQuantity"] == first[0]["variations"][0]["stockQuantity"] + 1
    assert client.list_products(status="INACTIVE") == [] and client.last_status == 200  # cached per query


# --- webhooks ------------------------------------------------------------------------------------------------
def test_a_webhook_delivered_by_the_worker_verifies_and_parses(server, token, celery_worker_proc):
    from webhooks.tests.receiver import Receiver

    receiver = Receiver().start()
    try:
        celery_worker_proc()
        client, _ = make_client(server.api, token)
        world = seed_catalog(client)
        endpoint = client.create_webhook(receiver.url, ["order.completed"], description="bot")
        customer = client.create_customer("Ana", phone=PHONE)
        client.recharge(Decimal("10000.00"), customer_id=customer["id"])
        client.upload_licenses(world["variation"]["id"], ["secret-user:secret-pass"])
        placed = client.place_order([world["variation"]["id"]], customer_phone=PHONE)

        wait_until(lambda: receiver.requests, 60, message="order.completed delivered")
        delivered = receiver.requests[0]
        event = verify_webhook(delivered.headers, delivered.body, endpoint["secret"])
        assert event.type == "order.completed" and event.id == delivered.headers["webhook-id"]
        assert event.livemode is True
        assert event.order["id"] == placed["orderId"]
        assert event.order["totalAmount"] == Decimal("10000.00")
        assert event.order["items"][0]["license"]["credentials"] == "secret-user:secret-pass"

        with pytest.raises(WebhookVerificationError):
            verify_webhook(delivered.headers, delivered.body.replace(b"10000.00", b"1.00"), endpoint["secret"])
        with pytest.raises(WebhookVerificationError):
            verify_webhook(delivered.headers, delivered.body, "whsec_" + "QUJD" * 11)
        with pytest.raises(WebhookVerificationError):  # an old delivery replayed
            verify_webhook(delivered.headers, delivered.body, endpoint["secret"], now=time.time() + 3600)
        with pytest.raises(TypeError):
            _ = event.product
    finally:
        receiver.stop()


# --- the README's quickstart is real code ----------------------------------------------------------------
def test_the_readme_quickstart_runs(server, token):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace('"nvl_live_..."', repr(token)).replace(
        '"https://api.nuvlyx.com/api/v1/external"', repr(server.api)
    )
    owner, _ = make_client(server.api, token)
    world = seed_catalog(owner)
    customer = owner.create_customer("Ana", phone=PHONE, tier_id=world["tier"]["id"])
    owner.upload_licenses(world["variation"]["id"], ["bot-user:bot-pass"])
    bot: dict = {}
    exec(compile(code, "README.md", "exec"), bot)

    assert bot["on_whatsapp_message"](PHONE, "menu", "m-1") == "STR-1M: 8,500.00 COP"
    assert bot["on_whatsapp_message"](PHONE, "str-1m", "m-2") == "Your balance is 0.00: recharge and send STR-1M again"
    owner.recharge(Decimal("8500.00"), customer_id=customer["id"])
    reply = bot["on_whatsapp_message"](PHONE, "str-1m", "m-3")
    assert reply == "ORD-000001 paid, balance 0.00\nbot-user:bot-pass"
    assert bot["on_whatsapp_message"](PHONE, "str-1m", "m-3") == reply  # WhatsApp redelivered: same order
    assert owner.list_orders().total == 1
    assert bot["on_whatsapp_message"]("+573009999999", "str-1m", "m-4") == "This number is not linked to a customer yet"
