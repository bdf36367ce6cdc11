"""License stock: uploading encrypted credentials and taking them for orders.

The Variation counters (stock_available / stock_delivered) change only here, in the same
transaction as the License rows they count, with F() expressions, so they always equal
the real counts.
"""

import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext_noop  # owner messages: translated where the owner reads them
from psycopg.errors import UniqueViolation

from nuvlyx.core.crypto import encrypt_many, keyed_hash, keyed_hasher
from nuvlyx.core.errors import OutOfStock
from nuvlyx.core.events import emit
from nuvlyx.core.sql import prepared_cursor
from nuvlyx.core.timeutil import now

from . import render, sql
from .filters import StockFilter
from .models import License, Variation

UPLOAD_BATCH_SIZE = 1000
MAX_CREDENTIALS_LENGTH = 4096
HASH_PURPOSE = "license"


@dataclass(frozen=True)
class UploadResult:
    variation_id: object
    created: int
    duplicates_skipped: int
    available_stock: int


def credentials_hash(value: str) -> str:
    """Keyed HMAC (key derived from SECRET_KEY), never a bare hash of the secret."""
    return keyed_hash(value, purpose=HASH_PURPOSE)


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@transaction.atomic
def license_upload(*, store, variation: Variation, credentials: list[str], check_existing: bool = True) -> UploadResult:
    """Encrypt and store credentials for one variation, skipping duplicates (already in stock or repeated).

    Counts what was really inserted (a concurrent upload of the same value is skipped by the
    unique (variation, credentials_hash) constraint) and bumps the counters by exactly that.
    `check_existing=False` (bulk imports of mostly new values) skips the look-up of existing hashes:
    the insert is attempted directly and a conflict falls back to INSERT ... ON CONFLICT DO NOTHING,
    so the outcome and the counts are the same either way.
    """
    if variation.store_id != getattr(store, "pk", store):
        raise ValueError("variation does not belong to this store")
    digest_of = keyed_hasher(HASH_PURPOSE)
    unique: dict[str, str] = {}
    for value in credentials:
        if not isinstance(value, str) or not value or len(value) > MAX_CREDENTIALS_LENGTH:
            raise ValueError("each credential must be a non-empty string of at most 4096 characters")
        unique.setdefault(digest_of(value), value)

    # Sorted: concurrent uploads insert (and lock) unique-index entries in the same order, never deadlocking.
    digests = sorted(unique)
    if check_existing:
        existing = _existing_hashes(variation.pk, digests)
        digests = [digest for digest in digests if digest not in existing]

    created = 0
    stamp = now()
    for batch in _chunks(digests, UPLOAD_BATCH_SIZE):
        tokens = encrypt_many([unique[digest] for digest in batch])
        created += _insert_licenses(variation, list(zip(batch, tokens, strict=True)), stamp)

    if created:
        Variation.objects.filter(pk=variation.pk).update(
            stock_available=F("stock_available") + created, updated_at=now()
        )
        # Back at or above the threshold: the next drop below it notifies again.
        Variation.objects.filter(
            pk=variation.pk, low_stock_notified=True, stock_available__gte=F("low_stock_threshold")
        ).update(low_stock_notified=False)
    available = Variation.objects.filter(pk=variation.pk).values_list("stock_available", flat=True).get()
    return UploadResult(
        variation_id=variation.pk,
        created=created,
        duplicates_skipped=len(credentials) - created,
        available_stock=available,
    )


def _existing_hashes(variation_id, digests: list[str]) -> set[str]:
    existing: set[str] = set()
    for batch in _chunks(digests, UPLOAD_BATCH_SIZE * 10):
        # one array parameter instead of thousands
        qs = License.objects.filter(variation_id=variation_id).extra(  # noqa: S610 - a name from _meta; the value is a parameter
            where=[sql.LICENSE_HASH_IN_ARRAY], params=[list(batch)]
        )
        existing.update(qs.values_list("credentials_hash", flat=True))
    return existing


