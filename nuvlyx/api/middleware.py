"""Request ids (in every log line and on every response) and JSON errors outside DRF."""

import contextvars
import logging
import uuid

from django.http import HttpResponse

from .renderers import dumps

API_PREFIX = "/api/"
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
logger = logging.getLogger("nuvlyx.api")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


def json_error(status: int, message: str, code: str, **extra) -> HttpResponse:
    from .errors import error_body

    return HttpResponse(
        dumps(error_body(status, message, code, **extra)), status=status, content_type="application/json"
    )


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
        from .errors import ServiceUnavailable, dependency_errors

        if isinstance(exception, dependency_errors()):
            logger.warning("dependency unavailable: %s", type(exception).__name__)
            unavailable = ServiceUnavailable()
            response = json_error(503, unavailable.message, unavailable.code)
            response["Retry-After"] = unavailable.headers["Retry-After"]
            return response
        logger.error("unhandled error in API request %s", current_request_id(), exc_info=exception)
        return json_error(500, "Internal server error", "internal_error", requestId=current_request_id())
