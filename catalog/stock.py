"""License stock: uploading encrypted credentials and taking them for orders.

The Variation counters (stock_available / stock_delivered) change only here, in the same
transaction as the License rows they count, with F() expressions, so they always equal
the real counts.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from django.db import connection, transaction
from django.db.models import F

from nuvlyx.api.errors import ApiError
from nuvlyx.core.crypto import encrypt, keyed_hash
from nuvlyx.core.events import emit
from nuvlyx.core.timeutil import now

from .models import License, Variation

UPLOAD_BATCH_SIZE = 1000
MAX_CREDENTIALS_LENGTH = 4096
HASH_PURPOSE = "license"


class OutOfStock(ApiError):
    status_code = 400
    code = "out_of_stock"


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
def license_upload(*, store, variation: Variation, credentials: list[str]) -> UploadResult:
    """Encrypt and store credentials for one variation, skipping duplicates (already in stock or repeated).

    Counts what was really inserted (a concurrent upload of the same value is skipped by the
    unique (variation, credentials_hash) constraint) and bumps the counters by exactly that.
    """
    if variation.store_id != getattr(store, "pk", store):
        raise ValueError("variation does not belong to this store")
    unique: dict[str, str] = {}
    for value in credentials:
        if not isinstance(value, str) or not value or len(value) > MAX_CREDENTIALS_LENGTH:
            raise ValueError("each credential must be a non-empty string of at most 4096 characters")
        unique.setdefault(credentials_hash(value), value)

    # Sorted: concurrent uploads insert (and lock) unique-index entries in the same order, never deadlocking.
    digests = sorted(unique)
    existing = _existing_hashes(variation.pk, digests)
    fresh = [(digest, unique[digest]) for digest in digests if digest not in existing]

    created = 0
    stamp = now()
    for batch in _chunks(fresh, UPLOAD_BATCH_SIZE):
        rows = [(uuid4(), digest, encrypt(value)) for digest, value in batch]
        created += _insert_licenses(variation, rows, stamp)

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
        if connection.vendor == "postgresql":  # one array parameter instead of thousands
            qs = License.objects.filter(variation_id=variation_id).extra(
                where=["credentials_hash = ANY(%s)"], params=[list(batch)]
            )
        else:
            qs = License.objects.filter(variation_id=variation_id, credentials_hash__in=batch)
        existing.update(qs.values_list("credentials_hash", flat=True))
    return existing


# The table name is our model's; every value is a parameter.
_INSERT_SQL = (
    f"INSERT INTO {License._meta.db_table}"  # noqa: S608
    " (id, store_id, variation_id, credentials_encrypted, credentials_hash, status, created_at, delivered_at,"
    " expires_at)"
    " SELECT u.id, %s, %s, u.enc, u.hash, %s, %s, NULL, NULL"
    " FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS u(id, hash, enc)"
    " ON CONFLICT (variation_id, credentials_hash) DO NOTHING"
)


def _insert_licenses(variation: Variation, rows: list[tuple], stamp: datetime) -> int:
    """Insert (id, hash, ciphertext) rows, skipping unique conflicts; returns how many were inserted.

    PostgreSQL: one INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING per batch (a handful of
    parameters instead of 7 per row, which is what makes 20k+ licenses/s possible). Elsewhere (the
    SQLite embedded mode): bulk_create(ignore_conflicts=True), counting what landed by primary key.
    """
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_SQL,
                [
                    variation.store_id,
                    variation.pk,
                    License.Status.AVAILABLE,
                    stamp,
                    [row[0] for row in rows],
                    [row[1] for row in rows],
                    [row[2] for row in rows],
                ],
            )
            return cursor.rowcount
    objs = [
        License(
            id=row_id,
            store_id=variation.store_id,
            variation_id=variation.pk,
            credentials_encrypted=enc,
            credentials_hash=digest,
            created_at=stamp,
        )
        for row_id, digest, enc in rows
    ]
    License.objects.bulk_create(objs, ignore_conflicts=True)
    # ignore_conflicts hides what was skipped: our client-side primary keys tell what really landed.
    return License.objects.filter(pk__in=[obj.pk for obj in objs]).count()


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
    licenses = list(
        License.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(variation_id=variation.pk, status=License.Status.AVAILABLE)
        .order_by("created_at", "id")[:quantity]
    )
    if len(licenses) < quantity:
        raise OutOfStock(f"Out of stock: {variation.sku} has fewer than {quantity} license(s) available")
    expires_at = expiry_for(variation, delivered_at)
    License.objects.filter(pk__in=[lic.pk for lic in licenses]).update(
        status=License.Status.DELIVERED, delivered_at=delivered_at, expires_at=expires_at
    )
    for lic in licenses:
        lic.status = License.Status.DELIVERED
        lic.delivered_at = delivered_at
        lic.expires_at = expires_at
    _counters_after_take(variation=variation, count=quantity)
    return licenses


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


def stock_row(variation_id) -> dict:
    """One row of GET /inventory/stock (also the inventory.low_stock event's data)."""
    return stock_row_render(Variation.objects.filter(pk=variation_id).values(*STOCK_FIELDS).get())


def stock_row_render(row: dict) -> dict:
    return {
        "productId": str(row["product_id"]),
        "productName": row["product__name"],
        "variationId": str(row["id"]),
        "sku": row["sku"],
        "dependsOnStock": row["depends_on_stock"],
        "available": row["stock_available"],
        "delivered": row["stock_delivered"],
        "lowStockThreshold": row["low_stock_threshold"],
    }


def _counters_after_take(*, variation: Variation, count: int) -> None:
    Variation.objects.filter(pk=variation.pk).update(
        stock_available=F("stock_available") - count,
        stock_delivered=F("stock_delivered") + count,
        updated_at=now(),
    )
    flagged = Variation.objects.filter(
        pk=variation.pk,
        low_stock_notified=False,
        depends_on_stock=True,
        stock_available__lt=F("low_stock_threshold"),
    ).update(low_stock_notified=True)
    if flagged:
        emit(store=variation.store, type="inventory.low_stock", data=stock_row(variation.pk))
