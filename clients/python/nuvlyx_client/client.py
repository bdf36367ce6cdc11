"""`Nuvlyx`: the API on `requests`, with the behaviour an integration needs and a generator does not give.

- money is `Decimal` both ways (decimal strings on the wire);
- every POST carries an `Idempotency-Key` (generated unless given) that is reused on its retries, so a
  retried order or recharge never happens twice;
- retries with backoff on network errors, 409 `idempotency_conflict`, 429 and 503 (waiting `Retry-After`);
- GET /products and GET /products/{id} are cached by `ETag`: a 304 is answered from the cache;
- paginated lists have page iterators (`iter_orders()`, ...);
- errors raise one class per `code` (errors.py); the last answer's rate-limit headers are in `rate_limit`.
"""

from __future__ import annotations

import copy
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, cast
from urllib.parse import quote, urlencode

import requests

from . import _json
from .errors import ApiError, TransportError, error_from_response
from .models import (
    Customer,
    HeldLicense,
    LicenseUploadResult,
    Order,
    OrderItem,
    OrderListItem,
    OrderPlaced,
    OrderRefund,
    Page,
    PriceQuote,
    Product,
    ProductListItem,
    RateLimit,
    RechargeResult,
    StockRow,
    Wallet,
    WalletTransaction,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreated,
)

DEFAULT_BASE_URL = "https://api.nuvlyx.com/api/v1/external"
USER_AGENT = "nuvlyx-client-python/1.0.0"
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def _phone(phone: str) -> str:
    return quote(phone, safe="+")


