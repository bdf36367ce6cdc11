"""Bulk seeding of the benchmark database (COPY through psycopg, never the API).

Rows are built as plain tuples from each model's concrete fields, so a column another app adds
later is filled from its Python default (or NULL) without touching this file; only a new NOT NULL
column without any default stops the seed, with a message naming it.

Invariants kept (they are checked again after the load, see run.py `check_invariants`):
- wallet.balance == sum(ledger entries), balance_after chains per wallet;
- Variation.stock_available == count(AVAILABLE licenses), stock_delivered == count(DELIVERED);
- order numbers 1..N gap-free with OrderCounter.last_number == N; each past order has one
  DELIVERED item bound to its own DELIVERED license and one PURCHASE ledger entry.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import phonenumbers
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED
from django.db.models.fields import AutoFieldMixin

from nuvlyx.core import crypto
from nuvlyx.core.timeutil import now, truncate_ms

# Purpose string of the license de-duplication hash. The catalog app owns it; we read it from
# catalog.services when it exposes one of these names, else fall back to "license".
LICENSE_HASH_PURPOSES = ("LICENSE_HASH_PURPOSE", "CREDENTIALS_HASH_PURPOSE")


@dataclass
class Sizes:
    products: int = 1_000
    variations_per_product: int = 3
    tiers: int = 5
    categories: int = 20  # 1,000 / 20 = 50 products per category
    customers: int = 10_000
    licenses: int = 100_000  # AVAILABLE stock
    orders: int = 100_000  # past orders (each delivered one more license)

    @classmethod
    def smoke(cls) -> Sizes:
        return cls(products=20, categories=4, customers=50, licenses=1_200, orders=100)


@dataclass
class SeedResult:
    store_id: uuid.UUID
    store_slug: str
    currency: str
    token: str
    product_ids: list = field(default_factory=list)
    category_ids: list = field(default_factory=list)
    category_sizes: dict = field(default_factory=dict)
    variations: list = field(default_factory=list)  # (id, product_id, sku, price)
    customers: list = field(default_factory=list)  # (id, phone)
    order_ids: list = field(default_factory=list)
    contention_customer: tuple | None = None  # (id, phone)
    import_target: tuple | None = None  # (product slug, variation sku)
    timings: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)


def license_hash_purpose() -> str:
    try:
        from catalog import services as catalog_services
    except Exception:  # the catalog services may not exist yet
        return "license"
    for name in LICENSE_HASH_PURPOSES:
        value = getattr(catalog_services, name, None)
        if isinstance(value, str):
            return value
    return "license"


class Copier:
    """COPY rows of a Django model, filling unspecified columns from the model's defaults."""

    def __init__(self, model):
        self.model = model
        # Auto-increment columns (e.g. an m2m through table's id) are filled by the database.
        self.fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin)]
        self.table = model._meta.db_table
        self.columns = [f.column for f in self.fields]

    # Field classes whose Python values psycopg adapts as they are (no get_db_prep_save needed).
    PLAIN = (
        "UUIDField",
        "CharField",
        "SlugField",
        "TextField",
        "EmailField",
        "DecimalField",
        "BooleanField",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "BigIntegerField",
        "ForeignKey",
        "OneToOneField",
    )

    def _fill(self, values: dict) -> tuple:
        row = []
        for f in self.fields:
            if f.attname in values:
                value = values[f.attname]
            elif f.name in values:
                value = values[f.name]
                value = getattr(value, "pk", value)
            elif f.default is not NOT_PROVIDED:
                value = f.get_default()
            elif f.null:
                value = None
            else:
                raise RuntimeError(
                    f"bench seed: {self.model._meta.label}.{f.name} is NOT NULL without a default; "
                    "teach bench/seed.py about it"
                )
            if value is not None and type(f).__name__ not in self.PLAIN:
                value = f.get_db_prep_save(value, connection)
            row.append(value)
        return tuple(row)

    def copy(self, rows) -> int:
        n = 0
        cols = ", ".join(f'"{c}"' for c in self.columns)
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f'COPY "{self.table}" ({cols}) FROM STDIN') as cp:
                for values in rows:
                    cp.write_row(self._fill(values))
                    n += 1
        return n


def _phones(count: int) -> list[str]:
    out = []
    base = 3_000_000_000  # +57 300 000 0000: Colombian mobiles, valid per phonenumbers
    i = 1
    while len(out) < count:
        phone = f"+57{base + i}"
        i += 1
        if phonenumbers.is_valid_number(phonenumbers.parse(phone, None)):
            out.append(phone)
    return out


