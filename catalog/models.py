"""Catalog: categories, products, variations, price tiers, tier prices, and license stock."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.fields import CreatedAtField, UpdatedAtField, money_field
from nuvlyx.core.models import StoreOwned, StoreScopedManager
from nuvlyx.core.money import format_amount


class PriceTier(StoreOwned):
    name = models.CharField(max_length=60)
    level = models.PositiveIntegerField(help_text="0 = retail; higher levels are better customers.")
    created_at = CreatedAtField()
    updated_at = UpdatedAtField()  # part of the products' ETag (tier names are rendered there)

    class Meta:
        ordering = ["level", "name"]
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="catalog_pricetier_store_name"),
            models.UniqueConstraint(fields=["store", "level"], name="catalog_pricetier_store_level"),
        ]

    def __str__(self) -> str:
        return _("%(name)s (level %(level)s)") % {"name": self.name, "level": self.level}


class Category(StoreOwned):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, allow_unicode=False)
    description = models.TextField(blank=True, default="")
    created_at = CreatedAtField()
    updated_at = UpdatedAtField()  # part of the products' ETag (category names are rendered there)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="catalog_category_store_slug")]

    def __str__(self) -> str:
        return self.name


class Product(StoreOwned):
    class Kind(models.TextChoices):
        DIGITAL = "DIGITAL", "Digital (delivered from license stock)"
        SERVICE = "SERVICE", "Service (fulfilled by hand)"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        INACTIVE = "INACTIVE", "Inactive"
        ARCHIVED = "ARCHIVED", "Archived"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DIGITAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    description = models.TextField(blank=True, default="")
    post_sale_instructions = models.TextField(blank=True, default="")
    categories = models.ManyToManyField(Category, blank=True, related_name="products")
    created_at = CreatedAtField()
    updated_at = UpdatedAtField()

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="catalog_product_store_slug")]
        indexes = [models.Index(fields=["store", "status"], name="catalog_product_store_status")]

    def __str__(self) -> str:
        return self.name


class Variation(StoreOwned):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variations")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True, default="")
    price = money_field(help_text="Base (retail) price.")
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    depends_on_stock = models.BooleanField(default=True)
    low_stock_threshold = models.PositiveIntegerField(default=0)
    # Counters maintained in the same transaction that changes stock (never computed on read).
    stock_available = models.PositiveIntegerField(default=0, editable=False)
    stock_delivered = models.PositiveIntegerField(default=0, editable=False)
    low_stock_notified = models.BooleanField(default=False, editable=False)
    position = models.PositiveIntegerField(default=0)
    created_at = CreatedAtField()
    updated_at = UpdatedAtField()

    class Meta:
        ordering = ["position", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "sku"], name="catalog_variation_store_sku"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="catalog_variation_price_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}" if self.name else self.sku

    @property
    def stock_quantity(self) -> int | None:
        return self.stock_available if self.depends_on_stock else None


class TierPrice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey("core.Store", on_delete=models.CASCADE, related_name="+")
    variation = models.ForeignKey(Variation, on_delete=models.CASCADE, related_name="tier_prices")
    tier = models.ForeignKey(PriceTier, on_delete=models.CASCADE, related_name="tier_prices")
    price = money_field()
    updated_at = UpdatedAtField()  # part of the products' ETag

    objects = StoreScopedManager()

    class Meta:
        ordering = ["tier__level"]
        constraints = [
            models.UniqueConstraint(fields=["variation", "tier"], name="catalog_tierprice_variation_tier"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="catalog_tierprice_price_gte_0"),
        ]

    def __str__(self) -> str:
        return _("%(variation)s at %(tier)s: %(price)s") % {
            "variation": self.variation.sku,
            "tier": self.tier.name,
            "price": format_amount(self.price),
        }


class License(StoreOwned):
    """One unit of stock: encrypted credentials, delivered at most once."""

    class Status(models.TextChoices):
        AVAILABLE = "AVAILABLE"
        DELIVERED = "DELIVERED"
        REVOKED = "REVOKED"

    # No index of its own: the unique (variation, credentials_hash) index leads with it.
    variation = models.ForeignKey(Variation, on_delete=models.CASCADE, related_name="licenses", db_index=False)
    credentials_encrypted = models.TextField(editable=False)
    credentials_hash = models.CharField(max_length=64, editable=False, help_text="Keyed HMAC, for de-duplication.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AVAILABLE)
    created_at = CreatedAtField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["variation", "credentials_hash"], name="catalog_license_variation_hash"),
        ]
        indexes = [
            models.Index(
                fields=["variation", "created_at"],
                name="catalog_license_available",
                condition=models.Q(status="AVAILABLE"),
            ),
        ]

    def __str__(self) -> str:
        return _("License of %(sku)s (%(status)s)") % {"sku": self.variation.sku, "status": self.get_status_display()}
