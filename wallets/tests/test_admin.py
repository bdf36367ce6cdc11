"""The owner's admin pages: customers with tier and balance, the recharge form, the read-only ledger."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from catalog.tests.factories import make_tier
from nuvlyx.core.models import StoreMember
from wallets.models import Customer, LedgerEntry, Wallet
from wallets.tests.factories import PHONE, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, store):
    user = get_user_model().objects.create_user("owner", "owner@example.com", "pw", is_staff=True)
    StoreMember.objects.create(store=store, user=user)
    client.force_login(user)
    client.user = user
    return client


def test_customer_list_shows_tier_and_balance_without_n_plus_1(
    owner_client, store, other_store, django_assert_max_num_queries
):
    gold = make_tier(store, "Gold")
    make_customer(store, name="Ana", phone=PHONE, tier=gold, balance="1234.50")
    make_customer(other_store, name="Foreign", balance="9.00")
    url = reverse("admin:wallets_customer_changelist")
    resp = owner_client.get(url)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Ana" in html and "Gold" in html and "$\xa01.234,50" in html  # the store's format (es-CO)
    assert "Foreign" not in html
    for i in range(10):
        make_customer(store, name=f"c{i}", tier=gold, balance="1.00")
    with django_assert_max_num_queries(12):
        assert owner_client.get(url).status_code == 200


def test_recharge_form_calls_the_service(owner_client, store):
    customer = make_customer(store, balance="10.00")
    url = reverse("admin:wallets_customer_recharge", args=[customer.pk])
    assert owner_client.get(url).status_code == 200
    resp = owner_client.post(url, {"amount": "1,0001", "note": "x"})  # es-CO: "," is the decimal mark
    assert resp.status_code == 200 and "At most 2 decimal places" in resp.content.decode()
    resp = owner_client.post(url, {"amount": "25.00", "note": "x"})  # "." groups thousands in es-CO: 25.000?
    assert resp.status_code == 200 and "Ambiguous" in resp.content.decode()
    resp = owner_client.post(url, {"amount": "25,00", "note": "cash at the shop"})
    assert resp.status_code == 302
    assert Wallet.objects.get(customer=customer).balance == Decimal("35.00")
    entry = LedgerEntry.objects.filter(wallet_id=customer.pk).latest("created_at")
    assert entry.kind == "RECHARGE" and entry.note == "cash at the shop" and entry.actor_user == owner_client.user


def test_adjust_form_refuses_going_below_zero(owner_client, store):
    customer = make_customer(store, balance="10.00")
    url = reverse("admin:wallets_customer_adjust", args=[customer.pk])
    resp = owner_client.post(url, {"amount": "-11", "note": "oops"})
    # the service's refusal in the owner's words, amounts in the store's format
    assert resp.status_code == 200
    assert "Insufficient balance: $\xa010 available, $\xa011 needed." in resp.content.decode()
    assert owner_client.post(url, {"amount": "-4", "note": "fix"}).status_code == 302
    assert Wallet.objects.get(customer=customer).balance == Decimal("6.00")


def test_other_stores_customer_is_404_in_the_admin(owner_client, other_store):
    foreign = make_customer(other_store, balance="5.00")
    for name in ("admin:wallets_customer_recharge", "admin:wallets_customer_adjust"):
        assert owner_client.post(reverse(name, args=[foreign.pk]), {"amount": "1.00"}).status_code == 404
    change = owner_client.get(reverse("admin:wallets_customer_change", args=[foreign.pk]))
    assert change.status_code == 404
    assert Wallet.objects.get(customer=foreign).balance == Decimal("5.00")


def test_ledger_is_read_only_in_the_admin(owner_client, store):
    customer = make_customer(store, balance="5.00")
    entry = LedgerEntry.objects.get(wallet_id=customer.pk)
    assert owner_client.get(reverse("admin:wallets_ledgerentry_changelist")).status_code == 200
    assert owner_client.get(reverse("admin:wallets_ledgerentry_add")).status_code == 403
    assert owner_client.get(reverse("admin:wallets_ledgerentry_delete", args=[entry.pk])).status_code == 403
    change_url = reverse("admin:wallets_ledgerentry_change", args=[entry.pk])
    assert owner_client.get(change_url).status_code == 200  # view only
    owner_client.post(change_url, {"amount": "999.00", "kind": "RECHARGE"})
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("5.00")


def test_add_customer_in_admin_links_phone_and_creates_wallet(owner_client, store):
    resp = owner_client.post(
        reverse("admin:wallets_customer_add"),
        {"name": "Nuevo", "email": "", "phone": PHONE, "link_phone": "on", "tier": ""},
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    customer = Customer.objects.get(name="Nuevo")
    assert customer.store_id == store.pk and customer.phone_linked
    assert Wallet.objects.get(customer=customer).balance == 0
    # a second customer with the same linked phone is refused by the form
    resp = owner_client.post(
        reverse("admin:wallets_customer_add"),
        {"name": "Dup", "email": "", "phone": PHONE, "link_phone": "on", "tier": ""},
    )
    assert resp.status_code == 200 and "already linked" in resp.content.decode()


def test_change_customer_in_admin_goes_through_the_service(owner_client, store):
    customer = make_customer(store, name="Ana", phone=PHONE, balance="3.00")
    url = reverse("admin:wallets_customer_change", args=[customer.pk])
    page = owner_client.get(url)
    assert page.status_code == 200
    assert "$\xa03" in page.content.decode() and "Recharge" in page.content.decode()
    resp = owner_client.post(url, {"name": "Ana María", "email": "a@example.com", "phone": PHONE, "tier": ""})
    assert resp.status_code == 302, resp.content.decode()[:3000]
    customer.refresh_from_db()
    assert customer.name == "Ana María" and customer.phone == PHONE and not customer.phone_linked  # unchecked
    assert Wallet.objects.get(customer=customer).balance == Decimal("3.00")