# COPY ... (FORMAT BINARY): signature, flags, header extension length; then per row the field count and
# (length, bytes) per field; -1 ends the data. No text parsing on the server, no formatting here.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_END = struct.pack(">h", -1)
_ROW_START = struct.pack(">hi", 7, 16)  # 7 fields; the first (id) is a 16-byte uuid
_HASH_LENGTH = struct.pack(">i", 64)  # hex HMAC-SHA256
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_UUID4_MASK = bytes([0xFF] * 6 + [0x0F, 0xFF, 0x3F] + [0xFF] * 7)  # version and variant bits cleared...
_UUID4_BITS = bytes([0] * 6 + [0x40, 0, 0x80] + [0] * 7)  # ...and set to version 4, RFC 4122 variant


def _uuid4_bytes(count: int) -> bytes:
    """`count` random version-4 UUIDs (16 bytes each) from one os.urandom call, masked all at once."""
    value = int.from_bytes(os.urandom(16 * count), "big")
    value = value & int.from_bytes(_UUID4_MASK * count, "big") | int.from_bytes(_UUID4_BITS * count, "big")
    return value.to_bytes(16 * count, "big")


def _copy_payload(variation: Variation, rows: list[tuple[str, str]], stamp: datetime) -> bytes:
    """COPY binary data for (hash, token) rows: id, credentials_hash, credentials_encrypted, store_id,
    variation_id, status, created_at (timestamptz = microseconds since 2000-01-01 UTC)."""
    status = License.Status.AVAILABLE.encode("ascii")
    micros = (stamp - _PG_EPOCH) // timedelta(microseconds=1)
    tail = b"".join(
        [
            struct.pack(">i", 16),
            UUID(str(variation.store_id)).bytes,
            struct.pack(">i", 16),
            UUID(str(variation.pk)).bytes,
            struct.pack(">i", len(status)),
            status,
            struct.pack(">iq", 8, micros),
        ]
    )
    ids = _uuid4_bytes(len(rows))
    pack_length = struct.Struct(">i").pack
    parts = [_COPY_SIGNATURE]
    for index, (digest, token) in enumerate(rows):
        encrypted = token.encode("ascii")
        parts += (
            _ROW_START,
            ids[16 * index : 16 * index + 16],
            _HASH_LENGTH,
            digest.encode("ascii"),
            pack_length(len(encrypted)),
            encrypted,
            tail,
        )
    parts.append(_COPY_END)
    return b"".join(parts)


def _insert_licenses(variation: Variation, rows: list[tuple[str, str]], stamp: datetime) -> int:
    """Insert (hash, ciphertext) rows (sorted by hash), skipping unique conflicts; returns how many were inserted.

    PostgreSQL: COPY (binary) straight into the table inside a savepoint (no per-row SQL at all); a unique
    conflict (the value is already in stock, or a concurrent upload has it) rolls the savepoint back
    and the batch goes through INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING, which
    skips exactly the conflicting rows.
    """
    if not rows:
        return 0
    payload = _copy_payload(variation, rows, stamp)
    try:
        with transaction.atomic(), connection.cursor() as cursor, cursor.copy(sql.LICENSE_COPY) as copy:
            copy.write(payload)
        return len(rows)
    except (IntegrityError, UniqueViolation):
        pass  # rolled back to the savepoint: insert again, skipping the conflicting rows
    with connection.cursor() as cursor:
        cursor.execute(
            sql.LICENSE_INSERT_SKIPPING_DUPLICATES,
            [
                variation.store_id,
                variation.pk,
                License.Status.AVAILABLE,
                stamp,
                [uuid4() for _ in rows],
                [row[0] for row in rows],
                [row[1] for row in rows],
            ],
        )
        return cursor.rowcount


def expiry_for(variation: Variation, delivered_at: datetime) -> datetime | None:
    if variation.duration_days:
        return delivered_at + timedelta(days=variation.duration_days)
    return None


def license_take(*, variation: Variation, quantity: int, delivered_at: datetime | None = None) -> list[License]:
    """Take `quantity` AVAILABLE licenses (oldest first), mark them DELIVERED, move the counters.

    Must run inside the caller's transaction. Licenses are locked with FOR UPDATE SKIP LOCKED, so
    concurrent orders never wait on, or get, the same license; OutOfStock (400) when fewer than
    `quantity` are free. Then the variation's counters move (F() expressions, which lock its row)
    and inventory.low_stock is emitted once when available stock falls below the threshold.
    Callers taking several variations do so in variation id order (after locking the wallet),
    so row locks are always acquired in the same order.
    """
    if quantity <= 0:
        return []
    delivered_at = delivered_at or now()
    expires_at = expiry_for(variation, delivered_at)
    licenses = _take(variation=variation, quantity=quantity, delivered_at=delivered_at, expires_at=expires_at)
    if len(licenses) < quantity:
        # The caller's transaction rolls back, undoing any license marked above.
        raise OutOfStock(
            f"Out of stock: {variation.sku} has fewer than {quantity} license(s) available",
            owner=(
                gettext_noop("Out of stock: %(sku)s has fewer than %(quantity)s license(s) available."),
                {"sku": variation.sku, "quantity": quantity},
            ),
        )
    return licenses


