"""Catalog test data: factory_boy factories for the catalog's models, and the helpers tests call.

Rows the tests only need to exist are made by the factories (plain inserts); products with variations
and tier prices go through catalog.services (the path the API and the admin take, events included);
license stock goes through catalog.stock.license_upload, the inventory's service.
"""

from decimal import Decimal

import factory

from catalog.models import Category, License, PriceTier, Product, TierPrice, Variation
from catalog.services import category_create, product_create
from catalog.stock import license_upload
from nuvlyx.core.crypto import keyed_hash
from nuvlyx.core.timeutil import now


class PriceTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceTier

    name = factory.Sequence(lambda n: f"Tier {n}")
    level = factory.Sequence(lambda n: n + 1)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    kind = Product.Kind.DIGITAL
    status = Product.Status.ACTIVE
    post_sale_instructions = "Log in at https://example.com"


class VariationFactory(factory.django.DjangoModelFactory):
    """A variation of a new product of the same store (pass `product=` to add one to a product)."""

    class Meta:
        model = Variation

    product = factory.SubFactory(ProductFactory, store=factory.SelfAttribute("..store"))
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.Sequence(lambda n: f"Variation {n}")
    price = Decimal("10000.00")
    duration_days = 30
    depends_on_stock = True
    low_stock_threshold = 0


class TierPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TierPrice

    store = factory.SelfAttribute("variation.store")
    price = Decimal("0.00")


def make_tier(store, name: str = "Silver", level: int = 2) -> PriceTier:
    return PriceTierFactory(store=store, name=name, level=level)


def make_category(store, name="Streaming", **kwargs) -> Category:
    return category_create(store=store, name=name, **kwargs)


def make_variation(
    store,
    *,
    price="10000.00",
    kind=Product.Kind.DIGITAL,
    status=Product.Status.ACTIVE,
    depends_on_stock=True,
    duration_days=30,
    low_stock_threshold=0,
    product=None,
    post_sale_instructions="Log in at https://example.com",
) -> Variation:
    """A variation (of a new product unless `product=` is given) ready to sell or stock."""
    if product is None:
        product = ProductFactory(store=store, kind=kind, status=status, post_sale_instructions=post_sale_instructions)
    return VariationFactory(
        store=store,
        product=product,
        price=Decimal(price),
        duration_days=duration_days,
        depends_on_stock=depends_on_stock,
        low_stock_threshold=low_stock_threshold,
    )


def set_tier_price(variation, tier, price) -> TierPrice:
    return TierPriceFactory(variation=variation, tier=tier, price=Decimal(price))


def make_product(
    store,
    name="1-month digital subscription",
    sku="SUB-1M",
    price="10000.00",
    kind="DIGITAL",
    tier_prices=None,
    variations=None,
    **kwargs,
) -> Product:
    """A product with its variations and tier prices, through catalog.services.product_create."""
    if variations is None:
        variations = [
            {
                "sku": sku,
                "name": "1 month",
                "price": Decimal(price),
                "duration_days": 30,
                "tier_prices": [{"tier_id": t.pk, "price": Decimal(p)} for t, p in (tier_prices or [])],
            }
        ]
    return product_create(store=store, name=name, kind=kind, variations=variations, **kwargs)


def stock(variation, count: int, prefix: str | None = None) -> list[str]:
    """Upload `count` distinct credentials (catalog.stock.license_upload); returns them in clear."""
    prefix = prefix or f"user{variation.pk.hex[:6]}"
    values = [f"{prefix}-{i}@mail.test:Pw{i:06d}!" for i in range(count)]
    license_upload(store=variation.store, variation=variation, credentials=values)
    return values


def add_available_licenses(variation: Variation, count: int) -> None:
    """Stock rows and the counter as the stock service leaves them, without encrypting anything
    (for catalogs of thousands of licenses where only the counts matter)."""
    License.objects.bulk_create(
        [
            License(
                store_id=variation.store_id,
                variation=variation,
                credentials_encrypted=f"enc-{variation.pk}-{i}",
                credentials_hash=keyed_hash(f"{variation.pk}-{i}-{now().timestamp()}", purpose="test-license"),
            )
            for i in range(count)
        ]
    )
    available = License.objects.filter(variation=variation, status=License.Status.AVAILABLE).count()
    Variation.objects.filter(pk=variation.pk).update(stock_available=available, updated_at=now())
