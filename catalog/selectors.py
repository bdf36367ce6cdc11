"""Catalog reads: the product list and detail (rendered as the API shows them), their ETags, the price quote.

The list is built from `.values()` rows (one query for products, one for their variations) and rendered
into dicts directly: a constant number of queries whatever the size of the catalog, and no model
instances. Each read has a cheap ETag: one aggregate query over what the response shows (update times,
counts, stock and price sums), so a matching If-None-Match is answered without rendering anything.
"""

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, Sum, TextField
from django.db.models.functions import Cast

from nuvlyx.core.errors import NotFound
from nuvlyx.core.formats import format_amount, format_datetime, format_id
from nuvlyx.core.jsonenc import dumps
from nuvlyx.core.sql import prepared_cursor

from . import render, sql
from .filters import ProductFilter
from .models import Category, PriceTier, Product, TierPrice, Variation
from .pricing import quote_variations

# Bump when the rendered shape changes, so clients holding an old ETag get the new body.
REPRESENTATION_VERSION = "1"

PRODUCT_NOT_FOUND = "Product not found"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProductFilters:
    status: str | None = None
    kind: str | None = None
    category_id: UUID | None = None
    search: str | None = None

    @classmethod
    def parse(cls, query) -> "ProductFilters":
        """GET /products' query, validated by catalog.filters.ProductFilter (422 on a bad value)."""
        values = ProductFilter.parse(query)
        return cls(
            status=values["status"], kind=values["kind"], category_id=values["categoryId"], search=values["search"]
        )

    def as_query(self) -> dict:
        return {"status": self.status, "kind": self.kind, "categoryId": self.category_id, "search": self.search}

    def cache_key(self) -> str:
        return f"{self.status or ''}|{self.kind or ''}|{self.category_id or ''}|{self.search or ''}"


@dataclass(frozen=True)
class Validator:
    """A strong ETag and the Last-Modified time of one response."""

    etag: str
    last_modified: datetime | None


def _validator(parts: list, last_modified: datetime | None) -> Validator:
    raw = "\x1f".join("" if part is None else str(part) for part in parts)
    return Validator(etag='"' + hashlib.sha256(raw.encode()).hexdigest()[:40] + '"', last_modified=last_modified)


def _latest(*values: datetime | None) -> datetime | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


# --- product list -------------------------------------------------------------------------------
def product_list_queryset(*, store, filters: ProductFilters) -> QuerySet[Product]:
    return ProductFilter.apply(Product.objects.for_store(store), filters.as_query(), store=store)


def _list_aggregates(*, store, filters: ProductFilters) -> tuple:
    """(product count, max product updated_at, variation count, max variation updated_at, sum of stock,
    sum of price) over what GET /products renders, in one statement, as per-table aggregates.

    Unfiltered (the common poll, the whole catalog): no join at all, two plain `store_id = %s` scans
    (~1.3 ms for 1,000 products × 3 variations, against ~3.3 ms for the join with a COUNT(DISTINCT)).
    Filtered: the products, and their variations joined through the product_id index.
    """
    statement, params = sql.product_list_aggregates(
        store_id=store.pk, filters=filters, unfiltered=filters == ProductFilters()
    )
    with prepared_cursor() as cursor:
        cursor.execute(statement, params)
        p_count, p_max, v_count, v_max, v_stock, v_price = cursor.fetchone()
    return p_count, p_max, v_count, v_max, v_stock, v_price


def product_list_validator(*, store, filters: ProductFilters) -> Validator:
    """One cheap aggregate statement over everything GET /products renders (stock counts included)."""
    p_count, p_max, v_count, v_max, v_stock, v_price = _list_aggregates(store=store, filters=filters)
    parts = ["list", REPRESENTATION_VERSION, store.pk, filters.cache_key()]
    parts += [p_count, p_max, v_count, v_max, v_stock or 0, v_price or 0]
    return _validator(parts, _latest(p_max, v_max))


# Rendered list bodies, one cache entry per (store, filters) holding (etag, bytes): served only while the
# ETag just computed from the database still equals the stored one, so freshness is exact; the TTL only
# bounds memory (a search term makes a new entry) and a new version replaces the old one in place.
LIST_CACHE_SECONDS = 300


def product_list_cache_key(*, store, filters: ProductFilters) -> str:
    digest = hashlib.sha256(filters.cache_key().encode()).hexdigest()[:32]
    return f"catalog:products:{REPRESENTATION_VERSION}:{store.pk}:{digest}"