def _take(*, variation, quantity: int, delivered_at, expires_at) -> list[License]:
    """Lock (SKIP LOCKED) and deliver, and move the variation's counters when all `quantity` were taken: one
    statement (sql.LICENSE_TAKE_COUNTED). Fewer licenses than `quantity` → the caller raises OutOfStock."""
    params = [License.Status.DELIVERED, delivered_at, expires_at, variation.pk, License.Status.AVAILABLE, quantity]
    with prepared_cursor() as cursor:
        cursor.execute(sql.LICENSE_TAKE_COUNTED, [*params, now(), variation.pk, quantity])
        rows = cursor.fetchall()
    if len(rows) == quantity and rows[0][-1]:
        _flag_low_stock(variation)
    rows.sort(key=lambda row: (row[sql.LICENSE_TAKE_FIELDS.index("created_at")], row[0]))
    return [License.from_db(connection.alias, sql.LICENSE_TAKE_FIELDS, list(row[:-1])) for row in rows]


STOCK_FIELDS = (
    "id",
    "sku",
    "product_id",
    "product__name",
    "depends_on_stock",
    "stock_available",
    "stock_delivered",
    "low_stock_threshold",
)


def stock_rows(*, store, filters: dict) -> list[dict]:
    """GET /inventory/stock: the store's variations matching StockFilter.parse()'s filters, one query."""
    qs = StockFilter.apply(Variation.objects.for_store(store), filters)
    rows = qs.order_by("product__name", "product_id", "position", "sku").values(*STOCK_FIELDS)
    return [render.stock_row(row) for row in rows]


def stock_row(variation_id) -> dict:
    """One row of GET /inventory/stock (also the inventory.low_stock event's data)."""
    return render.stock_row(Variation.objects.filter(pk=variation_id).values(*STOCK_FIELDS).get())


def _flag_low_stock(variation: Variation) -> None:
    """After a take whose counters may have crossed the threshold (sql.LICENSE_TAKE_COUNTED says so).
    The flag flips once (the row is locked by that update): inventory.low_stock is emitted once."""
    flagged = Variation.objects.filter(
        pk=variation.pk,
        low_stock_notified=False,
        depends_on_stock=True,
        stock_available__lt=F("low_stock_threshold"),
    ).update(low_stock_notified=True)
    if flagged:
        emit(store=variation.store, type="inventory.low_stock", data=stock_row(variation.pk))


def license_replace(*, old_license: License, variation: Variation, expires_at, delivered_at=None) -> License:
    """A warranty replacement: take one AVAILABLE license of `variation` (SKIP LOCKED, as an order does),
    give it `expires_at` (the item keeps its time), and mark `old_license` REPLACED (never back in stock).

    Must run inside the caller's transaction, with the item row locked. OutOfStock (400) when none is free.
    The counters stay equal to the real counts: available -1 and delivered +1 for the new one (license_take),
    delivered -1 for the old one, which is no longer DELIVERED.
    """
    delivered_at = delivered_at or now()
    taken = _take(variation=variation, quantity=1, delivered_at=delivered_at, expires_at=expires_at)
    if not taken:
        raise OutOfStock(
            f"Out of stock: {variation.sku} has no license available for a replacement",
            owner=(
                gettext_noop("Out of stock: %(sku)s has no license available for a replacement."),
                {"sku": variation.sku},
            ),
        )
    License.objects.filter(pk=old_license.pk).update(status=License.Status.REPLACED)
    old_license.status = License.Status.REPLACED
    Variation.objects.filter(pk=variation.pk).update(stock_delivered=F("stock_delivered") - 1, updated_at=now())
    return taken[0]
