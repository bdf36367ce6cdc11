"""Demo catalog for `make run` (called by the demo_setup command): tiers, categories and products via the services."""

from decimal import Decimal

from .models import Product
from .services import category_create, price_tier_create, product_create


def seed_demo_catalog(store) -> list[Product]:
    if Product.objects.for_store(store).exists():
        return list(Product.objects.for_store(store))
    silver = price_tier_create(store=store, name="Silver", level=1)
    gold = price_tier_create(store=store, name="Gold", level=2)
    streaming = category_create(store=store, name="Streaming", description="Video and music subscriptions")
    software = category_create(store=store, name="Software", description="License keys")
    return [
        product_create(
            store=store,
            name="1-month digital subscription",
            description="A month of premium streaming.",
            post_sale_instructions="Log in with the credentials below. Do not change the password.",
            category_ids=[streaming.pk],
            variations=[
                {
                    "sku": "SUB-1M",
                    "name": "1 month",
                    "price": Decimal("10000.00"),
                    "duration_days": 30,
                    "tier_prices": [
                        {"tier_id": silver.pk, "price": Decimal("9000.00")},
                        {"tier_id": gold.pk, "price": Decimal("8500.00")},
                    ],
                },
                {"sku": "SUB-3M", "name": "3 months", "price": Decimal("27000.00"), "duration_days": 90},
            ],
        ),
        product_create(
            store=store,
            name="Office suite license",
            category_ids=[software.pk],
            variations=[
                {
                    "sku": "OFFICE-1Y",
                    "name": "1 year",
                    "price": Decimal("45000.00"),
                    "duration_days": 365,
                    "tier_prices": [{"tier_id": gold.pk, "price": Decimal("40000.00")}],
                }
            ],
        ),
        product_create(
            store=store,
            name="Account setup service",
            kind=Product.Kind.SERVICE,
            description="We configure the account for you.",
            post_sale_instructions="We will contact you on WhatsApp within 24 hours.",
            variations=[{"sku": "SETUP", "name": "One-time setup", "price": Decimal("15000.00")}],
        ),
    ]
