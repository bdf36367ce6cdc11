"""Every write to a wallet. The only code that touches balances.

Each function locks the wallet row (SELECT ... FOR NO KEY UPDATE), appends one ledger entry
and sets the balance, in one transaction (joining the caller's, e.g. order placement).
"""

from decimal import Decimal
from uuid import UUID

from django.db import transaction

from nuvlyx.api.errors import ApiError
from nuvlyx.core.events import emit
from nuvlyx.core.money import MAX_BALANCE, format_amount
from nuvlyx.core.timeutil import format_datetime, now

from .errors import InsufficientBalance
from .models import Customer, LedgerEntry, Wallet


def wallet_lock(*, customer: Customer) -> Wallet:
    """Lock (creating if missing) the customer's wallet row for the rest of the transaction."""
    wallet = Wallet.objects.select_for_update(no_key=True).filter(customer_id=customer.pk).first()
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
            f"{format_amount(-amount)} needed. Recharge the wallet and retry."
        )
    if new_balance > MAX_BALANCE:
        raise ApiError("The wallet balance would exceed its maximum", status=422, code="validation_error",
                       errors=[{"field": "amount", "message": "The resulting balance is too large."}])
    entry = LedgerEntry.objects.create(
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
    wallet.balance = new_balance
    wallet.updated_at = entry.created_at
    Wallet.objects.filter(pk=wallet.pk).update(balance=new_balance, updated_at=entry.created_at)
    return entry


def recharge_payload(*, customer: Customer, entry: LedgerEntry, currency: str) -> dict:
    """The recharge response body (API.md), also the wallet.recharged event's data."""
    return {
        "transactionId": str(entry.pk),
        "customerId": str(customer.pk),
        "amount": format_amount(entry.amount),
        "newBalance": format_amount(entry.balance_after),
        "currency": currency,
        "createdAt": format_datetime(entry.created_at),
    }


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
        raise ApiError("Amount must be greater than zero", status=422, code="validation_error",
                       errors=[{"field": "amount", "message": "Must be greater than zero."}])
    wallet = wallet_lock(customer=customer)
    entry = _append(
        wallet=wallet, kind=kind, amount=amount, reference=reference, note=note,
        actor_token_id=actor_token_id, actor_user=actor_user,
    )
    data = recharge_payload(customer=customer, entry=entry, currency=customer.store.currency)
    data.update(
        {
            "reference": entry.reference or None,
            "note": entry.note or None,
            "customer": {"id": str(customer.pk), "name": customer.name, "phone": customer.phone},
        }
    )
    emit(store=customer.store, type="wallet.recharged", data=data)
    return entry


@transaction.atomic
def wallet_debit(
    *,
    customer: Customer,
    amount: Decimal,
    order_id: UUID | None = None,
    note: str = "",
    actor_token_id: UUID | None = None,
    actor_user=None,
    kind: str = LedgerEntry.Kind.PURCHASE,
) -> LedgerEntry:
    """Debit a wallet; InsufficientBalance (400) when it cannot cover the amount."""
    if amount <= 0:
        raise ValueError("debit amount must be positive")
    wallet = wallet_lock(customer=customer)
    return _append(
        wallet=wallet, kind=kind, amount=-amount, order_id=order_id, note=note,
        actor_token_id=actor_token_id, actor_user=actor_user,
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
    wallet = wallet_lock(customer=customer)
    return _append(
        wallet=wallet, kind=LedgerEntry.Kind.REFUND, amount=amount, order_id=order_id, note=note,
        actor_token_id=actor_token_id, actor_user=actor_user,
    )


def wallet_balance_at(*, customer: Customer) -> Decimal:
    return Wallet.objects.filter(customer_id=customer.pk).values_list("balance", flat=True).first() or Decimal("0.00")


__all__ = ["wallet_lock", "wallet_recharge", "wallet_debit", "wallet_refund", "recharge_payload", "now"]