@contextmanager
def _snapshot():
    """The validator and the body read from one snapshot (REPEATABLE READ), so the body cached under an
    ETag is exactly the state that ETag describes. Inside an outer transaction (tests), plain reads."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def product_list_body(*, store, filters: ProductFilters, validator: Validator) -> tuple[Validator, bytes]:
    """GET /products as JSON bytes: the cached body when its ETag is `validator`'s, else built (and the
    validator recomputed in the same snapshot), rendered and cached. Returns the validator of the body."""
    key = product_list_cache_key(store=store, filters=filters)
    try:
        cached = cache.get(key)
    except Exception:  # the cache is an accelerator: without Redis, build every time
        logger.warning("product list cache unavailable", exc_info=True)
        cached = None
    if cached is not None and cached[0] == validator.etag:
        return validator, cached[1]
    with _snapshot():
        validator = product_list_validator(store=store, filters=filters)
        body = dumps(product_list_data(store=store, filters=filters))
    try:
        cache.set(key, (validator.etag, body), LIST_CACHE_SECONDS)
    except Exception:
        logger.warning("product list cache unavailable", exc_info=True)
    return validator, body


def _as_text(field: str):
    """The database renders ids (canonical UUID text) and numeric(14,2) amounts as strings."""
    return Cast(field, TextField())


def product_list_data(*, store, filters: ProductFilters) -> list[dict]:
    """GET /products: the seed's list shape, built from two `.values_list()` queries (no model instances)."""
    products_qs = product_list_queryset(store=store, filters=filters)
    rows = list(
        products_qs.annotate(id_text=_as_text("id")).values_list(
            "id_text", "name", "slug", "kind", "status", "created_at"
        )
    )
    if not rows:
        return []
    variations: dict = {row[0]: [] for row in rows}
    if filters == ProductFilters():
        variations_qs = Variation.objects.for_store(store)  # every variation of the store is listed
    else:
        # The subquery carries the store filter; adding store_id here only misleads the planner.
        variations_qs = Variation.objects.filter(product_id__in=products_qs.values("id"))
    variation_rows = (
        variations_qs.order_by("product_id", "position", "created_at", "id")
        .annotate(p_text=_as_text("product_id"), v_text=_as_text("id"), price_text=_as_text("price"))
        .values_list(
            "p_text", "v_text", "sku", "name", "price_text", "stock_available", "duration_days", "depends_on_stock"
        )
    )
    variation_summary = render.variation_summary
    for product_id, *variation in variation_rows:
        bucket = variations.get(product_id)
        if bucket is not None:
            bucket.append(variation_summary(*variation))
    return [
        render.product_summary(pid, name, slug, kind, status, variations[pid], format_datetime(created_at))
        for pid, name, slug, kind, status, created_at in rows
    ]


# --- one product --------------------------------------------------------------------------------
def _scalar(qs: QuerySet, group: str, **aggregate) -> Subquery:
    """A correlated scalar subquery: one aggregate of `qs` grouped by `group`."""
    ((name, expr),) = aggregate.items()
    return Subquery(qs.order_by().values(group).annotate(**{name: expr}).values(name)[:1])


def product_with_validator(*, store, product_id) -> tuple[Product, Validator]:
    """The product (404 if absent or another store's) and its detail ETag, in one query."""
    variations = Variation.objects.filter(product_id=OuterRef("pk"))
    tier_prices = TierPrice.objects.filter(variation__product_id=OuterRef("pk"))
    links = Product.categories.through.objects.filter(product_id=OuterRef("pk"))
    product = (
        Product.objects.for_store(store)
        .filter(pk=product_id)
        .annotate(
            v_count=_scalar(variations, "product_id", x=Count("id")),
            v_max=_scalar(variations, "product_id", x=Max("updated_at")),
            v_stock=_scalar(variations, "product_id", x=Sum("stock_available")),
            v_price=_scalar(variations, "product_id", x=Sum("price")),
            tp_count=_scalar(tier_prices, "variation__product_id", x=Count("id")),
            tp_max=_scalar(tier_prices, "variation__product_id", x=Max("updated_at")),
            tp_sum=_scalar(tier_prices, "variation__product_id", x=Sum("price")),
            tier_max=_scalar(tier_prices, "variation__product_id", x=Max("tier__updated_at")),
            c_count=_scalar(links, "product_id", x=Count("id")),
            c_max=_scalar(links, "product_id", x=Max("category__updated_at")),
        )
        .first()
    )
    if product is None:
        raise NotFound(PRODUCT_NOT_FOUND)
    p = product
    parts = ["detail", REPRESENTATION_VERSION, store.pk, p.pk, p.updated_at]
    parts += [p.v_count, p.v_max, p.v_stock, p.v_price, p.tp_count, p.tp_max, p.tp_sum, p.tier_max]
    parts += [p.c_count, p.c_max]
    return product, _validator(parts, _latest(p.updated_at, p.v_max, p.tp_max, p.tier_max, p.c_max))


def product_get(*, store, product_id) -> Product:
    product = Product.objects.for_store(store).filter(pk=product_id).first()
    if product is None:
        raise NotFound(PRODUCT_NOT_FOUND)
    return product


