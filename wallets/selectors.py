"""Reads of customers used across apps (price quote, orders, customers endpoints)."""

from uuid import UUID

from nuvlyx.api.errors import ApiError, NotFound, ValidationFailed
from nuvlyx.core.phones import PhoneError, normalize_phone

from .models import Customer

PHONE_NOT_LINKED = "No customer has linked the phone {phone} (WhatsApp not linked yet)"


def customer_get(*, store, customer_id: UUID) -> Customer:
    customer = Customer.objects.for_store(store).select_related("tier", "store").filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("Customer not found")
    return customer


def customer_by_linked_phone(*, store, phone: str, field: str = "phone") -> Customer:
    """The customer whose *linked* phone this is. Invalid phone → 422; unlinked → 404 phone_not_linked."""
    try:
        phone = normalize_phone(phone)
    except PhoneError as exc:
        raise ValidationFailed.field(field, str(exc)) from None
    customer = (
        Customer.objects.for_store(store)
        .select_related("tier", "store")
        .filter(phone=phone, phone_linked_at__isnull=False)
        .first()
    )
    if customer is None:
        raise ApiError(PHONE_NOT_LINKED.format(phone=phone), status=404, code="phone_not_linked")
    return customer


def customer_resolve(*, store, customer_id: UUID | None, customer_phone: str | None,
                     required: bool = True) -> Customer | None:
    """customerId xor customerPhone (API.md). Both → 400; neither → 400 when required, else None."""
    if customer_id is not None and customer_phone is not None:
        raise ApiError("Send either customerId or customerPhone, not both", status=400, code="bad_request")
    if customer_id is not None:
        return customer_get(store=store, customer_id=customer_id)
    if customer_phone is not None:
        return customer_by_linked_phone(store=store, phone=customer_phone, field="customerPhone")
    if required:
        raise ApiError("Identify the customer with customerId or customerPhone", status=400, code="bad_request")
    return None