def seed(sizes: Sizes, *, rng_seed: int = 8, log=print) -> SeedResult:
    """Seed in one transaction (foreign keys are checked at commit), then VACUUM ANALYZE."""
    t_all = time.perf_counter()
    with transaction.atomic():
        # Bulk path: the seed is consistent by construction (and checked after the load), so the
        # per-row foreign-key triggers are skipped for this transaction (we are the superuser).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        res = _seed(sizes, rng_seed=rng_seed, log=log)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    res.timings["vacuum analyze"] = time.perf_counter() - t0
    log(f"  vacuum analyze in {res.timings['vacuum analyze']:.1f}s")
    res.timings["total"] = time.perf_counter() - t_all
    return res


def _seed(sizes: Sizes, *, rng_seed: int, log) -> SeedResult:
    from catalog.models import Category, License, PriceTier, Product, TierPrice, Variation
    from integrations.services import api_token_create
    from nuvlyx.api.permissions import SCOPES
    from nuvlyx.core.services import store_create
    from orders.models import Order, OrderCounter, OrderItem
    from wallets.models import Customer, LedgerEntry, Wallet

    rng = random.Random(rng_seed)
    timings: dict[str, float] = {}

    def step(name, t0):
        timings[name] = time.perf_counter() - t0
        log(f"  seeded {name} in {timings[name]:.1f}s")

    store = store_create(slug="bench", name="Bench Store", currency="COP")
    _, token = api_token_create(store=store, name="bench", scopes=list(SCOPES), rate_limit_per_minute=10_000_000)
    res = SeedResult(store_id=store.pk, store_slug=store.slug, currency=store.currency, token=token)
    sid = store.pk
    t_start = now() - timedelta(days=200)

    # --- tiers, categories ----------------------------------------------------------------
    t0 = time.perf_counter()
    tier_names = ["Retail", "Bronze", "Silver", "Gold", "Platinum", "Diamond", "Elite"]
    tiers = [(uuid.uuid4(), level) for level in range(sizes.tiers)]
    Copier(PriceTier).copy(
        {
            "id": tid,
            "store_id": sid,
            "name": tier_names[level] if level < len(tier_names) else f"Tier {level}",
            "level": level,
            "created_at": t_start,
        }
        for tid, level in tiers
    )
    categories = [uuid.uuid4() for _ in range(sizes.categories)]
    Copier(Category).copy(
        {
            "id": cid,
            "store_id": sid,
            "name": f"Category {i:02d}",
            "slug": f"category-{i:02d}",
            "description": f"Bench category {i}",
            "created_at": t_start,
        }
        for i, cid in enumerate(categories)
    )
    res.category_ids = categories

    # --- products, variations, tier prices ----------------------------------------------------
    products = []
    variations = []  # (id, product_id, sku, price, name)
    for i in range(sizes.products):
        pid = uuid.uuid4()
        created = truncate_ms(t_start + timedelta(minutes=i))
        products.append((pid, i, created))
        for j in range(sizes.variations_per_product):
            price = Decimal(rng.randrange(10, 100) * 500)
            variations.append((uuid.uuid4(), pid, f"SKU-{i:04d}-{j}", price, f"{(j + 1)} month(s)", j, created))
    Copier(Product).copy(
        {
            "id": pid,
            "store_id": sid,
            "name": f"Bench product {i:04d}",
            "slug": f"bench-product-{i:04d}",
            "kind": "DIGITAL",
            "status": "ACTIVE",
            "description": f"Streaming subscription #{i}, shared account.",
            "post_sale_instructions": "Log in with the credentials above; do not change the password.",
            "created_at": created,
            "updated_at": created,
        }
        for pid, i, created in products
    )
    through = Product.categories.through
    Copier(through).copy({"product_id": pid, "category_id": categories[i % len(categories)]} for pid, i, _ in products)
    for _pid, i, _ in products:
        res.category_sizes.setdefault(categories[i % len(categories)], 0)
        res.category_sizes[categories[i % len(categories)]] += 1
    res.product_ids = [p[0] for p in products]

    # Stock: `licenses` AVAILABLE spread evenly, plus one DELIVERED license per past order.
    per_var_available = [0] * len(variations)
    for k in range(sizes.licenses):
        per_var_available[k % len(variations)] += 1
    step("catalog (tiers, categories, products)", t0)

    # tier prices for every tier above retail: level L pays base × (1 − 0.05 L)
    t0 = time.perf_counter()
    tier_price = {}  # (variation_id, tier_id) → price
    for vid, _pid, _sku, price, *_ in variations:
        for tid, level in tiers:
            if level == 0:
                continue
            tier_price[(vid, tid)] = (price * (Decimal(1) - Decimal("0.05") * level)).quantize(Decimal("0.01"))
    Copier(TierPrice).copy(
        {"id": uuid.uuid4(), "store_id": sid, "variation_id": vid, "tier_id": tid, "price": p}
        for (vid, tid), p in tier_price.items()
    )
    step("tier prices", t0)

    # --- customers, wallets ---------------------------------------------------------------------
    t0 = time.perf_counter()
    phones = _phones(sizes.customers + 1)
    customers = []  # (id, phone, tier_id|None)
    tier_choices = [None] + [t[0] for t in tiers]
    for i in range(sizes.customers + 1):
        customers.append((uuid.uuid4(), phones[i], rng.choice(tier_choices)))
    contention = customers.pop()  # one extra customer with a huge balance, for the contention scenario
    Copier(Customer).copy(
        {
            "id": cid,
            "store_id": sid,
            "name": f"Customer {i:05d}",
            "email": f"c{i}@bench.nuvlyx.test",
            "phone": phone,
            "phone_linked_at": t_start,
            "tier_id": tier,
            "created_at": t_start,
            "updated_at": t_start,
        }
        for i, (cid, phone, tier) in enumerate([*customers, contention])
    )
    res.customers = [(c[0], c[1]) for c in customers]
    res.contention_customer = (contention[0], contention[1])
    step("customers", t0)

    # --- past orders (one item each, delivered from a license of its own) ----------------------
    t0 = time.perf_counter()
    funding = Decimal("10000000.00")
    contention_funding = Decimal("9000000000.00")
    balances = {c[0]: funding for c in customers}
    balances[contention[0]] = contention_funding
    ledger_rows = []
    for cid, _phone, _tier in [*customers, contention]:
        ledger_rows.append(
            {
                "id": uuid.uuid4(),
                "store_id": sid,
                "wallet_id": cid,
                "kind": "RECHARGE",
                "amount": balances[cid],
                "balance_after": balances[cid],
                "reference": "bench-seed",
                "note": "",
                "created_at": t_start,
            }
        )
    span = timedelta(days=180).total_seconds()
    order_times = sorted(
        truncate_ms(t_start + timedelta(days=10, seconds=rng.random() * span)) for _ in range(sizes.orders)
    )
    orders, items, delivered = [], [], []
    per_var_delivered = [0] * len(variations)
    for number, created in enumerate(order_times, start=1):
        cid, _phone, tier = customers[rng.randrange(len(customers))]
        vi = rng.randrange(len(variations))
        vid, pid, sku, base, *_ = variations[vi]
        price = tier_price.get((vid, tier), base) if tier else base
        oid, lid = uuid.uuid4(), uuid.uuid4()
        balances[cid] -= price
        ledger_rows.append(
            {
                "id": uuid.uuid4(),
                "store_id": sid,
                "wallet_id": cid,
                "kind": "PURCHASE",
                "amount": -price,
                "balance_after": balances[cid],
                "order_id": oid,
                "created_at": created,
            }
        )
        orders.append((oid, number, cid, price, created))
        items.append((oid, pid, vid, sku, price, lid, created))
        delivered.append((lid, vid, created))
        per_var_delivered[vi] += 1
    res.order_ids = [o[0] for o in orders]
    step("past orders (in memory)", t0)

    t0 = time.perf_counter()
    Copier(Variation).copy(
        {
            "id": vid,
            "store_id": sid,
            "product_id": pid,
            "sku": sku,
            "name": name,
            "price": price,
            "duration_days": 30,
            "depends_on_stock": True,
            "low_stock_threshold": 3,
            "stock_available": per_var_available[k],
            "stock_delivered": per_var_delivered[k],
            "low_stock_notified": False,
            "position": pos,
            "created_at": created,
            "updated_at": created,
        }
        for k, (vid, pid, sku, price, name, pos, created) in enumerate(variations)
    )
    res.variations = [(v[0], v[1], v[2], v[3]) for v in variations]
    step("variations", t0)

    # --- licenses: Fernet per credential, keyed hash per credential --------------------------------
    t0 = time.perf_counter()
    purpose = license_hash_purpose()
    cipher = crypto._current()  # one MultiFernet, what encrypt() uses

    def license_rows():
        n = 0
        for k in range(sizes.licenses):
            vid = variations[k % len(variations)][0]
            n += 1
            cred = f"user{n:06d}@mail.bench.test:pw-{rng.getrandbits(48):012x}"
            yield {
                "id": uuid.uuid4(),
                "store_id": sid,
                "variation_id": vid,
                "credentials_encrypted": cipher.encrypt(cred.encode()).decode("ascii"),
                "credentials_hash": crypto.keyed_hash(cred, purpose=purpose),
                "status": "AVAILABLE",
                "created_at": t_start,
            }
        for lid, vid, created in delivered:
            n += 1
            cred = f"user{n:06d}@mail.bench.test:pw-{rng.getrandbits(48):012x}"
            yield {
                "id": lid,
                "store_id": sid,
                "variation_id": vid,
                "credentials_encrypted": cipher.encrypt(cred.encode()).decode("ascii"),
                "credentials_hash": crypto.keyed_hash(cred, purpose=purpose),
                "status": "DELIVERED",
                "created_at": t_start,
                "delivered_at": created,
                "expires_at": created + timedelta(days=30),
            }

    n_lic = Copier(License).copy(license_rows())
    step(f"licenses ({n_lic:,}, encrypted)", t0)
    timings["license_rate_per_s"] = n_lic / max(timings[f"licenses ({n_lic:,}, encrypted)"], 1e-9)

    t0 = time.perf_counter()
    Copier(Wallet).copy(
        {"customer_id": cid, "store_id": sid, "balance": bal, "updated_at": t_start} for cid, bal in balances.items()
    )
    Copier(LedgerEntry).copy(ledger_rows)
    step(f"wallets + ledger ({len(ledger_rows):,} entries)", t0)

    t0 = time.perf_counter()
    Copier(Order).copy(
        {
            "id": oid,
            "store_id": sid,
            "number": number,
            "customer_id": cid,
            "status": "COMPLETED",
            "total_amount": total,
            "currency": store.currency,
            "created_at": created,
            "updated_at": created,
            "completed_at": created,
        }
        for oid, number, cid, total, created in orders
    )
    Copier(OrderItem).copy(
        {
            "id": uuid.uuid4(),
            "store_id": sid,
            "order_id": oid,
            "position": 0,
            "product_id": pid,
            "variation_id": vid,
            "product_name": "Bench product",
            "sku": sku,
            "price_paid": price,
            "status": "DELIVERED",
            "license_id": lid,
            "delivered_at": created,
            "expires_at": created + timedelta(days=30),
            "created_at": created,
        }
        for oid, pid, vid, sku, price, lid, created in items
    )
    OrderCounter.objects.update_or_create(store_id=sid, defaults={"last_number": len(orders)})
    step("orders + items", t0)

    # product names on items: set from the product (one UPDATE, cheaper than carrying names around)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orders_orderitem i SET product_name = p.name FROM catalog_product p "
            "WHERE p.id = i.product_id AND i.store_id = %s",
            [sid],
        )

    # --- a target variation for import_licenses (empty stock, not used by the load) -------------
    pid = uuid.uuid4()
    created = now()
    Copier(Product).copy(
        [
            {
                "id": pid,
                "store_id": sid,
                "name": "Import target",
                "slug": "import-target",
                "kind": "DIGITAL",
                "status": "INACTIVE",
                "created_at": created,
                "updated_at": created,
            }
        ]
    )
    Copier(Variation).copy(
        [
            {
                "id": uuid.uuid4(),
                "store_id": sid,
                "product_id": pid,
                "sku": "IMPORT-TARGET",
                "name": "Import",
                "price": Decimal("1000.00"),
                "depends_on_stock": True,
                "created_at": created,
                "updated_at": created,
            }
        ]
    )
    res.import_target = ("bench", "IMPORT-TARGET")

    res.timings = timings
    res.counts = {
        "products": len(products),
        "variations": len(variations),
        "tier_prices": len(tier_price),
        "customers": len(customers) + 1,
        "licenses": n_lic,
        "orders": len(orders),
        "ledger": len(ledger_rows),
    }
    return res
