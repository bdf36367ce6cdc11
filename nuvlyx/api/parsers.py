"""JSON parsing that never makes floats and enforces the 1 MB body limit."""

import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from .errors import ApiError


class JsonDecimal(Decimal):
    """A JSON number with a fraction or exponent, kept exact and with its literal text."""

    literal: str

    def __new__(cls, literal: str):
        obj = super().__new__(cls, literal)
        obj.literal = literal
        return obj


class NonFinite(float):
    """NaN / Infinity literals: parsed so that field validation can refuse them by name (422)."""


def loads(raw: bytes | str):
    return json.loads(raw, parse_float=JsonDecimal, parse_constant=NonFinite)


def payload_too_large() -> ApiError:
    return ApiError("Request body exceeds 1 MB", status=413, code="payload_too_large")


def read_limited(stream) -> bytes:
    limit = settings.API_MAX_BODY_BYTES
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise payload_too_large()
    return raw


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_limited(stream)
        if not raw.strip():
            return {}
        try:
            return loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError("Malformed JSON body") from exc
