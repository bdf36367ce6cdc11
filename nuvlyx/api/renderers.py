from decimal import Decimal

import orjson
from rest_framework.renderers import BaseRenderer


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data) -> bytes:
    return orjson.dumps(data, default=_default)


class FastJSONRenderer(BaseRenderer):
    """orjson: the API renders its own strings for amounts and dates, so this stays dumb and fast."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return dumps(data)
