"""Request ids (in every log line and on every response) and JSON errors outside DRF."""

import contextvars
import logging
import uuid

from django.http import HttpResponse

from nuvlyx.core.jsonenc import dumps

API_PREFIX = "/api/"
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
logger = logging.getLogger("nuvlyx.api")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


def json_response(body: dict, status: int, headers: dict[str, str] | None = None) -> HttpResponse:
    """An error body as JSON outside DRF (Django's handlers, the middleware below)."""
    return HttpResponse(dumps(body), status=status, content_type="application/json", headers=headers)


def json_error(status: int, message: str, code: str, **extra) -> HttpResponse:
    from .errors import error_body

    return json_response(error_body(status, message, code, **extra), status)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = uuid.uuid4().hex
        token = _request_id.set(request_id)
        request.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-Id"] = request_id
        return response


class ApiErrorMiddleware:
    """Anything that escapes DRF under /api/ still gets the contract's error body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        from .errors import dependency_errors, dependency_unavailable, internal_error_body

        if isinstance(exception, dependency_errors()):
            body, headers = dependency_unavailable(exception)
            return json_response(body, 503, headers)
        return json_response(internal_error_body(exception), 500)
