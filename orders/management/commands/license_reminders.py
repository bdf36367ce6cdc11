"""manage.py license_reminders [--run] [--days N]: the reminder counters (sent / skipped), or one pass now."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from nuvlyx.core.management.arguments import bounded_int
from nuvlyx.core.timeutil import now
from orders.reminders import reminder_counts, reminders_run

MAX_DAYS = 3650  # ten years; argparse checks the range before --run does anything


class Command(BaseCommand):
    help = (
        "Show how many subscription reminders were sent and how many were skipped because they were more than "
        "a day late (the task was not running); --run emits the due ones now (safe next to beat: exactly once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--run", action="store_true", help="run one reminder pass now")
        parser.add_argument(
            "--days",
            type=bounded_int(0, MAX_DAYS),
            default=1,
            help=f"count the last N days, 0..{MAX_DAYS} (default 1; 0 = ever)",
        )

    def handle(self, *args, run: bool, days: int, **options):
        if run:
            result = reminders_run()
            self.stdout.write(f"this pass: sent={result.sent} skipped={result.skipped}")
        since = now() - timedelta(days=days) if days > 0 else None
        counts = reminder_counts(since=since)
        window = f"last {days} day(s)" if since else "ever"
        self.stdout.write(f"{window}: sent={counts['sent']} skipped={counts['skipped']}")
