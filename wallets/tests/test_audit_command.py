"""`manage.py wallet_audit`: passes on good data, fails naming every wallet that does not balance.

The live test runs 50 concurrent recharges through a real gunicorn, then audits the committed data.
"""

import concurrent.futures
import io
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from wallets.models import LedgerEntry, Wallet
from wallets.services import wallet_debit
from wallets.tests.factories import make_customer


def audit(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("wallet_audit", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_audit_passes_on_good_data(store, other_store):
    a = make_customer(store, balance="10.00")
    wallet_debit(customer=a, amount=Decimal("2.50"))
    make_customer(store, name="zero")
    make_customer(other_store, balance="3.00")
    out, err = audit()
    assert "3 wallets, 3 ledger entries, total balance 10.50" in out
    assert "OK" in out and err == ""
    out, _ = audit("--store", store.slug)
    assert "2 wallets, 2 ledger entries, total balance 7.50" in out


@pytest.mark.django_db
@pytest.mark.ledger_corrupted_on_purpose
def test_audit_fails_naming_every_corrupted_wallet(store, other_store, django_assert_max_num_queries):
    good = make_customer(store, balance="10.00")
    bad = make_customer(store, name="bad", balance="10.00")
    bad_other = make_customer(other_store, balance="1.00")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wallets_wallet SET balance = balance + 5 WHERE customer_id IN (%s, %s)", [bad.pk, bad_other.pk]
        )
    err = io.StringIO()
    with django_assert_max_num_queries(1), pytest.raises(CommandError) as excinfo:
        call_command("wallet_audit", stdout=io.StringIO(), stderr=err)
    assert excinfo.value.returncode == 1
    assert "2 wallet(s)" in str(excinfo.value)
    text = err.getvalue()
    assert f"customer={bad.pk} store={store.slug} balance=15.00 sum=10.00" in text
    assert f"customer={bad_other.pk} store={other_store.slug} balance=6.00 sum=1.00" in text
    assert str(good.pk) not in text
    # scoped to the other store: only its wallet
    with pytest.raises(CommandError):
        call_command("wallet_audit", "--store", other_store.slug, stdout=io.StringIO(), stderr=(err := io.StringIO()))
    assert str(bad_other.pk) in err.getvalue() and str(bad.pk) not in err.getvalue()


@pytest.mark.django_db
def test_audit_unknown_store_is_an_error(store):
    with pytest.raises(CommandError, match="Unknown store"):
        audit("--store", "no-such-store")


@pytest.mark.django_db
def test_audit_command_line_exit_codes(store):
    """The real process: exit 0 on good data; non-zero with stderr for an unknown store."""
    import subprocess
    import sys

    from conftest import BASE_DIR, subprocess_env

    # rollback-isolated data is invisible to a subprocess, so only the exit paths are checked here
    ok = subprocess.run(
        [sys.executable, "manage.py", "wallet_audit", "--store", "no-such-store"],
        cwd=BASE_DIR,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode != 0
    assert "Unknown store" in ok.stderr


@pytest.mark.live
@pytest.mark.concurrency
@pytest.mark.ledger_corrupted_on_purpose
def test_50_concurrent_recharges_then_audit(live_server_proc, store, make_token):
    # given a customer and a real gunicorn (2 workers × 8 threads) on the committed test database
    customer = make_customer(store, phone="+573001234567")
    token = make_token(store, scopes=["wallet:read", "wallet:write"], rate_limit_per_minute=10000)
    server = live_server_proc()
    url = f"{server.api}/customers/{customer.pk}/wallet/recharge"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    # when 50 clients recharge "1.00" at the same time (half by id, half by phone with %2B)
    def recharge(i: int):
        target = url if i % 2 else f"{server.api}/customers/by-phone/%2B573001234567/wallet/recharge"
        return requests.post(target, data='{"amount": "1.00"}', headers=headers, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(recharge, range(50)))

    # then every one succeeded, the balance is exactly 50.00 with 50 entries, each balance_after distinct
    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses if r.status_code != 201]
    assert Wallet.objects.get(customer=customer).balance == Decimal("50.00")
    entries = LedgerEntry.objects.filter(wallet_id=customer.pk)
    assert entries.count() == 50
    assert sorted(entries.values_list("balance_after", flat=True)) == [Decimal(i) for i in range(1, 51)]
    assert sorted(Decimal(r.json()["newBalance"]) for r in responses) == [Decimal(i) for i in range(1, 51)]
    wallet = requests.get(f"{server.api}/customers/{customer.pk}/wallet", headers=headers, timeout=30).json()
    assert wallet["balance"] == "50.00"

    # and the audit (in-process and as a real command) passes on the committed data
    out, _ = audit()
    assert "OK" in out
    import subprocess
    import sys

    from conftest import BASE_DIR, subprocess_env

    proc = subprocess.run(
        [sys.executable, "manage.py", "wallet_audit"],
        cwd=BASE_DIR,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 wallets, 50 ledger entries, total balance 50.00" in proc.stdout

    # and a corrupted balance makes the real command fail, naming the wallet
    with connection.cursor() as cursor:
        cursor.execute("UPDATE wallets_wallet SET balance = 49.00 WHERE customer_id = %s", [customer.pk])
    proc = subprocess.run(
        [sys.executable, "manage.py", "wallet_audit", "--store", store.slug],
        cwd=BASE_DIR,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert f"customer={customer.pk} store={store.slug} balance=49.00 sum=50.00" in proc.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["", "  "])
def test_audit_refuses_an_empty_store_slug(store, slug):
    """--store "" used to audit every store, as if --store had not been given."""
    make_customer(store, balance="1.00")
    with pytest.raises(CommandError, match="--store needs a store slug"):
        audit("--store", slug)
