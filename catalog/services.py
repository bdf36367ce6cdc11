"""Catalog writes: products (with variations and tier prices), categories, price tiers.

Each function is one transaction; the API, the admin and the demo seed call these. Product writes
emit product.created / product.updated / product.deleted with the product exactly as
GET /products/:id renders it. Validation errors name the API field (`variations[0].tierPrices[1].tierId`).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.text import slugify

from nuvlyx.core.errors import Conflict, ValidationFailed
from nuvlyx.core.events import emit
from nuvlyx.core.models import Store, StoreOwned

from .models import Category, PriceTier, Product, TierPrice, Variation
from .selectors import product_detail_data

MAX_VARIATIONS = 50
UNSET: Any = object()

# unique constraint name → message
_CONSTRAINT_MESSAGES = {
    "catalog_variation_store_sku": "A variation with this SKU already exists in this store",
    "catalog_product_store_slug": "A product with this slug already exists in this store",
    "catalog_category_store_slug": "A category with this slug already exists in this store",
    "catalog_pricetier_store_name": "A price tier with this name already exists",
    "catalog_pricetier_store_level": "A price tier with this level already exists",
}


@contextmanager
def _unique_conflicts() -> Iterator[None]:
    """A unique constraint lost to a concurrent writer → 409 (the pre-checks catch the usual case)."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        text = str(exc)
        for constraint, message in _CONSTRAINT_MESSAGES.items():
            if constraint in text:
                raise Conflict(message) from None
        raise


