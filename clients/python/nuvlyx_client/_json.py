"""JSON both ways with Decimal money: amounts go out as decimal strings, come back as `Decimal`."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

# Every money field of the API (API.md: "amounts are decimal strings with exactly 2 decimals").
MONEY_FIELDS = frozenset(
    {
        "price",
        "basePrice",
        "totalAmount",
        "newBalance",
        "balance",
        "amount",
        "balanceAfter",
        "pricePaid",
        "refundedAmount",
    }
)
_MONEY = re.compile(r"^-?\d+\.\d{2}$")
_CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> str:
    """An amount for a request body: a decimal string with 2 decimals. Floats are refused (they are not exact)."""
    if isinstance(value, float) or isinstance(value, bool):
        raise TypeError("amounts are Decimal, int or str, never float")
    amount = Decimal(value)
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"{value!r} is not an amount with at most 2 decimals")
    return str(amount.quantize(_CENT))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(body: Any) -> bytes:
    return json.dumps(body, default=_default, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _decimals(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: Decimal(value)
            if key in MONEY_FIELDS and isinstance(value, str) and _MONEY.match(value)
            else _decimals(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_decimals(value) for value in node]
    return node


def loads(raw: bytes | str) -> Any:
    return _decimals(json.loads(raw, parse_float=Decimal))
