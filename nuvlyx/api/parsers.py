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


def find_nul(value, path: str = "") -> str | None:
    """The path of the first string (key or value) containing a NUL character, or None.

    PostgreSQL text cannot hold NUL, and no field of ours means one: refuse it up front (422).
    """
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return child
            found = find_nul(item, child)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_nul(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


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
            data = loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError("Malformed JSON body") from exc
        field = find_nul(data)
        if field is not None:
            from .errors import ValidationFailed

            raise ValidationFailed.field(field, "Must not contain NUL characters.")
        return data
