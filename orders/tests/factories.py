"""Test data for orders and stock: products, variations, funded customers, uploaded licenses."""

import itertools
from decimal import Decimal

from catalog.models import PriceTier, Product, TierPrice, Variation
from catalog.stock import license_upload
from wallets.models import Customer
from wallets.services import wallet_recharge

_seq = itertools.count(1)


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
    n = next(_seq)
    if product is None:
        product = Product.objects.create(
            store=store,
            name=f"Product {n}",
            slug=f"product-{n}",
            kind=kind,
            status=status,
            post_sale_instructions=post_sale_instructions,
        )
    return Variation.objects.create(
        store=store,
        product=product,
        sku=f"SKU-{n}",
        name=f"Variation {n}",
        price=Decimal(price),
        duration_days=duration_days,
        depends_on_stock=depends_on_stock,
        low_stock_threshold=low_stock_threshold,
    )


def make_customer(store, *, balance="0.00", phone=None, linked=True, tier=None, name=None) -> Customer:
    from nuvlyx.core.timeutil import now

    n = next(_seq)
    customer = Customer.objects.create(
        store=store,
        name=name or f"Customer {n}",
        phone=phone,
        phone_linked_at=now() if (phone and linked) else None,
        tier=tier,
    )
    if Decimal(balance) > 0:
        wallet_recharge(customer=customer, amount=Decimal(balance))
    return customer


def make_tier(store, *, level=1, name=None) -> PriceTier:
    return PriceTier.objects.create(store=store, name=name or f"Tier {level}", level=level)


def set_tier_price(variation, tier, price) -> TierPrice:
    return TierPrice.objects.create(store_id=variation.store_id, variation=variation, tier=tier, price=Decimal(price))


def stock(variation, count: int, prefix: str | None = None) -> list[str]:
    """Upload `count` distinct credentials; returns them in clear (for assertions)."""
    prefix = prefix or f"user{variation.pk.hex[:6]}"
    values = [f"{prefix}-{i}@mail.test:Pw{i:06d}!" for i in range(count)]
    license_upload(store=variation.store, variation=variation, credentials=values)
    return values
