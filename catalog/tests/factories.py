"""Catalog test data, created through the services (the same path the API and admin take)."""

from decimal import Decimal

from catalog.models import License, Product, Variation
from catalog.services import category_create, price_tier_create, product_create
from nuvlyx.core.crypto import keyed_hash
from nuvlyx.core.timeutil import now


def make_tier(store, name="Silver", level=2):
    return price_tier_create(store=store, name=name, level=level)


def make_category(store, name="Streaming", **kwargs):
    return category_create(store=store, name=name, **kwargs)


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


def add_available_licenses(variation: Variation, count: int) -> None:
    """Stock as the inventory's stock service leaves it: AVAILABLE rows + the counter (+ updated_at)."""
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


def make_customer(store, *, tier=None, phone=None, linked=True, name="Ana"):
    from wallets.models import Customer

    return Customer.objects.create(
        store=store, name=name, tier=tier, phone=phone, phone_linked_at=now() if (phone and linked) else None
    )
