"""`manage.py rotate_encryption_key`: re-encrypt every registered secret column under the first key.

Put the new key first in NUVLYX_ENCRYPTION_KEYS (keep the old ones after it), run this, then drop
the old keys. Columns are declared with nuvlyx.core.crypto.register_encrypted_field(). Rows are
walked in primary-key order in batches (keyset pagination), each batch in its own transaction;
values already under the first key are skipped, so an interrupted run can simply be re-run.
A value no configured key can decrypt is left untouched, reported, and makes the exit non-zero.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from nuvlyx.core import crypto
from nuvlyx.core.management.arguments import bounded_int


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column under the first key of NUVLYX_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=bounded_int(1, 100_000), default=500, help="rows per transaction, 1..100000"
        )

    def handle(self, *args, batch_size: int, **options):
        failures_total = 0
        fields = crypto.encrypted_fields()
        if not fields:
            self.stdout.write("No encrypted columns are registered.")
            return
        for label, field_name in fields:
            model = apps.get_model(label)
            counts, failed = self._rotate_column(model, field_name, batch_size)
            failures_total += len(failed)
            self.stdout.write(
                f"{label}.{field_name}: {counts['rotated']} rotated, {counts['current']} already current, "
                f"{counts['empty']} empty, {len(failed)} undecryptable"
            )
            for pk in failed[:100]:
                self.stderr.write(f"  undecryptable: {label} pk={pk}")
            if len(failed) > 100:
                self.stderr.write(f"  ... and {len(failed) - 100} more")
        if failures_total:
            raise CommandError(f"{failures_total} value(s) could not be decrypted with any configured key")

    def _rotate_column(self, model, field_name: str, batch_size: int):
        manager = model._base_manager
        counts = {"rotated": 0, "current": 0, "empty": 0}
        failed: list = []
        last_pk = None
        while True:
            qs = manager.order_by("pk")
            if last_pk is not None:
                qs = qs.filter(pk__gt=last_pk)
            rows = list(qs.values_list("pk", field_name)[:batch_size])
            if not rows:
                break
            last_pk = rows[-1][0]
            with transaction.atomic():
                for pk, value in rows:
                    if not value:
                        counts["empty"] += 1
                        continue
                    if crypto.is_encrypted_with_primary(value):
                        counts["current"] += 1
                        continue
                    try:
                        rotated = crypto.rotate(value)
                    except crypto.DecryptionError:
                        failed.append(pk)
                        continue
                    # Compare-and-set: a value changed meanwhile is left for the next run.
                    counts["rotated"] += manager.filter(pk=pk, **{field_name: value}).update(**{field_name: rotated})
        return counts, failed
