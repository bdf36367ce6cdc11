"""One exception class per documented error `code`; an unknown code still raises the typed `ApiError`."""

from __future__ import annotations

from typing import Any


class NuvlyxError(Exception):
    """Base of everything this client raises."""


class TransportError(NuvlyxError):
    """The server could not be reached (after the retries)."""


class WebhookVerificationError(NuvlyxError):
    """A webhook's signature, timestamp or body is not valid: refuse the delivery (answer 400)."""


class ApiError(NuvlyxError):
    """An error answer of the API (the contract's error body). Subclasses exist per known `code`."""

    code: str = ""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        self.status = status
        self.body = body
        self.code = str(body.get("code") or "")
        self.message = str(body.get("message") or "")
        self.error = str(body.get("error") or "")
        self.errors: list[dict[str, str]] = list(body.get("errors") or [])
        self.request_id: str | None = body.get("requestId")
        self.headers = dict(headers or {})
        super().__init__(f"{status} {self.code}: {self.message}")


class BadRequest(ApiError):
    code = "bad_request"


class InsufficientBalance(ApiError):
    code = "insufficient_balance"


class OutOfStock(ApiError):
    code = "out_of_stock"


class ProductUnavailable(ApiError):
    code = "product_unavailable"


class InvalidPagination(ApiError):
    code = "invalid_pagination"


class Unauthorized(ApiError):
    code = "unauthorized"


class Forbidden(ApiError):
    code = "forbidden"


class NotFound(ApiError):
    code = "not_found"


class PhoneNotLinked(ApiError):
    code = "phone_not_linked"


class MethodNotAllowed(ApiError):
    code = "method_not_allowed"


class NotAcceptable(ApiError):
    code = "not_acceptable"


class Conflict(ApiError):
    code = "conflict"


class IdempotencyConflict(ApiError):
    code = "idempotency_conflict"


class PayloadTooLarge(ApiError):
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    code = "unsupported_media_type"


class ValidationError(ApiError):
    code = "validation_error"


class IdempotencyKeyReused(ApiError):
    code = "idempotency_key_reused"


class RateLimited(ApiError):
    code = "rate_limited"


class InternalError(ApiError):
    code = "internal_error"


class ServiceUnavailable(ApiError):
    code = "service_unavailable"


ERRORS_BY_CODE: dict[str, type[ApiError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        InsufficientBalance,
        OutOfStock,
        ProductUnavailable,
        InvalidPagination,
        Unauthorized,
        Forbidden,
        NotFound,
        PhoneNotLinked,
        MethodNotAllowed,
        NotAcceptable,
        Conflict,
        IdempotencyConflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationError,
        IdempotencyKeyReused,
        RateLimited,
        InternalError,
        ServiceUnavailable,
    )
}


def error_from_response(status: int, body: Any, headers: dict[str, str] | None = None) -> ApiError:
    if not isinstance(body, dict):
        body = {"statusCode": status, "message": str(body)[:500], "error": "", "code": ""}
    return ERRORS_BY_CODE.get(str(body.get("code")), ApiError)(status, body, headers)
