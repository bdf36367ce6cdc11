"""Wallets test data: customers made by the real service (wallet row, customer.created event), funded
by the real recharge (a ledger entry), never by writing balances directly."""

from decimal import Decimal

import factory

from wallets.models import Customer
from wallets.services import customer_create, wallet_recharge

PHONE = "+573001234567"
PHONE_2 = "+573001234568"


class CustomerFactory(factory.django.DjangoModelFactory):
    """CustomerFactory(store=..., phone=..., linked=True, balance="25000.00")."""

    class Meta:
        model = Customer

    name = "Juan Pérez"
    email = ""
    phone = None
    tier = None
    linked = True
    balance = None

    @classmethod
    def _create(cls, model_class, *, store, name, email, phone, tier, linked, balance, **kwargs):
        customer = customer_create(store=store, name=name, email=email, phone=phone, tier=tier, link_phone=linked)
        if balance is not None and Decimal(balance) > 0:
            wallet_recharge(customer=customer, amount=Decimal(balance), note="test funding")
        customer._state.fields_cache.pop("wallet", None)  # `customer.wallet` reads the row as it is then
        return customer


def make_customer(store, **kwargs) -> Customer:
    """A customer of `store` (CustomerFactory's fields: name, email, phone, tier, linked, balance)."""
    return CustomerFactory(store=store, **kwargs)