def product_detail_data(product: Product) -> dict:
    """catalog.render.product_detail of a product (GET /products/:id, POST/PATCH answers, product.* events).
    3 queries."""
    categories = [
        render.product_category(format_id(cid), name, slug)
        for cid, name, slug in product.categories.order_by("name", "id").values_list("id", "name", "slug")
    ]
    tier_prices: dict[UUID, list[dict]] = {}
    tier_rows = (
        TierPrice.objects.filter(variation__product_id=product.pk)
        .order_by("tier__level", "tier__name", "id")
        .values_list("variation_id", "price", "tier_id", "tier__name", "tier__level")
    )
    for variation_id, price, tier_id, tier_name, tier_level in tier_rows:
        tier_prices.setdefault(variation_id, []).append(
            render.tier_price((format_id(tier_id), tier_name, tier_level), format_amount(price))
        )
    variation_rows = (
        Variation.objects.filter(product_id=product.pk)
        .order_by("position", "created_at", "id")
        .values_list("id", "sku", "name", "price", "stock_available", "duration_days", "depends_on_stock")
    )
    variations = [
        render.variation_detail(
            (format_id(vid), sku, name, format_amount(price), stock, duration, depends), tier_prices.get(vid, [])
        )
        for vid, sku, name, price, stock, duration, depends in variation_rows
    ]
    product_row = (
        format_id(product.pk),
        product.name,
        product.slug,
        product.kind,
        product.status,
        product.description,
        product.post_sale_instructions,
        format_datetime(product.created_at),
        format_datetime(product.updated_at),
    )
    return render.product_detail(product_row, categories, variations)


# --- price quote --------------------------------------------------------------------------------
def _quote_data(*, store, product_id, product_name: str, customer, tier: PriceTier | None, quotes) -> dict:
    """catalog.render.price_quote of catalog.pricing's quotes."""
    return render.price_quote(
        product_id=format_id(product_id),
        product_name=product_name,
        currency=store.currency,
        customer_id=None if customer is None else format_id(customer.pk),
        tier_data=None if tier is None else price_tier_data(tier),
        variations=[
            (
                format_id(quote.variation.pk),
                quote.variation.sku,
                format_amount(quote.base_price),
                format_amount(quote.price),
                quote.applied_tier is not None,
                quote.variation.stock_quantity,
                quote.variation.depends_on_stock,
            )
            for quote in quotes
        ],
    )


def product_price_quote(*, store, product: Product, customer) -> dict:
    """GET /products/:id/price, exactly seed 001. `customer` may be None (base prices)."""
    tier: PriceTier | None = customer.tier if customer is not None else None
    variations = list(Variation.objects.filter(product_id=product.pk).order_by("position", "created_at", "id"))
    quotes = quote_variations(variations=variations, tier=tier)
    return _quote_data(
        store=store, product_id=product.pk, product_name=product.name, customer=customer, tier=tier, quotes=quotes
    )


def product_price_quote_by_id(*, store, product_id, customer) -> dict:
    """GET /products/:id/price for a product id (404 if absent or another store's), `customer` may be None.

    On PostgreSQL: one hand-written statement (product + variations + the tier's explicit prices) and
    lightweight Variation instances (Model.from_db) handed to catalog.pricing.quote_variations, which stays
    the one place computing the price. The ORM spent several ms compiling the 3 queries this replaces.
    """
    product_id = Product._meta.pk.to_python(product_id)
    tier: PriceTier | None = customer.tier if customer is not None else None
    with prepared_cursor() as cursor:
        cursor.execute(sql.QUOTE, [tier.pk if tier is not None else None, store.pk, product_id])
        rows = cursor.fetchall()
    return price_quote_from_rows(store=store, product_id=product_id, customer=customer, rows=rows)


def price_quote_from_rows(*, store, product_id, customer, rows: list) -> dict:
    """The quote of sql.quote_statement's rows (product name, tier price, variation columns); none → 404."""
    if not rows:
        raise NotFound(PRODUCT_NOT_FOUND)
    tier: PriceTier | None = customer.tier if customer is not None else None
    alias = connection.alias
    variations, tier_prices = [], {}
    for row in rows:
        if row[2] is None:  # the product has no variations: one row, variation columns NULL
            continue
        variation = Variation.from_db(alias, sql.QUOTE_VARIATION_FIELDS, row[2:])
        variations.append(variation)
        if row[1] is not None:
            tier_prices[variation.pk] = row[1]
    quotes = quote_variations(variations=variations, tier=tier, tier_prices=tier_prices)
    return _quote_data(
        store=store, product_id=product_id, product_name=rows[0][0], customer=customer, tier=tier, quotes=quotes
    )


# --- categories and tiers -----------------------------------------------------------------------
def category_data(category: Category) -> dict:
    return render.category(format_id(category.pk), category.name, category.slug, category.description)


def category_list_data(*, store) -> list[dict]:
    return [
        render.category(format_id(cid), name, slug, description)
        for cid, name, slug, description in Category.objects.for_store(store)
        .order_by("name", "id")
        .values_list("id", "name", "slug", "description")
    ]


def price_tier_data(tier: PriceTier) -> dict:
    return render.tier(format_id(tier.pk), tier.name, tier.level)


def price_tier_list_data(*, store) -> list[dict]:
    return [
        render.tier(format_id(tid), name, level)
        for tid, name, level in PriceTier.objects.for_store(store)
        .order_by("level", "name")
        .values_list("id", "name", "level")
    ]
