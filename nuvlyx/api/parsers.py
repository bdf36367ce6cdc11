"""JSON parsing that never makes floats and enforces the 1 MB body limit."""

import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from .errors import DomainError


class JsonDecimal(Decimal):
    """A JSON number with a fraction or exponent, kept exact and with its literal text."""

    literal: str

    def __new__(cls, literal: str):
        obj = super().__new__(cls, literal)
        obj.literal = literal
        return obj


def _not_json(literal: str):
    """NaN, Infinity and -Infinity: Python's json reads them, JSON (RFC 8259) has no such literals.
    API.md: a body that is not valid JSON is a 400, wherever the literal sits (an ignored field too)."""
    raise ValueError(f"{literal} is not JSON")


def loads(raw: bytes | str):
    return json.loads(raw, parse_float=JsonDecimal, parse_constant=_not_json)


# Bounds every parsed body is held to before anything (idempotency fingerprint included) uses it.
MAX_DEPTH = 32  # our deepest real shape is 4 (variations[].tierPrices[].price)
MAX_INT = 2**63 - 1  # PostgreSQL bigint; nothing of ours is larger


class TooDeep(Exception):
    pass


def find_invalid(value, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """(path, message) of the first value no field of ours can hold, or None.

    Refused: NUL characters (PostgreSQL text cannot hold them), lone surrogates (not Unicode:
    they cannot be encoded, logged or rendered), integers outside a signed 64-bit range.
    Raises TooDeep past MAX_DEPTH levels of nesting (a request-level 400).
    """
    if depth > MAX_DEPTH:
        raise TooDeep
    if isinstance(value, str):
        problem = _string_problem(value)
        return (path, problem) if problem else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (path, "Integer out of range.") if abs(value) > MAX_INT else None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _string_problem(key)
            child = f"{path}.{_printable(key)}" if path else _printable(key)
            if problem:
                return child, problem
            found = find_invalid(item, child, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_invalid(item, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
    return None


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "Must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode (no lone surrogates)."
    return None


def _printable(key: str) -> str:
    """A key safe to echo back in an error (invalid characters replaced)."""
    return key.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def validate_parsed(data):
    """The one check of a parsed body: depth → 400, a value no field can hold → 422."""
    from .errors import ValidationFailed

    try:
        found = find_invalid(data)
    except TooDeep:
        raise ParseError(f"JSON body nested deeper than {MAX_DEPTH} levels") from None
    if found is not None:
        raise ValidationFailed.field(*found)
    return data


def payload_too_large() -> DomainError:
    return DomainError("Request body exceeds 1 MB", status=413, code="payload_too_large")


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
        if not raw:  # no body at all: the endpoint's required fields answer (422); blank text is not JSON
            return {}
        try:
            data = loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError("Malformed JSON body") from exc
        return validate_parsed(data)
