"""Catalog: categories, products, variations, price tiers, tier prices, and license stock."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.fields import CreatedAtField, UpdatedAtField, money_field
from nuvlyx.core.models import StoreOwned, StoreScopedManager
from nuvlyx.core.money import format_amount


class PriceTier(StoreOwned):
    name = models.CharField(max_length=60, verbose_name=_("Name"))
    level = models.PositiveIntegerField(
        help_text=_("0 = retail; higher levels are better customers."), verbose_name=_("Level")
    )
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = (
        UpdatedAtField()
    )  # part of the products' ETag (tier names are rendered there, verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        ordering = ["level", "name"]
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="catalog_pricetier_store_name"),
            models.UniqueConstraint(fields=["store", "level"], name="catalog_pricetier_store_level"),
        ]

    def __str__(self) -> str:
        return _("%(name)s (level %(level)s)") % {"name": self.name, "level": self.level}


class Category(StoreOwned):
    name = models.CharField(max_length=120, verbose_name=_("Name"))
    slug = models.SlugField(max_length=140, allow_unicode=False, verbose_name=_("Slug"))
    description = models.TextField(blank=True, default="", verbose_name=_("Description"))
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = (
        UpdatedAtField()
    )  # part of the products' ETag (category names are rendered there, verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="catalog_category_store_slug")]

    def __str__(self) -> str:
        return self.name


class Product(StoreOwned):
    class Kind(models.TextChoices):
        DIGITAL = "DIGITAL", _("Digital (delivered from license stock)")
        SERVICE = "SERVICE", _("Service (fulfilled by hand)")

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        INACTIVE = "INACTIVE", _("Inactive")
        ARCHIVED = "ARCHIVED", _("Archived")

    name = models.CharField(max_length=200, verbose_name=_("Name"))
    slug = models.SlugField(max_length=220, verbose_name=_("Slug"))
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DIGITAL, verbose_name=_("Type"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("Status"))
    description = models.TextField(blank=True, default="", verbose_name=_("Description"))
    post_sale_instructions = models.TextField(blank=True, default="", verbose_name=_("Post-sale instructions"))
    categories = models.ManyToManyField(Category, blank=True, related_name="products", verbose_name=_("Categories"))
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="catalog_product_store_slug")]
        indexes = [models.Index(fields=["store", "status"], name="catalog_product_store_status")]

    def __str__(self) -> str:
        return self.name


class Variation(StoreOwned):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variations", verbose_name=_("Product"))
    sku = models.CharField(max_length=64, verbose_name=_("SKU"))
    name = models.CharField(max_length=200, blank=True, default="", verbose_name=_("Name"))
    price = money_field(help_text=_("Base (retail) price."), verbose_name=_("Price"))
    duration_days = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("Duration (days)"))
    depends_on_stock = models.BooleanField(default=True, verbose_name=_("Delivered from stock"))
    low_stock_threshold = models.PositiveIntegerField(default=0, verbose_name=_("Low-stock alert at"))
    # Counters maintained in the same transaction that changes stock (never computed on read).
    stock_available = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("Available"))
    stock_delivered = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("Delivered"))
    low_stock_notified = models.BooleanField(default=False, editable=False, verbose_name=_("Low-stock alert sent"))
    position = models.PositiveIntegerField(default=0, verbose_name=_("Position"))
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("variation")
        verbose_name_plural = _("variations")
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
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    store = models.ForeignKey("core.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("Store"))
    variation = models.ForeignKey(
        Variation, on_delete=models.CASCADE, related_name="tier_prices", verbose_name=_("Variation")
    )
    tier = models.ForeignKey(
        PriceTier, on_delete=models.CASCADE, related_name="tier_prices", verbose_name=_("Price tier")
    )
    price = money_field(verbose_name=_("Price"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))  # part of the products' ETag

    objects = StoreScopedManager()

    class Meta:
        verbose_name = _("tier price")
        verbose_name_plural = _("tier prices")
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
        AVAILABLE = "AVAILABLE", _("Available")
        DELIVERED = "DELIVERED", _("Delivered")
        REVOKED = "REVOKED", _("Revoked")
        REPLACED = "REPLACED", _("Replaced (warranty)")

    # No index of its own: the unique (variation, credentials_hash) index leads with it.
    variation = models.ForeignKey(
        Variation, on_delete=models.CASCADE, related_name="licenses", db_index=False, verbose_name=_("Variation")
    )
    credentials_encrypted = models.TextField(editable=False, verbose_name=_("Credentials (encrypted)"))
    credentials_hash = models.CharField(
        max_length=64,
        editable=False,
        help_text=_("Keyed HMAC, for de-duplication."),
        verbose_name=_("Credentials fingerprint"),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AVAILABLE, verbose_name=_("Status"))
    created_at = CreatedAtField(verbose_name=_("Created"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Delivered"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Expires"))

    class Meta:
        verbose_name = _("license")
        verbose_name_plural = _("licenses")
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
