"""`manage.py import_licenses SLUG SKU FILE`: bulk-load license credentials into a variation's stock.

FILE holds one credential per line, or is a CSV (a `.csv` file, or --format csv) with a
`credentials` column. Lines go through catalog.stock.license_upload (the API's service) in
batches of 1000. Empty lines and values over 4096 characters are rejected with their line number.
"""

import csv
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from catalog.models import Variation
from catalog.stock import MAX_CREDENTIALS_LENGTH, UPLOAD_BATCH_SIZE, license_upload
from nuvlyx.core.models import Store

csv.field_size_limit(1024 * 1024)


class Progress:
    """A small progress bar on stderr (no dependency)."""

    def __init__(self, stream, total: int, enabled: bool):
        self.stream, self.total, self.enabled = stream, max(total, 1), enabled
        self.started = time.monotonic()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        ratio = min(done / self.total, 1.0)
        filled = int(ratio * 30)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.stream.write(
            ending="",
            msg=f"\r[{'#' * filled}{'.' * (30 - filled)}] {ratio * 100:5.1f}% {done}/{self.total} lines"
            f" ({done / elapsed:,.0f}/s)",
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("")
            self.stream.flush()


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            yield number, line.rstrip("\r\n").strip()


def _csv_rows(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [name.strip().lower() for name in (reader.fieldnames or [])]
        if "credentials" not in fields:
            raise CommandError(f"{path}: the CSV has no 'credentials' column")
        column = (reader.fieldnames or [])[fields.index("credentials")]
        for row in reader:
            yield reader.line_num, (row.get(column) or "").strip()


class Command(BaseCommand):
    help = "Import license credentials (one per line, or a CSV with a 'credentials' column) into a variation."

    def add_arguments(self, parser):
        parser.add_argument("store_slug")
        parser.add_argument("sku")
        parser.add_argument("file")
        parser.add_argument("--format", choices=["auto", "lines", "csv"], default="auto")
        parser.add_argument("--batch-size", type=int, default=UPLOAD_BATCH_SIZE)
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--workers",
            type=int,
            default=2,
            help="Batches uploaded in parallel (threads, each its own transaction and connection; default 2).",
        )

    def handle(self, *args, store_slug, sku, file, format, batch_size, no_progress, workers, **options):
        store = Store.objects.filter(slug=store_slug).first()
        if store is None:
            raise CommandError(f"No store with slug {store_slug!r}")
        variation = Variation.objects.for_store(store).select_related("store").filter(sku=sku).first()
        if variation is None:
            raise CommandError(f"No variation with SKU {sku!r} in store {store_slug!r}")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"File not found: {file}")
        if format == "auto":
            format = "csv" if path.suffix.lower() == ".csv" else "lines"
        try:
            total_lines = sum(1 for _ in path.open("rb"))
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None

        rows = _csv_rows(path) if format == "csv" else _lines(path)
        progress = Progress(self.stderr, total_lines, enabled=not no_progress)
        totals = {"created": 0, "duplicates": 0}
        rejected: list[tuple[int, str]] = []
        started = time.monotonic()

        def upload(values: list[str]) -> None:
            # No look-up of existing hashes: a file is mostly new values; conflicts fall back inside.
            result = license_upload(store=store, variation=variation, credentials=values, check_existing=False)
            with lock:
                totals["created"] += result.created
                totals["duplicates"] += result.duplicates_skipped

        def batches() -> Iterator[tuple[int, list[str]]]:
            batch: list[str] = []
            last = 0
            for number, value in rows:
                last = number
                if not value:
                    rejected.append((number, "empty"))
                elif len(value) > MAX_CREDENTIALS_LENGTH:
                    rejected.append((number, f"longer than {MAX_CREDENTIALS_LENGTH} characters"))
                else:
                    batch.append(value)
                    if len(batch) >= batch_size:
                        yield number, batch
                        batch = []
            if batch:
                yield last, batch

        lock = threading.Lock()
        try:
            if workers <= 1:
                for number, batch in batches():
                    upload(batch)
                    progress.update(number)
            else:
                self._upload_in_parallel(batches(), upload, workers, progress)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not UTF-8 text: {exc.reason}") from None
        progress.update(total_lines)
        progress.close()
        elapsed = time.monotonic() - started
        created, duplicates = totals["created"], totals["duplicates"]
        accepted = created + duplicates

        self.stdout.write(f"Imported into {store.slug} / {variation.sku}:")
        self.stdout.write(f"  created:    {created}")
        self.stdout.write(f"  duplicates: {duplicates}")
        self.stdout.write(f"  rejected:   {len(rejected)}")
        for number, why in rejected[:1000]:
            self.stdout.write(f"    line {number}: {why}")
        if len(rejected) > 1000:
            self.stdout.write(f"    ... and {len(rejected) - 1000} more")
        variation.refresh_from_db(fields=["stock_available"])
        self.stdout.write(f"  available stock: {variation.stock_available}")
        self.stdout.write(f"  {accepted} lines in {elapsed:.2f}s ({accepted / max(elapsed, 1e-6):,.0f} licenses/s)")

    @staticmethod
    def _upload_in_parallel(batches: Iterator[tuple[int, list[str]]], upload: Callable, workers: int, progress) -> None:
        """`workers` threads, each with its own database connection (kept for the whole import), upload
        batches while this thread reads the file: the database's inserts run in parallel on the server,
        while hashing and encryption (a few microseconds per value) stay here."""
        todo: queue.Queue = queue.Queue(maxsize=workers * 2)
        done_line = [0]  # the highest line number of an uploaded batch
        errors: list[BaseException] = []
        stop = object()

        def work() -> None:
            try:
                while (item := todo.get()) is not stop:
                    if errors:
                        continue  # drain: another worker failed
                    number, batch = item
                    try:
                        upload(batch)
                    except BaseException as exc:  # re-raised by the main thread
                        errors.append(exc)
                        continue
                    done_line[0] = max(done_line[0], number)
            finally:
                connections.close_all()  # this thread's own connection

        threads = [threading.Thread(target=work, name=f"import-{i}", daemon=True) for i in range(workers)]
        for thread in threads:
            thread.start()
        try:
            for item in batches:
                if errors:
                    break
                todo.put(item)
                if done_line[0]:
                    progress.update(done_line[0])
        finally:
            for _ in threads:
                todo.put(stop)
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
