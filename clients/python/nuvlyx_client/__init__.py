"""nuvlyx-client: a small typed client for the Nuvlyx external API (see README.md)."""

from .client import DEFAULT_BASE_URL, Nuvlyx
from .errors import *  # noqa: F403  (one class per error code)
from .errors import ERRORS_BY_CODE, ApiError, NuvlyxError, TransportError, WebhookVerificationError
from .models import Page, RateLimit
from .webhooks import WebhookEvent, verify_webhook

__all__ = [
    "DEFAULT_BASE_URL",
    "ERRORS_BY_CODE",
    "ApiError",
    "Nuvlyx",
    "NuvlyxError",
    "Page",
    "RateLimit",
    "TransportError",
    "WebhookEvent",
    "WebhookVerificationError",
    "verify_webhook",
    *(cls.__name__ for cls in ERRORS_BY_CODE.values()),
]
