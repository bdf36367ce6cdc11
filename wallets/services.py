"""Every write to a wallet. The only code that touches balances.

Each function locks the wallet row (SELECT ... FOR NO KEY UPDATE), appends one ledger entry
and sets the balance, in one transaction (joining the caller's, e.g. order placement).
"""

from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_noop  # owner messages: translated where the owner reads them

from nuvlyx.core.errors import Conflict, DomainError, InsufficientBalance
from nuvlyx.core.events import emit
from nuvlyx.core.money import MAX_BALANCE, format_amount
from nuvlyx.core.phones import normalize_phone
from nuvlyx.core.sql import prepared_cursor
from nuvlyx.core.timeutil import now

from . import render, sql
from .models import Customer, LedgerEntry, Wallet

UNSET: Any = object()
PHONE_CONFLICT = "Another customer of this store has already linked the phone {phone}"
# The notes the system writes on ledger entries (the API shows them as written; the owner's panel
# translates them: wallets.admin.note_for_owner). `{order}` is the order number.
NOTE_ORDER_PAYMENT = "Order payment"
NOTE_REFUND = "Refund of {order}"
NOTE_CANCELLATION = "Cancellation of {order}"


# --- customers ---------------------------------------------------------------------------------


def _check_tier(store, tier) -> None:
    if tier is not None and tier.store_id != store.pk:
        raise ValueError("the price tier belongs to another store")


def _check_phone_free(*, customer: Customer) -> None:
    """409 when another customer of the store has this phone linked (the DB constraint backs it up)."""
    if customer.phone is None or customer.phone_linked_at is None:
        return
    clash = (
        Customer.objects.filter(store_id=customer.store_id, phone=customer.phone, phone_linked_at__isnull=False)
        .exclude(pk=customer.pk)
        .exists()
    )
    if clash:
        raise Conflict(PHONE_CONFLICT.format(phone=customer.phone))


def _save_customer(customer: Customer, *, force_insert: bool = False) -> None:
    _check_phone_free(customer=customer)
    try:
        with transaction.atomic():
            customer.save(force_insert=force_insert)
    except IntegrityError as exc:  # a concurrent writer linked the same phone first
        if "wallets_customer_linked_phone" in str(exc):
            raise Conflict(PHONE_CONFLICT.format(phone=customer.phone)) from None
        raise


@transaction.atomic
def customer_create(
    *,
    store,
    name: str,
    email: str = "",
    phone: str | None = None,
    tier=None,
    link_phone: bool = True,
) -> Customer:
    """Create a customer and their empty wallet. A phone given here is linked (API.md). Emits customer.created."""
    _check_tier(store, tier)
    phone = normalize_phone(phone) if phone else None
    customer = Customer(store=store, name=name, email=email or "", phone=phone, tier=tier)
    if phone and link_phone:
        customer.phone_linked_at = now()
    _save_customer(customer, force_insert=True)
    Wallet.objects.create(customer=customer, store_id=store.pk, balance=Decimal("0.00"))
    emit(store=store, type="customer.created", data=render.customer(customer))
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    name: str = UNSET,
    email: str | None = UNSET,
    phone: str | None = UNSET,
    tier=UNSET,
    link_phone: bool = True,
) -> Customer:
    """Change a customer. A new phone is linked (when link_phone); phone=None unlinks and clears it."""
    if name is not UNSET:
        customer.name = name
    if email is not UNSET:
        customer.email = email or ""
    if tier is not UNSET:
        _check_tier(customer.store, tier)
        customer.tier = tier
    if phone is not UNSET:
        phone = normalize_phone(phone) if phone else None
        if phone is None:
            customer.phone, customer.phone_linked_at = None, None
        else:
            if phone != customer.phone:
                customer.phone_linked_at = None
            customer.phone = phone
            if link_phone and customer.phone_linked_at is None:
                customer.phone_linked_at = now()
            elif not link_phone:
                customer.phone_linked_at = None
    _save_customer(customer)
    return customer


def wallet_ensure(*, customer: Customer) -> Wallet:
    """The customer's wallet row, created at 0.00 when missing (e.g. a customer made in the admin)."""
    wallet, _ = Wallet.objects.get_or_create(customer_id=customer.pk, defaults={"store_id": customer.store_id})
    return wallet


def _wallet_locked(customer_id) -> Wallet | None:
    # Hand-written: this runs on every order and recharge.
    with prepared_cursor() as cursor:
        cursor.execute(sql.WALLET_LOCK, [customer_id])
        row = cursor.fetchone()
    return Wallet.from_db(connection.alias, sql.WALLET_FIELDS, list(row)) if row else None


def wallet_lock(*, customer: Customer) -> Wallet:
    """Lock (creating if missing) the customer's wallet row for the rest of the transaction."""
    wallet = _wallet_locked(customer.pk)
    if wallet is None:
        Wallet.objects.get_or_create(customer_id=customer.pk, defaults={"store_id": customer.store_id})
        wallet = Wallet.objects.select_for_update(no_key=True).get(customer_id=customer.pk)
    return wallet