def unique_slug(
    *, model: type[StoreOwned], store: Store, source: str, max_length: int, fallback: str, exclude_pk=None
) -> str:
    """slugify(source), made unique in the store with a -2, -3... suffix (one query)."""
    base = slugify(source)[:max_length].strip("-") or fallback
    taken_qs = model.objects.for_store(store).filter(slug__startswith=base[: max_length - 6])
    if exclude_pk is not None:
        taken_qs = taken_qs.exclude(pk=exclude_pk)
    taken = set(taken_qs.values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: max_length - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _insert_with_derived_slug(obj: StoreOwned, *, source: str, max_length: int, fallback: str) -> None:
    """INSERT `obj` under unique_slug(source); when a concurrent request took that slug between the
    lookup and the INSERT (the unique index waits for it, then refuses), take the next free one.
    A 409 is only for a slug the client chose: one it did not choose cannot conflict."""
    for _ in range(20):
        obj.slug = unique_slug(  # type: ignore[attr-defined]
            model=type(obj), store=obj.store, source=source, max_length=max_length, fallback=fallback
        )
        try:
            with transaction.atomic():
                obj.save(force_insert=True)
            return
        except IntegrityError as exc:
            if f"{obj._meta.db_table}_store_slug" not in str(exc):
                raise
    raise Conflict("Too many concurrent requests for this name, retry")  # 20 lost races in a row


def _default_depends_on_stock(kind: str) -> bool:
    return kind == Product.Kind.DIGITAL


def _check_categories(*, store: Store, category_ids: Iterable) -> list:
    ids = list(category_ids)
    found = set(Category.objects.for_store(store).filter(pk__in=ids).values_list("pk", flat=True))
    errors = [
        {"field": f"categoryIds[{i}]", "message": "Unknown category."} for i, cid in enumerate(ids) if cid not in found
    ]
    if errors:
        raise ValidationFailed(errors)
    return list(dict.fromkeys(ids))


def _check_variations(*, store: Store, product: Product | None, variations: list[dict]) -> None:
    """Tier ids exist in the store, variation ids belong to the product, SKUs free (409) and distinct."""
    errors: list[dict[str, str]] = []
    tier_ids = {tp["tier_id"] for v in variations for tp in v.get("tier_prices") or []}
    known_tiers = set(PriceTier.objects.for_store(store).filter(pk__in=tier_ids).values_list("pk", flat=True))
    variation_ids = {v["id"] for v in variations if v.get("id")}
    own_variations: dict = {}
    if variation_ids and product is not None:  # a new product has no variations of its own yet
        own_variations = dict(
            Variation.objects.filter(product_id=product.pk, pk__in=variation_ids).values_list("pk", "sku")
        )
    seen_skus: dict[str, int] = {}
    for i, v in enumerate(variations):
        if v.get("id") and v["id"] not in own_variations:
            errors.append({"field": f"variations[{i}].id", "message": "Unknown variation of this product."})
        sku = v.get("sku")
        if sku is not None:
            if sku in seen_skus:
                errors.append({"field": f"variations[{i}].sku", "message": "Duplicate SKU in this request."})
            seen_skus[sku] = i
        seen_tiers: set = set()
        for j, tp in enumerate(v.get("tier_prices") or []):
            field = f"variations[{i}].tierPrices[{j}].tierId"
            if tp["tier_id"] not in known_tiers:
                errors.append({"field": field, "message": "Unknown price tier."})
            elif tp["tier_id"] in seen_tiers:
                errors.append({"field": field, "message": "Duplicate price tier for this variation."})
            seen_tiers.add(tp["tier_id"])
    if errors:
        raise ValidationFailed(errors)
    # SKUs already used by another variation of the store → 409 (the variations listed here may swap theirs).
    clash = (
        Variation.objects.for_store(store)
        .filter(sku__in=list(seen_skus))
        .exclude(pk__in=list(own_variations))
        .values_list("sku", flat=True)
        .first()
    )
    if clash is not None:
        raise Conflict(f"A variation with SKU {clash!r} already exists in this store")


def _check_slug_free(*, model: type[StoreOwned], store: Store, slug: str, exclude_pk=None, what: str) -> None:
    qs = model.objects.for_store(store).filter(slug=slug)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise Conflict(f"A {what} with the slug {slug!r} already exists in this store")


def _set_tier_prices(*, variation: Variation, tier_prices: list[dict]) -> None:
    TierPrice.objects.filter(variation=variation).delete()
    TierPrice.objects.bulk_create(
        [
            TierPrice(store_id=variation.store_id, variation=variation, tier_id=tp["tier_id"], price=tp["price"])
            for tp in tier_prices
        ]
    )


def _create_variation(*, product: Product, data: dict, position: int) -> Variation:
    depends = data.get("depends_on_stock")
    variation = Variation(
        store_id=product.store_id,
        product=product,
        sku=data["sku"],
        name=data.get("name") or "",
        price=data["price"],
        duration_days=data.get("duration_days"),
        depends_on_stock=_default_depends_on_stock(product.kind) if depends is None else depends,
        position=position,
    )
    variation.save(force_insert=True)
    if data.get("tier_prices"):
        _set_tier_prices(variation=variation, tier_prices=data["tier_prices"])
    return variation


@transaction.atomic
def product_create(
    *,
    store: Store,
    name: str,
    variations: list[dict],
    slug: str | None = None,
    kind: str = Product.Kind.DIGITAL,
    status: str = Product.Status.ACTIVE,
    description: str = "",
    post_sale_instructions: str = "",
    category_ids: Iterable = (),
) -> Product:
    """Create a product with its variations (`sku name price duration_days depends_on_stock tier_prices`)."""
    if not 1 <= len(variations) <= MAX_VARIATIONS:
        raise ValidationFailed.field("variations", f"Between 1 and {MAX_VARIATIONS} variations are required.")
    category_ids = _check_categories(store=store, category_ids=category_ids)
    _check_variations(store=store, product=None, variations=[{**v, "id": None} for v in variations])
    if slug:
        _check_slug_free(model=Product, store=store, slug=slug, what="product")
    with _unique_conflicts():
        product = Product(
            store=store,
            name=name,
            slug=slug or "",
            kind=kind,
            status=status,
            description=description,
            post_sale_instructions=post_sale_instructions,
        )
        if slug:
            product.save(force_insert=True)
        else:
            _insert_with_derived_slug(product, source=name, max_length=220, fallback="product")
        if category_ids:
            product.categories.set(category_ids)
        for position, data in enumerate(variations):
            _create_variation(product=product, data=data, position=position)
    emit(store=store, type="product.created", data=product_detail_data(product))
    return product


_VARIATION_FIELDS = ("sku", "name", "price", "duration_days", "depends_on_stock")


@transaction.atomic
def product_update(
    *,
    product: Product,
    name: str = UNSET,
    slug: str = UNSET,
    kind: str = UNSET,
    status: str = UNSET,
    description: str = UNSET,
    post_sale_instructions: str = UNSET,
    category_ids: Iterable = UNSET,
    variations: list[dict] = UNSET,
) -> Product:
    """Partial update. Variations with an `id` are updated, without one added; none are deleted.

    A variation's `tier_prices`, when given, replace that variation's tier prices; `category_ids`,
    when given, replace the product's categories.
    """
    store = product.store
    product = Product.objects.select_for_update().get(pk=product.pk)
    if category_ids is not UNSET:
        category_ids = _check_categories(store=store, category_ids=category_ids)
    if variations is not UNSET:
        _check_variations(store=store, product=product, variations=variations)
        new = [v for v in variations if not v.get("id")]
        if new and product.variations.count() + len(new) > MAX_VARIATIONS:
            raise ValidationFailed.field("variations", f"A product has at most {MAX_VARIATIONS} variations.")
    if slug is not UNSET and slug != product.slug:
        _check_slug_free(model=Product, store=store, slug=slug, exclude_pk=product.pk, what="product")
    fields = {
        "name": name,
        "slug": slug,
        "kind": kind,
        "status": status,
        "description": description,
        "post_sale_instructions": post_sale_instructions,
    }
    with _unique_conflicts():
        for field, value in fields.items():
            if value is not UNSET:
                setattr(product, field, value)
        product.save()  # always: updated_at moves with any change below (the ETag relies on it)
        if category_ids is not UNSET:
            product.categories.set(category_ids)
        if variations is not UNSET:
            _update_variations(product=product, variations=variations)
    emit(store=store, type="product.updated", data=product_detail_data(product))
    return product


def _update_variations(*, product: Product, variations: list[dict]) -> None:
    existing = {v.pk: v for v in product.variations.all()}
    next_position = max((v.position for v in existing.values()), default=-1) + 1
    updates = [(existing[data["id"]], data) for data in variations if data.get("id")]
    # Free the SKUs being changed first so two variations can swap SKUs in one request.
    renamed = [variation for variation, data in updates if "sku" in data and data["sku"] != variation.sku]
    for variation in renamed:
        Variation.objects.filter(pk=variation.pk).update(sku=f"~{variation.pk}")
    for variation, data in updates:
        for field in _VARIATION_FIELDS:
            if field in data:
                setattr(variation, field, data[field])
        variation.save()
        if "tier_prices" in data:
            _set_tier_prices(variation=variation, tier_prices=data["tier_prices"])
    for data in variations:
        if not data.get("id"):
            _create_variation(product=product, data=data, position=next_position)
            next_position += 1


@transaction.atomic
def product_delete(*, product: Product) -> str:
    """Hard delete, unless order items reference the product: then it is ARCHIVED. Returns which."""
    store = product.store
    product = Product.objects.select_for_update().get(pk=product.pk)
    # The reverse relation of orders.OrderItem.product (catalog never imports orders).
    if not product.order_items.exists():
        data = product_detail_data(product)
        try:
            with transaction.atomic():
                product.delete()
        except ProtectedError:  # an order referenced it after all
            pass
        else:
            emit(store=store, type="product.deleted", data=data)
            return "deleted"
    product.status = Product.Status.ARCHIVED
    product.save(update_fields=["status", "updated_at"])
    emit(store=store, type="product.deleted", data=product_detail_data(product))
    return "archived"


@transaction.atomic
def product_changed(*, product: Product, created: bool) -> None:
    """For writers outside product_create/update (the admin's forms): bump updated_at and emit."""
    product.save(update_fields=["updated_at"])
    emit(
        store=product.store,
        type="product.created" if created else "product.updated",
        data=product_detail_data(product),
    )


@transaction.atomic
def category_create(*, store: Store, name: str, slug: str | None = None, description: str = "") -> Category:
    if slug:
        _check_slug_free(model=Category, store=store, slug=slug, what="category")
    with _unique_conflicts():
        category = Category(store=store, name=name, slug=slug or "", description=description)
        if slug:
            category.save(force_insert=True)
        else:
            _insert_with_derived_slug(category, source=name, max_length=140, fallback="category")
    return category


@transaction.atomic
def price_tier_create(*, store: Store, name: str, level: int) -> PriceTier:
    existing = PriceTier.objects.for_store(store)
    if existing.filter(name__iexact=name).exists():
        raise Conflict(f"A price tier named {name!r} already exists in this store")
    if existing.filter(level=level).exists():
        raise Conflict(f"A price tier with level {level} already exists in this store")
    with _unique_conflicts():
        tier = PriceTier(store=store, name=name, level=level)
        tier.save(force_insert=True)
    return tier
