"""Test data for wallets, made through the real services (never by writing balances directly)."""

from decimal import Decimal

from catalog.models import PriceTier
from wallets.models import Customer
from wallets.services import customer_create, wallet_recharge

PHONE = "+573001234567"
PHONE_2 = "+573001234568"


def make_customer(
    store,
    *,
    name: str = "Juan Pérez",
    phone: str | None = None,
    email: str = "",
    tier=None,
    link_phone: bool = True,
    balance: str | None = None,
) -> Customer:
    customer = customer_create(store=store, name=name, email=email, phone=phone, tier=tier, link_phone=link_phone)
    if balance is not None:
        wallet_recharge(customer=customer, amount=Decimal(balance), note="test funding")
    return customer


def make_tier(store, *, name: str = "Gold", level: int = 2) -> PriceTier:
    return PriceTier.objects.create(store=store, name=name, level=level)