def _append(
    *,
    wallet: Wallet,
    kind: str,
    amount: Decimal,
    reference: str = "",
    note: str = "",
    order_id: UUID | None = None,
    actor_token_id: UUID | None = None,
    actor_user=None,
) -> LedgerEntry:
    new_balance = wallet.balance + amount
    if new_balance < 0:
        raise InsufficientBalance(
            f"Insufficient wallet balance: {format_amount(wallet.balance)} available, "
            f"{format_amount(-amount)} needed. Recharge the wallet and retry.",
            owner=(
                gettext_noop("Insufficient balance: %(available)s available, %(needed)s needed."),
                {"available": wallet.balance, "needed": -amount},
            ),
        )
    if new_balance > MAX_BALANCE:
        raise DomainError(
            "The wallet balance would exceed its maximum",
            status=422,
            code="validation_error",
            errors=[{"field": "amount", "message": "The resulting balance is too large."}],
        )
    entry = LedgerEntry(
        store_id=wallet.store_id,
        wallet=wallet,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        reference=reference,
        note=note,
        order_id=order_id,
        actor_token_id=actor_token_id,
        actor_user=actor_user,
    )
    # The two writes of every balance change in one hand-written statement (ORM compilation dominated them).
    with prepared_cursor() as cursor:
        cursor.execute(
            sql.LEDGER_APPEND,
            [getattr(entry, name) for name in sql.LEDGER_FIELDS] + [new_balance, entry.created_at, wallet.pk],
        )
    entry._state.adding = False
    entry._state.db = connection.alias
    wallet.balance = new_balance
    wallet.updated_at = entry.created_at
    return entry


@transaction.atomic
def wallet_recharge(
    *,
    customer: Customer,
    amount: Decimal,
    reference: str = "",
    note: str = "",
    kind: str = LedgerEntry.Kind.RECHARGE,
    actor_token_id: UUID | None = None,
    actor_user=None,
) -> LedgerEntry:
    """Credit a wallet (RECHARGE, or a positive ADJUSTMENT from the admin). Emits wallet.recharged."""
    if amount <= 0:
        raise DomainError(
            "Amount must be greater than zero",
            status=422,
            code="validation_error",
            errors=[{"field": "amount", "message": "Must be greater than zero."}],
        )
    wallet = wallet_lock(customer=customer)
    entry = _append(
        wallet=wallet,
        kind=kind,
        amount=amount,
        reference=reference,
        note=note,
        actor_token_id=actor_token_id,
        actor_user=actor_user,
    )
    data = render.recharge_event(customer=customer, entry=entry, currency=customer.store.currency)
    emit(store=customer.store, type="wallet.recharged", data=data)
    return entry


def wallet_debit(
    *,
    customer: Customer,
    amount: Decimal,
    order_id: UUID | None = None,
    note: str = "",
    actor_token_id: UUID | None = None,
    actor_user=None,
    kind: str = LedgerEntry.Kind.PURCHASE,
    savepoint: bool = True,
) -> LedgerEntry:
    """Debit a wallet; InsufficientBalance (400) when it cannot cover the amount.

    `savepoint=False` for callers whose whole transaction rolls back on any failure (order
    placement): it saves two round trips per call.
    """
    if amount <= 0:
        raise ValueError("debit amount must be positive")
    with transaction.atomic(savepoint=savepoint):
        return _append(
            wallet=wallet_lock(customer=customer),
            kind=kind,
            amount=-amount,
            order_id=order_id,
            note=note,
            actor_token_id=actor_token_id,
            actor_user=actor_user,
        )


@transaction.atomic
def wallet_refund(
    *,
    customer: Customer,
    amount: Decimal,
    order_id: UUID | None = None,
    note: str = "",
    actor_token_id: UUID | None = None,
    actor_user=None,
) -> LedgerEntry:
    """Credit back a purchase (REFUND)."""
    if amount <= 0:
        raise ValueError("refund amount must be positive")
    return _append(
        wallet=wallet_lock(customer=customer),
        kind=LedgerEntry.Kind.REFUND,
        amount=amount,
        order_id=order_id,
        note=note,
        actor_token_id=actor_token_id,
        actor_user=actor_user,
    )


@transaction.atomic
def wallet_adjust(
    *,
    customer: Customer,
    amount: Decimal,
    note: str = "",
    reference: str = "",
    actor_user=None,
    actor_token_id: UUID | None = None,
) -> LedgerEntry:
    """An owner's correction (ADJUSTMENT), positive or negative; never takes the balance below zero."""
    if amount == 0:
        raise ValueError("adjustment amount must not be zero")
    return _append(
        wallet=wallet_lock(customer=customer),
        kind=LedgerEntry.Kind.ADJUSTMENT,
        amount=amount,
        reference=reference,
        note=note,
        actor_token_id=actor_token_id,
        actor_user=actor_user,
    )


def wallet_balance_at(*, customer: Customer) -> Decimal:
    return Wallet.objects.filter(customer_id=customer.pk).values_list("balance", flat=True).first() or Decimal("0.00")


__all__ = [
    "customer_create",
    "customer_update",
    "wallet_adjust",
    "wallet_debit",
    "wallet_ensure",
    "wallet_lock",
    "wallet_recharge",
    "wallet_refund",
]
