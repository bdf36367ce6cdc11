"""Reads of customers used across apps (price quote, orders, customers endpoints)."""

from typing import Literal, overload
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet

from catalog.models import PriceTier
from nuvlyx.core.errors import DomainError, NotFound, ValidationFailed
from nuvlyx.core.phones import PhoneError, normalize_phone
from nuvlyx.core.sql import prepared_cursor

from . import sql
from .filters import CustomerFilter
from .models import Customer, LedgerEntry, Wallet

PHONE_NOT_LINKED = "No customer has linked the phone {phone} (WhatsApp not linked yet)"


def _customer_fetch(statement: str, *, store, value) -> Customer | None:
    """The customer and its tier (wallets/sql.py) as instances: `customer.store` is the caller's store."""
    with prepared_cursor() as cursor:
        cursor.execute(statement, [store.pk, value])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(sql.CUSTOMER_FIELDS)
    customer = Customer.from_db(connection.alias, sql.CUSTOMER_FIELDS, list(row[:split]))
    tier = None
    if customer.tier_id is not None:
        tier = PriceTier.from_db(connection.alias, sql.TIER_FIELDS, list(row[split:]))
    customer.tier = tier
    customer.store = store
    return customer


def customer_get(*, store, customer_id: UUID) -> Customer:
    customer_id = Customer._meta.pk.get_db_prep_value(customer_id, connection)
    customer = _customer_fetch(sql.CUSTOMER_BY_ID, store=store, value=customer_id)
    if customer is None:
        raise NotFound("Customer not found")
    return customer


def customer_by_linked_phone(*, store, phone: str, field: str = "phone") -> Customer:
    """The customer whose *linked* phone this is. Invalid phone → 422; unlinked → 404 phone_not_linked."""
    try:
        phone = normalize_phone(phone)
    except PhoneError as exc:
        raise ValidationFailed.field(field, str(exc)) from None
    customer = _customer_fetch(sql.CUSTOMER_BY_LINKED_PHONE, store=store, value=phone)
    if customer is None:
        raise DomainError(PHONE_NOT_LINKED.format(phone=phone), status=404, code="phone_not_linked")
    return customer


@overload
def customer_resolve(
    *, store, customer_id: UUID | None, customer_phone: str | None, required: Literal[True] = True
) -> Customer: ...
@overload
def customer_resolve(
    *, store, customer_id: UUID | None, customer_phone: str | None, required: bool
) -> Customer | None: ...
def customer_resolve(
    *, store, customer_id: UUID | None, customer_phone: str | None, required: bool = True
) -> Customer | None:
    """customerId xor customerPhone (API.md). Both → 400; neither → 400 when required, else None."""
    if customer_id is not None and customer_phone is not None:
        raise DomainError("Send either customerId or customerPhone, not both", status=400, code="bad_request")
    if customer_id is not None:
        return customer_get(store=store, customer_id=customer_id)
    if customer_phone is not None:
        return customer_by_linked_phone(store=store, phone=customer_phone, field="customerPhone")
    if required:
        raise DomainError("Identify the customer with customerId or customerPhone", status=400, code="bad_request")
    return None


def customer_list(*, store, filters: dict | None = None) -> QuerySet[Customer]:
    """GET /customers matching CustomerFilter.parse()'s filters: newest first, tier joined (constant query count)."""
    qs = Customer.objects.for_store(store).select_related("tier").order_by("-created_at", "-id")
    return CustomerFilter.apply(qs, filters or {})


def price_tier_get(*, store, tier_id: UUID, field: str = "tierId"):
    """A price tier of this store, or 422 naming the field (an id of another store is the same as none)."""
    tier = PriceTier.objects.for_store(store).filter(pk=tier_id).first()
    if tier is None:
        raise ValidationFailed.field(field, "No price tier with this id in this store.")
    return tier


def wallet_get(*, customer: Customer) -> Wallet | None:
    return Wallet.objects.filter(customer_id=customer.pk).first()


def wallet_entries(*, customer: Customer) -> QuerySet[LedgerEntry]:
    """A customer's ledger, newest first."""
    return LedgerEntry.objects.filter(store_id=customer.store_id, wallet_id=customer.pk).order_by("-created_at", "-id")
