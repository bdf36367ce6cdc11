"""The one JSON encoder of API bodies and stored snapshots: orjson, Decimals as strings."""

from decimal import Decimal

import orjson


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data) -> bytes:
    return orjson.dumps(data, default=_default)
