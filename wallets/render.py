"""The shapes of customers and wallets (API.md "Customers and wallets"), each built by one function here.

The API, the customer.created and wallet.recharged events (and so the WhatsApp parameters read from
them) all come from these. Values are formatted by nuvlyx.core.formats.
"""

from decimal import Decimal

from catalog.render import tier
from nuvlyx.core.formats import format_amount, format_datetime, format_id

from .models import Customer, LedgerEntry, Wallet


def customer(customer: Customer) -> dict:
    """The Customer (GET/POST/PATCH /customers…, the customer.created event). Its tier must be loaded."""
    price_tier = customer.tier
    return {
        "id": format_id(customer.pk),
        "name": customer.name,
        "email": customer.email or None,
        "phone": customer.phone or None,
        "phoneLinked": customer.phone_linked,
        "phoneLinkedAt": format_datetime(customer.phone_linked_at),
        "tier": None if price_tier is None else tier(format_id(price_tier.pk), price_tier.name, price_tier.level),
        "createdAt": format_datetime(customer.created_at),
    }


def wallet(customer: Customer, wallet: Wallet | None, *, currency: str) -> dict:
    """GET /customers/:id/wallet; a customer without a wallet row has a zero balance."""
    return {
        "customerId": format_id(customer.pk),
        "balance": format_amount(wallet.balance if wallet else Decimal("0.00")),
        "currency": currency,
        "updatedAt": format_datetime(wallet.updated_at if wallet else customer.created_at),
    }


def ledger_entry(entry: LedgerEntry) -> dict:
    """One row of GET /customers/:id/wallet/transactions."""
    return {
        "id": format_id(entry.pk),
        "type": entry.kind,
        "amount": format_amount(entry.amount),
        "balanceAfter": format_amount(entry.balance_after),
        "reference": entry.reference or None,
        "note": entry.note or None,
        "orderId": format_id(entry.order_id),
        "createdAt": format_datetime(entry.created_at),
    }


def recharge(*, customer: Customer, entry: LedgerEntry, currency: str) -> dict:
    """The answer of POST /customers/:id/wallet/recharge."""
    return {
        "transactionId": format_id(entry.pk),
        "customerId": format_id(customer.pk),
        "amount": format_amount(entry.amount),
        "newBalance": format_amount(entry.balance_after),
        "currency": currency,
        "createdAt": format_datetime(entry.created_at),
    }


def recharge_event(*, customer: Customer, entry: LedgerEntry, currency: str) -> dict:
    """The wallet.recharged event's data: the recharge answer's keys (same order), then the reference,
    the note and the customer (for the WhatsApp message)."""
    data = recharge(customer=customer, entry=entry, currency=currency)
    data["reference"] = entry.reference or None
    data["note"] = entry.note or None
    data["customer"] = {"id": format_id(customer.pk), "name": customer.name, "phone": customer.phone}
    return data
