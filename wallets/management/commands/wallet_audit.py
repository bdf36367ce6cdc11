"""`manage.py wallet_audit [--store SLUG]`: every wallet's balance equals the sum of its ledger and is not negative.

One aggregate query over all wallets (LEFT JOIN the ledger, GROUP BY wallet), never one query per wallet.
Exits 0 when everything balances; otherwise prints every mismatching wallet and exits 1.
"""

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, DecimalField, Sum, Value
from django.db.models.functions import Coalesce

from nuvlyx.core.models import Store
from nuvlyx.core.money import format_amount
from wallets.models import Wallet


class Command(BaseCommand):
    help = "Check that every wallet balance equals the sum of its ledger entries and is never negative."

    def add_arguments(self, parser):
        parser.add_argument("--store", metavar="SLUG", help="Audit only this store's wallets.")

    def handle(self, *args, **options):
        wallets = Wallet.objects.all()
        if options["store"] is not None:  # given: an empty slug is a mistake, not "every store"
            if not options["store"].strip():
                raise CommandError("--store needs a store slug (omit --store to audit every store)")
            store = Store.objects.filter(slug=options["store"]).first()
            if store is None:
                raise CommandError(f"Unknown store: {options['store']!r}")
            wallets = wallets.filter(store_id=store.pk)
        rows = (
            wallets.annotate(
                ledger_sum=Coalesce(Sum("entries__amount"), Value(Decimal("0.00")), output_field=DecimalField()),
                entry_count=Count("entries"),
            )
            .values("customer_id", "store__slug", "balance", "ledger_sum", "entry_count")
            .order_by("store__slug", "customer_id")
        )
        count, entries, total_balance, bad = 0, 0, Decimal("0.00"), []
        for r in rows.iterator(chunk_size=2000):
            count += 1
            entries += r["entry_count"]
            total_balance += r["balance"]
            if r["balance"] != r["ledger_sum"] or r["balance"] < 0:
                bad.append(r)
        self.stdout.write(
            f"wallet_audit: {count} wallets, {entries} ledger entries, total balance {format_amount(total_balance)}"
        )
        if not bad:
            self.stdout.write(self.style.SUCCESS("wallet_audit: OK, every balance equals the sum of its ledger"))
            return
        for r in bad:
            problem = "negative balance" if r["balance"] < 0 else "balance != sum(entries)"
            self.stderr.write(
                f"MISMATCH customer={r['customer_id']} store={r['store__slug']} balance={format_amount(r['balance'])} "
                f"sum={format_amount(r['ledger_sum'])} ({problem})"
            )
        raise CommandError(f"wallet_audit: {len(bad)} wallet(s) do not balance", returncode=1)
