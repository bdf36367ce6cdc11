"""`manage.py import_licenses SLUG SKU FILE`: bulk-load license credentials into a variation's stock.

FILE holds one credential per line, or is a CSV (a `.csv` file, or --format csv) with a
`credentials` column. Lines go through catalog.stock.license_upload (the API's service) in
batches of 1000. Empty lines and values over 4096 characters are rejected with their line number.
A first pass reads the whole file before anything is written: a line that is not UTF-8, or a CSV
that does not parse strictly (an unterminated quote, a stray one), refuses the file, naming the line.
"""

import codecs
import csv
import io
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from catalog.models import Variation
from catalog.stock import MAX_CREDENTIALS_LENGTH, UPLOAD_BATCH_SIZE, license_upload
from nuvlyx.core.management.arguments import bounded_int
from nuvlyx.core.models import Store

csv.field_size_limit(1024 * 1024)

MAX_WORKERS = 32  # each a database connection held for the whole import
MAX_BATCH_SIZE = 100_000


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


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines as text (universal newlines, line endings kept, a leading BOM dropped), decoded
    line by line so that a byte that is not UTF-8 is reported with its line number."""
    number = 0
    with path.open("rb") as handle:
        for raw in handle:
            if number == 0 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CommandError(f"{path}: line {number + 1} is not UTF-8 text ({exc.reason})") from None
            if "\r" in text.rstrip("\r\n"):  # old Mac line ends: split as text mode (newline="") would
                parts = list(io.StringIO(text, newline=""))
            else:
                parts = [text]
            for part in parts:
                number += 1
                yield part


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(_text_lines(path), start=1):
        yield number, line.rstrip("\r\n").strip()


def _csv_rows(path: Path) -> Iterator[tuple[int, str]]:
    # strict: an unterminated or stray quote is an error, not the rest of the file read as one field
    reader = csv.reader(_text_lines(path), strict=True)
    start = 1  # the line the record being read starts on
    try:
        header = next(reader, None) or []
        fields = [name.strip().lower() for name in header]
        if "credentials" not in fields:
            raise CommandError(f"{path}: the CSV has no 'credentials' column")
        column = fields.index("credentials")
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                return
            if not row:
                continue  # a blank line (DictReader skips them too)
            yield reader.line_num, (row[column] if column < len(row) else "").strip()
    except csv.Error as exc:
        raise CommandError(f"{path}: malformed CSV in the record starting on line {start}: {exc}") from None


def _checked(rows: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str, str | None]]:
    """(line, value, why it is rejected or None): the per-line rules, the same in both passes."""
    for number, value in rows:
        if not value:
            yield number, value, "empty"
        elif len(value) > MAX_CREDENTIALS_LENGTH:
            yield number, value, f"longer than {MAX_CREDENTIALS_LENGTH} characters"
        else:
            yield number, value, None


class Command(BaseCommand):
    help = "Import license credentials (one per line, or a CSV with a 'credentials' column) into a variation."

    def add_arguments(self, parser):
        parser.add_argument("store_slug")
        parser.add_argument("sku")
        parser.add_argument("file")
        parser.add_argument("--format", choices=["auto", "lines", "csv"], default="auto")
        parser.add_argument(
            "--batch-size",
            type=bounded_int(1, MAX_BATCH_SIZE),
            default=UPLOAD_BATCH_SIZE,
            help=f"Lines per transaction, 1..{MAX_BATCH_SIZE} (default {UPLOAD_BATCH_SIZE}).",
        )
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--workers",
            type=bounded_int(1, MAX_WORKERS),
            default=2,
            help=f"Batches uploaded in parallel, 1..{MAX_WORKERS} (threads, each its own transaction and "
            "connection; default 2).",
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

        def rows() -> Iterator[tuple[int, str, str | None]]:
            return _checked(_csv_rows(path) if format == "csv" else _lines(path))

        # First pass, nothing written: the whole file must decode and parse (a CommandError naming the
        # line otherwise); it also counts the lines for the progress bar. Streaming: memory stays flat.
        total_lines = 0
        try:
            for number, _, _ in rows():
                total_lines = number
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None

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
            for number, value, why in rows():
                last = number
                if why is not None:
                    rejected.append((number, why))
                else:
                    batch.append(value)
                    if len(batch) >= batch_size:
                        yield number, batch
                        batch = []
            if batch:
                yield last, batch

        lock = threading.Lock()
        try:
            if workers == 1:
                for number, batch in batches():
                    upload(batch)
                    progress.update(number)
            else:
                self._upload_in_parallel(batches(), upload, workers, progress)
        except OSError as exc:  # the file changed or vanished since the first pass
            raise CommandError(f"Cannot read {file}: {exc}") from None
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
