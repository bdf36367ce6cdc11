"""The one family of refusals that domain code raises: DomainError and its subclasses.

Services, selectors and the admin raise and catch these; they carry what the API needs to
render the contract's error body (status, a stable code, the message, the field at fault), and
the API's one exception handler (nuvlyx/api/errors.py) renders them. Nothing here knows HTTP
beyond the status number.
"""

from typing import Any


def summarize(errors: list[dict[str, str]]) -> str:
    """The message of a 422: the first field error, and how many more there are."""
    if not errors:
        return "Validation failed"
    first = errors[0]
    text = f"{first['field']}: {first['message']}" if first.get("field") else first["message"]
    more = len(errors) - 1
    return f"Validation failed: {text}" + (f" (and {more} more)" if more else "")


class DomainError(Exception):
    """A refused operation: status, stable code, message; `errors` lists the fields at fault (422).

    `detail` is the plain sentence (for the command line); `message` is what the error body says
    (for a 422 built from one field, the contract's summary of it). `owner`, when the raiser gives
    one, is the same refusal for the store owner: a translatable sentence and its values, which
    `owner_text` renders in the owner's language with amounts in the store's format.
    """

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        owner: tuple[str, dict[str, Any]] | None = None,
    ):
        super().__init__(message)
        self.detail = message
        self.owner = owner  # (msgid marked with gettext_noop, params): what the owner's panel says
        self.field = field
        if status is not None:
            self.status_code = status
        if code is not None:
            self.code = code
        if errors is None and field is not None:
            errors = [{"field": field, "message": message}]
        self.errors = errors
        self.message = summarize(errors) if field is not None and errors else message
        self.headers: dict[str, Any] = dict(headers or {})


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class ValidationFailed(DomainError):
    status_code = 422
    code = "validation_error"

    def __init__(self, errors: list[dict[str, str]], message: str | None = None):
        super().__init__(message or summarize(errors), errors=errors)

    @classmethod
    def field(cls, field: str, message: str) -> "ValidationFailed":  # type: ignore[override]
        error = cls([{"field": field, "message": message}])
        error.field, error.detail = field, message  # type: ignore[method-assign,assignment]  # the instance's field
        return error


class OutOfStock(DomainError):
    status_code = 400
    code = "out_of_stock"


class InsufficientBalance(DomainError):
    status_code = 400
    code = "insufficient_balance"


class ProductUnavailable(DomainError):
    status_code = 400
    code = "product_unavailable"


class ServiceUnavailable(DomainError):
    """A dependency (Redis, the database) cannot be reached: 503 with Retry-After."""

    status_code = 503
    code = "service_unavailable"
    retry_after_seconds = 5

    def __init__(self, message: str = "Service temporarily unavailable, retry shortly"):
        super().__init__(message, headers={"Retry-After": str(self.retry_after_seconds)})


def owner_text(exc: BaseException, store=None) -> str:
    """The owner's panel's sentence for a refusal: the raiser's `owner` message translated, Decimal
    values as the store's money ("$ 50.000"); the plain English sentence when it gave none."""
    owner = getattr(exc, "owner", None)
    if owner is None:
        return getattr(exc, "detail", None) or str(exc)
    from decimal import Decimal

    from django.utils.translation import gettext

    from .money import money_display

    msgid, params = owner
    shown = {
        k: money_display(v, store) if isinstance(v, Decimal) and store is not None else v for k, v in params.items()
    }
    return gettext(msgid) % shown