def _query(params: dict[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        out[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


class Nuvlyx:
    """A client for one store's token. Not thread-safe (it remembers the last answer); use one per thread."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        max_wait: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.session = session or requests.Session()
        self._token = token
        self._sleep = sleep
        self._etag_cache: dict[str, tuple[str, Any]] = {}
        # What the last call saw (after its retries).
        self.rate_limit: RateLimit | None = None
        self.last_status: int | None = None
        self.last_from_cache = False
        self.last_replayed = False
        self.last_idempotency_key: str | None = None
        self.retries = 0  # retries made by the last call

    # ------------------------------------------------------------------------------------- transport
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        cache: bool = False,
    ) -> Any:
        """One API call with retries; returns the parsed JSON (money as Decimal) or None (204)."""
        method = method.upper()
        url = self.base_url + path
        query = _query(params)
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            data = _json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.last_idempotency_key = None
        if method == "POST":
            # One key per write, reused by every retry of it: the server replays instead of re-executing.
            headers["Idempotency-Key"] = self.last_idempotency_key = idempotency_key or str(uuid.uuid4())
        cache_key = f"{url}?{urlencode(sorted(query.items()))}"
        cached = self._etag_cache.get(cache_key) if cache else None
        if cached:
            headers["If-None-Match"] = cached[0]
        self.retries = 0
        self.last_from_cache = False
        while True:
            try:
                response = self.session.request(
                    method, url, params=query, data=data, headers=headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if self.retries >= self.max_retries:
                    raise TransportError(f"{method} {path}: {exc}") from exc
                self._sleep(self._backoff())
                self.retries += 1
                continue
            self._remember(response)
            if response.status_code == 304 and cached:
                self.last_from_cache = True
                return copy.deepcopy(cached[1])
            if response.status_code >= 400:
                error = error_from_response(response.status_code, self._error_body(response), dict(response.headers))
                if self.retries < self.max_retries and self._retryable(error):
                    self._sleep(self._wait(response))
                    self.retries += 1
                    continue
                raise error
            parsed = _json.loads(response.content) if response.content else None
            if cache and response.headers.get("ETag"):
                self._etag_cache[cache_key] = (response.headers["ETag"], copy.deepcopy(parsed))
            return parsed

    @staticmethod
    def _retryable(error: ApiError) -> bool:
        return error.status in RETRY_STATUSES or error.code == "idempotency_conflict"

    def _backoff(self) -> float:
        return min(self.max_wait, 0.5 * 2**self.retries) * random.uniform(0.8, 1.2)

    def _wait(self, response: requests.Response) -> float:
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return min(self.max_wait, float(retry_after))
        return self._backoff()

    @staticmethod
    def _error_body(response: requests.Response) -> Any:
        try:
            return _json.loads(response.content)
        except ValueError:
            return response.text

    def _remember(self, response: requests.Response) -> None:
        self.last_status = response.status_code
        self.last_replayed = response.headers.get("Idempotent-Replayed") == "true"
        try:
            self.rate_limit = RateLimit(
                limit=int(response.headers["X-RateLimit-Limit"]),
                remaining=int(response.headers["X-RateLimit-Remaining"]),
                reset=int(response.headers["X-RateLimit-Reset"]),
            )
        except (KeyError, ValueError):
            pass  # 401/403 and the public routes carry no rate-limit headers

    def _page(self, path: str, params: dict[str, Any], page: int, limit: int) -> Page[Any]:
        body = self.request("GET", path, params={**params, "page": page, "limit": limit})
        info = body["pagination"]
        return Page(data=body["data"], page=info["page"], limit=info["limit"], total=info["total"])

    def _iterate(self, path: str, params: dict[str, Any], limit: int) -> Iterator[Any]:
        page = 1
        while True:
            current = self._page(path, params, page, limit)
            yield from current.data
            if not current.data or page * limit >= current.total:
                return
            page += 1

    # ------------------------------------------------------------------------------------- token
    def me(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("GET", "/me"))

    # ------------------------------------------------------------------------------------- catalog
    def list_products(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        category_id: str | None = None,
        search: str | None = None,
    ) -> list[ProductListItem]:
        params = {"status": status, "kind": kind, "categoryId": category_id, "search": search}
        return cast(list[ProductListItem], self.request("GET", "/products", params=params, cache=True))

    def get_product(self, product_id: str) -> Product:
        return cast(Product, self.request("GET", f"/products/{product_id}", cache=True))

    def quote_price(
        self, product_id: str, *, customer_id: str | None = None, customer_phone: str | None = None
    ) -> PriceQuote:
        params = {"customerId": customer_id, "customerPhone": customer_phone}
        return cast(PriceQuote, self.request("GET", f"/products/{product_id}/price", params=params))

    # ------------------------------------------------------------------------------------- customers
    def create_customer(
        self,
        name: str,
        *,
        phone: str | None = None,
        email: str | None = None,
        tier_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Customer:
        body = {"name": name, "phone": phone, "email": email, "tierId": tier_id}
        return cast(Customer, self.request("POST", "/customers", body=body, idempotency_key=idempotency_key))

    def get_customer(self, customer_id: str) -> Customer:
        return cast(Customer, self.request("GET", f"/customers/{customer_id}"))

    def customer_by_phone(self, phone: str) -> Customer:
        return cast(Customer, self.request("GET", f"/customers/by-phone/{_phone(phone)}"))

    def list_customers(self, *, page: int = 1, limit: int = 20, **filters: Any) -> Page[Customer]:
        return self._page("/customers", filters, page, limit)

    def iter_customers(self, *, limit: int = 100, **filters: Any) -> Iterator[Customer]:
        return self._iterate("/customers", filters, limit)

    # ------------------------------------------------------------------------------------- wallets
    @staticmethod
    def _wallet_path(customer_id: str | None, phone: str | None) -> str:
        if (customer_id is None) == (phone is None):
            raise ValueError("give customer_id or phone, not both")
        return (
            f"/customers/{customer_id}/wallet" if customer_id else f"/customers/by-phone/{_phone(phone or '')}/wallet"
        )

    def get_wallet(self, *, customer_id: str | None = None, phone: str | None = None) -> Wallet:
        return cast(Wallet, self.request("GET", self._wallet_path(customer_id, phone)))

    def recharge(
        self,
        amount: Decimal | int | str,
        *,
        customer_id: str | None = None,
        phone: str | None = None,
        reference: str | None = None,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> RechargeResult:
        """Credit a wallet. Pass your payment id as `idempotency_key` (and `reference`) to make it exactly once."""
        body = {"amount": _json.money(amount), "reference": reference, "note": note}
        path = self._wallet_path(customer_id, phone) + "/recharge"
        return cast(RechargeResult, self.request("POST", path, body=body, idempotency_key=idempotency_key))

    def list_wallet_transactions(self, customer_id: str, *, page: int = 1, limit: int = 20) -> Page[WalletTransaction]:
        return self._page(f"/customers/{customer_id}/wallet/transactions", {}, page, limit)

    def iter_wallet_transactions(self, customer_id: str, *, limit: int = 100) -> Iterator[WalletTransaction]:
        return self._iterate(f"/customers/{customer_id}/wallet/transactions", {}, limit)

    # ------------------------------------------------------------------------------------- inventory
    def stock(
        self, *, product_id: str | None = None, variation_id: str | None = None, low_stock: bool | None = None
    ) -> list[StockRow]:
        params = {"productId": product_id, "variationId": variation_id, "lowStock": low_stock}
        return cast(list[StockRow], self.request("GET", "/inventory/stock", params=params))

    def upload_licenses(
        self, variation_id: str, credentials: Sequence[str], *, idempotency_key: str | None = None
    ) -> LicenseUploadResult:
        body = {"variationId": variation_id, "licenses": [{"credentials": value} for value in credentials]}
        return cast(
            LicenseUploadResult,
            self.request("POST", "/inventory/licenses", body=body, idempotency_key=idempotency_key),
        )

    # ------------------------------------------------------------------------------------- orders
    def place_order(
        self,
        variation_ids: Sequence[str],
        *,
        customer_id: str | None = None,
        customer_phone: str | None = None,
        notes: str | None = None,
        renews: Sequence[str | None] | None = None,
        idempotency_key: str | None = None,
    ) -> OrderPlaced:
        """Buy one unit per entry of `variation_ids` (repeat an id to buy several), paid from the wallet.
        `renews[i]` (optional): the item that unit i renews (its expiry continues from that item's)."""
        renewed = list(renews or [])
        items: list[dict[str, Any]] = []
        for index, variation_id in enumerate(variation_ids):
            item: dict[str, Any] = {"variationId": variation_id}
            if index < len(renewed) and renewed[index] is not None:
                item["renewsItemId"] = renewed[index]
            items.append(item)
        body = {
            "customerId": customer_id,
            "customerPhone": customer_phone,
            "items": items,
            "notes": notes,
        }
        body = {name: value for name, value in body.items() if value is not None}
        return cast(OrderPlaced, self.request("POST", "/orders", body=body, idempotency_key=idempotency_key))

    def get_order(self, order_id: str) -> Order:
        return cast(Order, self.request("GET", f"/orders/{order_id}"))

    def list_orders(self, *, page: int = 1, limit: int = 20, **filters: Any) -> Page[OrderListItem]:
        return self._page("/orders", filters, page, limit)

    def iter_orders(self, *, limit: int = 100, **filters: Any) -> Iterator[OrderListItem]:
        """Every order matching the filters (`status`, `userId`, `productId`, `variationId`, `dateFrom`, `dateTo`)."""
        return self._iterate("/orders", filters, limit)

    def refund_order(self, order_id: str, *, idempotency_key: str | None = None) -> OrderRefund:
        return cast(OrderRefund, self.request("POST", f"/orders/{order_id}/refund", idempotency_key=idempotency_key))

    def cancel_order(self, order_id: str, *, idempotency_key: str | None = None) -> OrderRefund:
        return cast(OrderRefund, self.request("POST", f"/orders/{order_id}/cancel", idempotency_key=idempotency_key))

    def replace_order_item(
        self, order_id: str, item_id: str, *, reason: str | None = None, idempotency_key: str | None = None
    ) -> OrderItem:
        """Warranty replacement: a new license of the same variation for the item (OutOfStock when none)."""
        body = {"reason": reason} if reason is not None else {}
        path = f"/orders/{order_id}/items/{item_id}/replace"
        return cast(OrderItem, self.request("POST", path, body=body, idempotency_key=idempotency_key))

    def list_licenses(self, *, page: int = 1, limit: int = 20, **filters: Any) -> Page[HeldLicense]:
        return self._page("/licenses", filters, page, limit)

    def iter_licenses(self, *, limit: int = 100, **filters: Any) -> Iterator[HeldLicense]:
        """Every held license matching the filters (`customerId`, `customerPhone`, `variationId`, `status`,
        `expiresBefore`, `expiresAfter`), soonest expiry first. Never carries credentials."""
        return self._iterate("/licenses", filters, limit)

    # ------------------------------------------------------------------------------------ test mode
    def reset_sandbox(self, *, copy_catalog: bool = False, idempotency_key: str | None = None) -> dict[str, Any]:
        """Wipe the sandbox (test tokens `nvl_test_` only) and optionally copy the live catalog into it."""
        body = {"copyCatalog": copy_catalog}
        return cast(dict[str, Any], self.request("POST", "/sandbox/reset", body=body, idempotency_key=idempotency_key))

    # ------------------------------------------------------------------------------------- webhooks
    def create_webhook(
        self, url: str, events: Sequence[str] = ("*",), *, description: str = "", idempotency_key: str | None = None
    ) -> WebhookEndpointCreated:
        body = {"url": url, "events": list(events), "description": description}
        return cast(
            WebhookEndpointCreated, self.request("POST", "/webhooks", body=body, idempotency_key=idempotency_key)
        )

    def list_webhooks(self) -> list[WebhookEndpoint]:
        return cast(list[WebhookEndpoint], self.request("GET", "/webhooks"))

    def delete_webhook(self, webhook_id: str) -> None:
        self.request("DELETE", f"/webhooks/{webhook_id}")

    def iter_webhook_deliveries(
        self, webhook_id: str, *, limit: int = 100, **filters: Any
    ) -> Iterator[WebhookDelivery]:
        return self._iterate(f"/webhooks/{webhook_id}/deliveries", filters, limit)
