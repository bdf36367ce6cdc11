"""Reads of customers used across apps (price quote, orders, customers endpoints)."""

from dataclasses import dataclass
from typing import Any, Literal, overload
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet

from catalog.models import PriceTier, Product
from catalog.selectors import price_quote_from_rows
from nuvlyx.core.errors import DomainError, NotFound, ValidationFailed
from nuvlyx.core.phones import PhoneError, normalize_phone
from nuvlyx.core.sql import prepared_cursor

from . import sql
from .filters import CustomerFilter
from .models import Customer, LedgerEntry, Wallet

PHONE_NOT_LINKED = "No customer has linked the phone {phone} (WhatsApp not linked yet)"


@dataclass(frozen=True)
class CustomerLookup:
    """A validated customerId (database form) or normalized customerPhone, not looked up yet."""

    by_phone: bool
    value: Any

    def missing(self) -> DomainError:
        if self.by_phone:
            return DomainError(PHONE_NOT_LINKED.format(phone=self.value), status=404, code="phone_not_linked")
        return NotFound("Customer not found")


def customer_lookup(
    *, customer_id: UUID | str | None, customer_phone: str | None, field: str = "customerPhone"
) -> CustomerLookup | None:
    """customerId xor customerPhone (API.md): both → 400; an invalid phone → 422 on `field`; neither → None."""
    if customer_id is not None and customer_phone is not None:
        raise DomainError("Send either customerId or customerPhone, not both", status=400, code="bad_request")
    if customer_id is not None:
        return CustomerLookup(by_phone=False, value=Customer._meta.pk.get_db_prep_value(customer_id, connection))
    if customer_phone is None:
        return None
    return _phone_lookup(customer_phone, field=field)


def _phone_lookup(phone: str, *, field: str) -> CustomerLookup:
    try:
        return CustomerLookup(by_phone=True, value=normalize_phone(phone))
    except PhoneError as exc:
        raise ValidationFailed.field(field, str(exc)) from None


def _customer_from_row(row, *, store) -> Customer | None:
    """The customer and its tier of wallets/sql.py's columns (all NULL: no customer). `customer.store` is the
    caller's store."""
    if row[0] is None:
        return None
    split = len(sql.CUSTOMER_FIELDS)
    customer = Customer.from_db(connection.alias, sql.CUSTOMER_FIELDS, list(row[:split]))
    tier = None
    if customer.tier_id is not None:
        tier = PriceTier.from_db(connection.alias, sql.TIER_FIELDS, list(row[split : split + len(sql.TIER_FIELDS)]))
    customer.tier = tier
    customer.store = store
    return customer


def _customer_fetch(lookup: CustomerLookup, *, store) -> Customer:
    statement = sql.CUSTOMER_BY_LINKED_PHONE if lookup.by_phone else sql.CUSTOMER_BY_ID
    with prepared_cursor() as cursor:
        cursor.execute(statement, [store.pk, lookup.value])
        row = cursor.fetchone()
    customer = None if row is None else _customer_from_row(row, store=store)
    if customer is None:
        raise lookup.missing()
    return customer


def customer_get(*, store, customer_id: UUID) -> Customer:
    value = Customer._meta.pk.get_db_prep_value(customer_id, connection)
    return _customer_fetch(CustomerLookup(by_phone=False, value=value), store=store)


def customer_by_linked_phone(*, store, phone: str, field: str = "phone") -> Customer:
    """The customer whose *linked* phone this is. Invalid phone → 422; unlinked → 404 phone_not_linked."""
    return _customer_fetch(_phone_lookup(phone, field=field), store=store)


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
    lookup = customer_lookup(customer_id=customer_id, customer_phone=customer_phone)
    if lookup is None:
        if required:
            raise DomainError("Identify the customer with customerId or customerPhone", status=400, code="bad_request")
        return None
    return _customer_fetch(lookup, store=store)


def product_price_quote_for(*, store, product_id, lookup: CustomerLookup) -> dict:
    """GET /products/:id/price?customerId|customerPhone: the customer, the product, its variations and the
    customer's tier prices in ONE statement (wallets/sql.py QUOTE_BY_*). An unknown product is 404 before
    an unknown customer; the prices are catalog's (catalog.selectors.price_quote_from_rows)."""
    product_id = Product._meta.pk.to_python(product_id)
    statement = sql.QUOTE_BY_LINKED_PHONE if lookup.by_phone else sql.QUOTE_BY_CUSTOMER_ID
    with prepared_cursor() as cursor:
        cursor.execute(statement, [store.pk, lookup.value, store.pk, product_id])
        rows = cursor.fetchall()
    customer = None
    if rows:
        customer = _customer_from_row(rows[0], store=store)
        if customer is None:
            raise lookup.missing()
    split = sql.CUSTOMER_AND_TIER_COLUMNS
    return price_quote_from_rows(store=store, product_id=product_id, customer=customer, rows=[r[split:] for r in rows])


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
