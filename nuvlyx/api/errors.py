"""One handler: every API error (a DomainError from core, DRF's, Django's) renders the contract's body.

    {"statusCode": 404, "message": "Product not found", "error": "Not Found", "code": "not_found"}

422 adds "errors": [{"field": "items[3].variationId", "message": "..."}]; 500 adds "requestId".
"""

import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from nuvlyx.core.errors import (  # noqa: F401  (the API layer raises these too)
    Conflict,
    DomainError,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
    summarize,
)

logger = logging.getLogger("nuvlyx.api")


def dependency_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "a dependency is down", not "a bug": answered 503, never 500."""
    import redis
    from django.db import InterfaceError, OperationalError

    return (redis.ConnectionError, redis.TimeoutError, OperationalError, InterfaceError)


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(status: int, message: str, code: str, **extra: Any) -> dict[str, Any]:
    body = {"statusCode": status, "message": message, "error": reason(status), "code": code}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def flatten_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error detail → [{"field": "items[3].variationId", "message": ...}]."""
    out: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                out.extend(flatten_errors(value, prefix))
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                out.extend(flatten_errors(value, f"{prefix}[{key}]"))
            else:
                out.extend(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out.extend({"field": prefix, "message": str(item)} for item in detail)
        else:
            for index, item in enumerate(detail):
                if item in ({}, [], None):
                    continue
                out.extend(flatten_errors(item, f"{prefix}[{index}]"))
    else:
        out.append({"field": prefix, "message": str(detail)})
    return out


_DRF_MAP: dict[type, tuple[int, str]] = {
    drf.NotAuthenticated: (401, "unauthorized"),
    drf.AuthenticationFailed: (401, "unauthorized"),
    drf.PermissionDenied: (403, "forbidden"),
    drf.NotFound: (404, "not_found"),
    drf.MethodNotAllowed: (405, "method_not_allowed"),
    drf.NotAcceptable: (406, "not_acceptable"),
    drf.UnsupportedMediaType: (415, "unsupported_media_type"),
    drf.Throttled: (429, "rate_limited"),
    drf.ParseError: (400, "bad_request"),
}


def set_rollback() -> None:
    from rest_framework.views import set_rollback as drf_set_rollback  # DRF views import our settings classes

    drf_set_rollback()


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF EXCEPTION_HANDLER: map every exception to the contract's body."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        status, code, message = exc.status_code, exc.code, exc.message
        body = error_body(status, message, code, errors=exc.errors)
        headers.update(exc.headers)
    elif isinstance(exc, drf.ValidationError):
        errors = flatten_errors(exc.detail)
        body = error_body(422, summarize(errors), "validation_error", errors=errors)
        status = 422
    elif isinstance(exc, (Http404, drf.NotFound)):
        message = str(exc) if isinstance(exc, drf.NotFound) else "Not found"
        status, body = 404, error_body(404, message or "Not found", "not_found")
    elif isinstance(exc, ObjectDoesNotExist):
        # The object the request addressed was found by the view, then deleted by a concurrent
        # request before the service locked it (e.g. PATCH racing DELETE): it is gone, a 404.
        status, body = 404, error_body(404, "Not found", "not_found")
    elif isinstance(exc, RequestDataTooBig):
        status, body = 413, error_body(413, "Request body exceeds 1 MB", "payload_too_large")
    elif isinstance(exc, DjangoPermissionDenied):
        status, body = 403, error_body(403, "Forbidden", "forbidden")
    elif isinstance(exc, drf.APIException):
        status, code = _DRF_MAP.get(type(exc), (exc.status_code, "error"))
        for klass, mapped in _DRF_MAP.items():
            if isinstance(exc, klass):
                status, code = mapped
                break
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = error_body(status, str(message), code)
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
    elif isinstance(exc, dependency_errors()):
        status = 503
        body, unavailable_headers = dependency_unavailable(exc)
        headers.update(unavailable_headers)
    else:
        return internal_error_response(exc)
    set_rollback()
    response = Response(body, status=status, headers=headers)
    response.error_code = body["code"]
    return response


def dependency_unavailable(exc: BaseException) -> tuple[dict[str, Any], dict[str, str]]:
    """The 503 body and headers when a dependency is down (DRF's handler and the middleware)."""
    logger.warning("dependency unavailable: %s", type(exc).__name__)
    unavailable = ServiceUnavailable()
    return error_body(503, unavailable.message, unavailable.code), dict(unavailable.headers)


def internal_error_body(exc: BaseException | None = None) -> dict[str, Any]:
    """THE 500 body, for every entry point (DRF's handler, ApiErrorMiddleware, handler500).

    Logs the exception with the request id (handler500 passes none: Django logged it already);
    the body names nothing but the request id.
    """
    from .middleware import current_request_id

    request_id = current_request_id()
    if exc is not None:
        logger.error("unhandled error in API request %s", request_id, exc_info=exc)
    return error_body(500, "Internal server error", "internal_error", requestId=request_id)


def internal_error_response(exc: Exception) -> Response:
    set_rollback()
    response = Response(internal_error_body(exc), status=500)
    response.error_code = "internal_error"
    return response
