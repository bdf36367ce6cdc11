"""Standard Webhooks verification (https://www.standardwebhooks.com), as Nuvlyx signs its deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from . import _json
from .errors import WebhookVerificationError
from .models import Customer, Order, Product, StockRow

DEFAULT_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class WebhookEvent:
    """A verified delivery. `type` is an open set: ignore types you do not know."""

    id: str  # = the webhook-id header; deduplicate on it (delivery is at least once)
    type: str
    created_at: str
    store_id: str
    data: dict[str, Any]  # money fields are Decimal
    livemode: bool = True  # False: an event of the store's sandbox (test mode)

    @property
    def order(self) -> Order:
        """`data` of an `order.*` event: the order as GET /orders/{id} returns it (credentials included)."""
        if not self.type.startswith("order."):
            raise TypeError(f"{self.type} is not an order event")
        return cast(Order, self.data)

    @property
    def product(self) -> Product:
        if not self.type.startswith("product."):
            raise TypeError(f"{self.type} is not a product event")
        return cast(Product, self.data)

    @property
    def customer(self) -> Customer:
        if self.type != "customer.created":
            raise TypeError(f"{self.type} is not a customer event")
        return cast(Customer, self.data)

    @property
    def stock(self) -> StockRow:
        if self.type != "inventory.low_stock":
            raise TypeError(f"{self.type} is not a stock event")
        return cast(StockRow, self.data)


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> WebhookEvent:
    """Check the signature of a delivery on its RAW body and return the parsed event, or raise
    `WebhookVerificationError`. `secret` is the endpoint's `whsec_...` secret."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not timestamp.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not unix seconds")
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance (replayed or clock skew)")
    if not secret.startswith("whsec_"):
        raise WebhookVerificationError("the secret must start with whsec_")
    raw = body.encode("utf-8") if isinstance(body, str) else body
    key = base64.b64decode(secret[len("whsec_") :])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest())
    candidates = [part.partition(",") for part in signatures.split()]
    if not any(version == "v1" and hmac.compare_digest(sig.encode(), expected) for version, _, sig in candidates):
        raise WebhookVerificationError("no valid v1 signature")
    try:
        payload = _json.loads(raw)
        return WebhookEvent(
            id=str(payload["id"]),
            type=str(payload["type"]),
            created_at=str(payload["createdAt"]),
            store_id=str(payload["storeId"]),
            data=dict(payload["data"]),
            livemode=bool(payload.get("livemode", True)),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookVerificationError(f"signed body is not a webhook event: {exc}") from exc
