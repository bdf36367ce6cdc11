"""WhatsApp through the owner's Mosend account: routing, parameter extraction, sending.

- `handle_event(event)` is the event consumer (registered in IntegrationsConfig.ready()). For a
  routed event it writes one MessageLog per (event, route) and enqueues
  `integrations.send_whatsapp(message_id)` on commit. It runs in the worker's event fan-out,
  never in the request that placed the order.
- `WhatsAppChannel` plugs the messages into the outbound delivery engine (nuvlyx/core/delivery.py:
  lease, retry rule and schedule, sweeper): it renders the parameters and calls Mosend.

Parameter values are computed at send time from the event payload and never stored, except in a
sandbox (test mode): there nothing is sent; the message is recorded SIMULATED with the template and
the parameter values that would have been sent (encrypted). See docs/whatsapp.md and
docs/testing-your-integration.md.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy

from nuvlyx.core import crypto, delivery
from nuvlyx.core.events import EVENT_TYPES
from nuvlyx.core.models import Event, Store
from nuvlyx.core.timeutil import now

from . import mosend
from .models import MessageLog, MosendConnection, TemplateRoute

logger = logging.getLogger(__name__)

# Events that concern one customer (the recipient). Product/inventory/webhook events have none.
ROUTABLE_EVENT_TYPES = (
    "order.created",
    "order.completed",
    "order.refunded",
    "order.cancelled",
    "order.item_replaced",
    "wallet.recharged",
    "customer.created",
    "license.expiring",
    "license.expired",
)
assert set(ROUTABLE_EVENT_TYPES) <= set(EVENT_TYPES)

LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
MAX_PARAMETERS = 10
LIST_SEPARATOR = ", "
LEASE = timedelta(seconds=60)  # > the 10 s Mosend timeout + bookkeeping
SWEEP_GRACE = timedelta(seconds=30)  # leave fresh messages to their own task

SKIP_NO_PHONE = "customer has no linked phone"
SKIP_DISABLED = "connection disabled"
SKIP_NO_CONNECTION = "no Mosend connection"
SKIP_NO_CUSTOMER = "customer not found"
SIMULATED_REASON = "test data (sandbox): not sent to Mosend"


# --- the documented parameter set -------------------------------------------------------------
def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _items(data: dict) -> list[dict]:
    items = data.get("items") if isinstance(data, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _join(values) -> str:
    return LIST_SEPARATOR.join(v for v in (_s(value).strip() for value in values) if v)


def _date(value: Any, timezone: str | None = None) -> str:
    """`2026-06-18T03:00:00.000Z` → `2026-06-18` (in `timezone`, the store's; UTC when None); anything
    unparseable is passed through."""
    text = _s(value)
    try:
        parsed: datetime | None = parse_datetime(text) if text else None
    except ValueError:
        parsed = None
    if parsed is None:
        return text
    if timezone and parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(zoneinfo.ZoneInfo(timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return parsed.date().isoformat()


def _delivered(item: dict, key: str) -> Any:
    """From the item's license, or from what the owner entered when fulfilling it by hand."""
    return _get(item, "license", key) or _get(item, "fulfilment", key)


def _customer(data: dict) -> dict:
    """The customer object inside an event's data: order.user, wallet.customer, or the customer itself."""
    for key in ("user", "customer"):
        value = data.get(key)
        if isinstance(value, dict):
            return value
    return data if "phone" in data or "name" in data else {}


class Context:
    """What an extractor reads: the event type, its data, the store."""

    def __init__(self, *, event_type: str, data: dict, store_name: str, timezone: str | None = None):
        self.event_type = event_type
        self.data = data if isinstance(data, dict) else {}
        self.store_name = store_name
        self.timezone = timezone

    @property
    def is_order(self) -> bool:
        return self.event_type.startswith("order.")


Extractor = Callable[[Context], str]

# key → (label shown in the admin, extractor). Order here is the order shown in the admin.
PARAMETERS: dict[str, tuple[Any, Extractor]] = {
    "customer_name": (gettext_lazy("Customer name"), lambda c: _s(_customer(c.data).get("name"))),
    "customer_phone": (gettext_lazy("Customer phone"), lambda c: _s(_customer(c.data).get("phone"))),
    "store_name": (gettext_lazy("Store name"), lambda c: c.store_name),
    "order_number": (gettext_lazy("Order number"), lambda c: _s(c.data.get("orderNumber"))),
    "order_status": (
        gettext_lazy("Order status"),
        lambda c: _s(c.data.get("status")) if c.is_order and "orderNumber" in c.data else "",
    ),
    "order_total": (gettext_lazy("Order total"), lambda c: _s(c.data.get("totalAmount"))),
    "order_date": (
        gettext_lazy("Order date"),
        lambda c: _date(c.data.get("createdAt"), c.timezone) if c.is_order and "orderNumber" in c.data else "",
    ),
    "currency": (gettext_lazy("Currency"), lambda c: _s(c.data.get("currencyCode") or c.data.get("currency"))),
    # order events list items; license.* events are one item (productName / sku / expiresAt at the top)
    "product_name": (
        gettext_lazy("Product name(s)"),
        lambda c: _join(i.get("productName") for i in _items(c.data)) or _s(c.data.get("productName")),
    ),
    "sku": (gettext_lazy("SKU(s)"), lambda c: _join(i.get("sku") for i in _items(c.data)) or _s(c.data.get("sku"))),
    "credentials": (gettext_lazy("Credentials"), lambda c: _join(_delivered(i, "credentials") for i in _items(c.data))),
    "expiry_date": (
        gettext_lazy("Expiry date(s)"),
        lambda c: (
            _join(_date(_delivered(i, "expiresAt"), c.timezone) for i in _items(c.data))
            or _date(c.data.get("expiresAt"), c.timezone)
        ),
    ),
    "days_left": (gettext_lazy("Days left (license reminders)"), lambda c: _s(c.data.get("daysLeft"))),
    "post_sale_instructions": (
        gettext_lazy("Post-sale instructions"),
        lambda c: _join(i.get("postSaleInstructions") for i in _items(c.data)),
    ),
    "amount": (
        gettext_lazy("Amount (recharge amount; order total for orders)"),
        lambda c: _s(c.data.get("amount")) or _s(c.data.get("totalAmount")),
    ),
    "new_balance": (gettext_lazy("New wallet balance"), lambda c: _s(c.data.get("newBalance"))),
    "reference": (gettext_lazy("Recharge reference"), lambda c: _s(c.data.get("reference"))),
}
PARAMETER_CHOICES = [(key, label) for key, (label, _) in PARAMETERS.items()]
# Values of these parameters are secrets: scrubbed from anything we store (errors, excerpts).
SECRET_PARAMETERS = frozenset({"credentials"})

_WHITESPACE_RUN = re.compile(r"[ \t\r\n]+")


def clean_parameter(value: str) -> str:
    """WhatsApp template parameters may not contain newlines, tabs or long space runs."""
    return _WHITESPACE_RUN.sub(" ", value).strip()


def extract_parameters(
    *, keys: list[str], event_type: str, data: dict, store_name: str, store_timezone: str | None = None
) -> list[str]:
    """The template parameters, in order; dates in the store's time zone. Missing data → "" (never raises)."""
    context = Context(event_type=event_type, data=data, store_name=store_name, timezone=store_timezone)
    values = []
    for key in keys:
        entry = PARAMETERS.get(key)
        try:
            value = entry[1](context) if entry else ""
        except Exception:  # defensive: a malformed payload must not stop the send
            value = ""
        values.append(clean_parameter(value))
    return values


# --- routes -----------------------------------------------------------------------------------
def validate_route(*, event_type: str, template_name: str, language: str, parameters: Any) -> None:
    errors: dict[str, list[str]] = {}
    if event_type not in ROUTABLE_EVENT_TYPES:
        errors["event_type"] = [f"Unknown or non-customer event type; choose one of {', '.join(ROUTABLE_EVENT_TYPES)}."]
    if not (template_name or "").strip():
        errors["template_name"] = ["The template name is required."]
    if not LANGUAGE_RE.match(language or ""):
        errors["language"] = ["A language code such as es, es_CO or en_US."]
    if not isinstance(parameters, list) or not all(isinstance(p, str) for p in parameters):
        errors["parameters"] = ["A list of parameter keys."]
    else:
        unknown = [p for p in parameters if p not in PARAMETERS]
        if unknown:
            errors["parameters"] = [f"Unknown parameter(s): {', '.join(unknown)}; known: {', '.join(PARAMETERS)}."]
        elif len(parameters) > MAX_PARAMETERS:
            errors["parameters"] = [f"At most {MAX_PARAMETERS} parameters."]
    if errors:
        raise ValidationError(errors)


# --- the connection ---------------------------------------------------------------------------
@transaction.atomic
def mosend_connection_save(
    *, store: Store, api_key: str | None, sender: str, enabled: bool, connection: MosendConnection | None = None
) -> MosendConnection:
    """Create or update the store's connection. api_key None/"" keeps the stored key."""
    connection = connection or MosendConnection.objects.for_store(store).first() or MosendConnection(store=store)
    if connection.store_id is None:
        connection.store = store
    elif connection.store_id != store.pk:
        raise ValueError("the connection belongs to another store")
    api_key = (api_key or "").strip()
    if api_key:
        connection.api_key_encrypted = crypto.encrypt(api_key)
        connection.api_key_last4 = api_key[-4:]
    elif not connection.api_key_encrypted:
        raise ValidationError({"api_key": ["The Mosend API key is required."]})
    connection.sender = sender.strip()
    connection.enabled = enabled
    connection.save()
    return connection


def connection_api_key(connection: MosendConnection) -> str:
    return crypto.decrypt(connection.api_key_encrypted)


def connection_check(*, connection: MosendConnection) -> mosend.MosendResult:
    try:
        api_key = connection_api_key(connection)
    except crypto.DecryptionError:
        return mosend.MosendResult(ok=False, error="the stored API key could not be decrypted; enter it again")
    result = mosend.check_connection(base_url=settings.MOSEND_API_URL, api_key=api_key)
    if result.error:
        result = dataclasses.replace(result, error=_failure(result, [api_key]))
    return result


# --- routing (the event consumer) -------------------------------------------------------------
def _customer_id(event_type: str, data: dict) -> str | None:
    if event_type.startswith("order."):
        value = _get(data, "user", "id") or data.get("customerId")
    elif event_type.startswith("license."):
        value = _get(data, "customer", "id")
    elif event_type == "wallet.recharged":
        value = data.get("customerId") or _get(data, "customer", "id")
    elif event_type == "customer.created":
        value = data.get("id")
    else:
        value = None
    return _s(value) or None


def _find_customer(store_id, customer_id: str | None):
    from wallets.models import Customer

    if not customer_id:
        return None
    try:
        return Customer.objects.for_store(store_id).filter(pk=customer_id).first()
    except (ValueError, ValidationError):  # not a UUID
        return None


def handle_event(event: Event) -> MessageLog | None:
    """Event consumer: one MessageLog per (event, enabled route). Idempotent."""
    if event.type not in ROUTABLE_EVENT_TYPES:
        return None
    route = TemplateRoute.objects.for_store(event.store_id).filter(event_type=event.type, enabled=True).first()
    if route is None:
        return None  # unrouted: nothing to send, nothing to log
    existing = MessageLog.objects.filter(event=event, route=route).first()
    if existing is not None:
        if existing.status == MessageLog.Status.PENDING:
            transaction.on_commit(lambda: enqueue_send(existing.pk))
        return existing

    data = (event.payload or {}).get("data") or {}
    sandbox = event.store.sandbox_of_id is not None
    connection = None if sandbox else MosendConnection.objects.for_store(event.store_id).first()
    customer = _find_customer(event.store_id, _customer_id(event.type, data))
    status, reason = MessageLog.Status.PENDING, ""
    simulated = ""
    if sandbox:
        # Test mode never reaches Mosend (no connection needed): record what would have been sent.
        status, reason = MessageLog.Status.SIMULATED, SIMULATED_REASON
    elif connection is None:
        status, reason = MessageLog.Status.SKIPPED, SKIP_NO_CONNECTION
    elif not connection.enabled:
        status, reason = MessageLog.Status.SKIPPED, SKIP_DISABLED
    elif customer is None:
        status, reason = MessageLog.Status.SKIPPED, SKIP_NO_CUSTOMER
    elif customer.phone_linked_at is None or not customer.phone:
        status, reason = MessageLog.Status.SKIPPED, SKIP_NO_PHONE

    if sandbox and customer is None:
        status, reason = MessageLog.Status.SKIPPED, SKIP_NO_CUSTOMER
    elif sandbox and (customer.phone_linked_at is None or not customer.phone):
        status, reason = MessageLog.Status.SKIPPED, SKIP_NO_PHONE
    elif sandbox:
        values = extract_parameters(  # exactly what would have been sent: the store's dates too
            keys=list(route.parameters),
            event_type=event.type,
            data=data,
            store_name=event.store.name,
            store_timezone=event.store.timezone,
        )
        simulated = crypto.encrypt(json.dumps(values, ensure_ascii=False))

    phone = customer.phone if customer is not None and customer.phone_linked_at and customer.phone else ""
    try:
        with transaction.atomic():
            message = MessageLog.objects.create(
                store_id=event.store_id,
                event=event,
                event_type=event.type,
                customer=customer,
                route=route,
                template_name=route.template_name,
                language=route.language,
                parameter_keys=list(route.parameters),
                phone=phone,
                status=status,
                reason=reason,
                simulated_parameters_encrypted=simulated,
                next_attempt_at=now() if status == MessageLog.Status.PENDING else None,
            )
    except IntegrityError:  # a concurrent dispatch of the same event won the race
        return MessageLog.objects.filter(event=event, route=route).first()
    if status == MessageLog.Status.PENDING:
        transaction.on_commit(lambda: enqueue_send(message.pk))
    else:
        logger.info("whatsapp message %s for event %s %s: %s", message.pk, event.pk, status.lower(), reason)
    return message


def simulated_parameters(message: MessageLog) -> list[str]:
    """The parameter values a sandbox's SIMULATED message would have sent ([] for any other message)."""
    if not message.simulated_parameters_encrypted:
        return []
    return json.loads(crypto.decrypt(message.simulated_parameters_encrypted))


# --- sending: the WhatsApp channel of the outbound engine (nuvlyx/core/delivery.py) ---------------
def _scrub(text: str, secrets: list[str]) -> str:
    """Every secret replaced, also as a JSON string would carry it (escaped quotes, backslashes,
    \\uXXXX escapes): Mosend may echo the parameters it was sent. The WHOLE text first, cut after."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            for form in {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}:
                text = text.replace(form, "[redacted]")
    return text[:1000]


def _failure(result: mosend.MosendResult, secrets: list[str]) -> str:
    """A failed call for the log and the admin: the error and the start of Mosend's answer, redacted
    over the whole answer before it is cut (a secret straddling the cut would survive otherwise)."""
    error = _scrub(result.error or f"HTTP {result.status}", secrets)
    if result.body:
        body = _scrub(result.body.decode("utf-8", errors="replace"), secrets)
        error = f"{error}: {body[: mosend.BODY_EXCERPT_BYTES]}"
    return error[:1000]


class WhatsAppChannel(delivery.Channel):
    """WhatsApp plugs into the engine with its transport (Mosend) and its payload (template parameters)."""

    name = "whatsapp"
    noun = "whatsapp message"
    model = MessageLog
    schedule_setting = "MOSEND_RETRY_SCHEDULE"
    task = "integrations.tasks.send_whatsapp"
    success_status = MessageLog.Status.SENT
    lease_field = "leased_until"
    error_field = "reason"
    error_max_length = 1000
    sent_at_field = "sent_at"
    sweep_grace = SWEEP_GRACE

    def lease_seconds(self) -> float:
        return LEASE.total_seconds()

    def load(self, pk) -> MessageLog | None:
        return MessageLog.objects.select_related("store", "event").filter(pk=pk).first()

    def send(self, message: MessageLog) -> delivery.Sent | delivery.NotSent:
        connection = MosendConnection.objects.for_store(message.store_id).first()
        if connection is None or not connection.enabled:
            reason = SKIP_NO_CONNECTION if connection is None else SKIP_DISABLED
            return delivery.NotSent(MessageLog.Status.SKIPPED, reason, "skipped")
        if message.event is None:
            return delivery.NotSent(MessageLog.Status.FAILED, "the event no longer exists", "event_gone")
        try:
            api_key = connection_api_key(connection)
        except crypto.DecryptionError:
            error = "the stored Mosend API key could not be decrypted; enter it again"
            return delivery.Sent(None, error, permanent=True)

        data = (message.event.payload or {}).get("data") or {}
        keys = list(message.parameter_keys)
        parameters = extract_parameters(
            keys=keys,
            event_type=message.event_type,
            data=data,
            store_name=message.store.name,
            store_timezone=message.store.timezone,
        )
        secrets = [api_key] + [value for key, value in zip(keys, parameters, strict=True) if key in SECRET_PARAMETERS]
        result = mosend.send_template(
            base_url=settings.MOSEND_API_URL,
            api_key=api_key,
            sender=connection.sender,
            to=message.phone,
            template=message.template_name,
            language=message.language,
            parameters=parameters,
        )
        if result.ok:
            return delivery.Sent(result.status, columns={"mosend_message_id": result.message_id[:128]})
        return delivery.Sent(
            result.status, _failure(result, secrets), retry_after=result.retry_after, permanent=result.permanent
        )

    def gave_up(self, error: str, attempts: int) -> str:
        return f"gave up after {attempts} attempts: {error}"


CHANNEL = WhatsAppChannel()  # registered with the engine in IntegrationsConfig.ready()


def enqueue_send(message_id, countdown: float | None = None) -> None:
    delivery.enqueue(CHANNEL, message_id, countdown=countdown)


def message_send(*, message_id) -> str:
    """One attempt at sending a PENDING message (the `integrations.send_whatsapp` task)."""
    return delivery.attempt(CHANNEL, message_id)
