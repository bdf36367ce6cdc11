"""The ledger never lies: append-only (model + database trigger), balance = sum(entries), never negative."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Sum

from nuvlyx.core.errors import InsufficientBalance
from wallets.models import LedgerEntry, Wallet
from wallets.services import wallet_adjust, wallet_debit, wallet_recharge, wallet_refund
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def ledger_sum(customer) -> Decimal:
    return LedgerEntry.objects.filter(wallet_id=customer.pk).aggregate(s=Sum("amount"))["s"] or Decimal("0")


def test_services_keep_balance_equal_to_sum_of_entries(store):
    customer = make_customer(store)
    wallet_recharge(customer=customer, amount=Decimal("100.00"))
    wallet_debit(customer=customer, amount=Decimal("30.50"))
    wallet_refund(customer=customer, amount=Decimal("10.00"))
    wallet_adjust(customer=customer, amount=Decimal("-4.50"), note="typo fix")
    wallet_adjust(customer=customer, amount=Decimal("0.01"))
    wallet = Wallet.objects.get(customer=customer)
    assert wallet.balance == Decimal("75.01") == ledger_sum(customer)
    kinds = list(LedgerEntry.objects.filter(wallet=wallet).order_by("created_at", "id").values_list("kind", flat=True))
    assert sorted(kinds) == sorted(["RECHARGE", "PURCHASE", "REFUND", "ADJUSTMENT", "ADJUSTMENT"])


def test_balance_never_goes_below_zero(store):
    customer = make_customer(store, balance="10.00")
    with pytest.raises(InsufficientBalance):
        wallet_debit(customer=customer, amount=Decimal("10.01"))
    with pytest.raises(InsufficientBalance):
        wallet_adjust(customer=customer, amount=Decimal("-10.01"))
    wallet_adjust(customer=customer, amount=Decimal("-10.00"))
    assert Wallet.objects.get(customer=customer).balance == 0 == ledger_sum(customer)


def test_database_check_refuses_negative_balance(store):
    customer = make_customer(store)
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=customer.pk).update(balance=Decimal("-1.00"))


def test_adjust_refuses_zero(store):
    customer = make_customer(store)
    with pytest.raises(ValueError):
        wallet_adjust(customer=customer, amount=Decimal("0"))


def test_entries_cannot_be_updated_or_deleted_through_the_model(store):
    customer = make_customer(store, balance="5.00")
    entry = LedgerEntry.objects.get(wallet_id=customer.pk)
    entry.amount = Decimal("500.00")
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.amount == Decimal("5.00")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE wallets_ledgerentry SET amount = 999 WHERE wallet_id = %s",
        "DELETE FROM wallets_ledgerentry WHERE wallet_id = %s",
    ],
)
def test_database_trigger_refuses_raw_update_and_delete(store, sql):
    customer = make_customer(store, balance="5.00")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [customer.pk])
    assert LedgerEntry.objects.filter(wallet_id=customer.pk).values_list("amount", flat=True).get() == Decimal("5.00")
