"""Orders and their items. Placing, refunding and cancelling live in orders.services."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.fields import CreatedAtField, UpdatedAtField, money_field
from nuvlyx.core.models import StoreOwned, StoreScopedManager


class OrderCounter(models.Model):
    """Per-store order number sequence; locked and bumped last in order_place (gap-free)."""

    store = models.OneToOneField("core.Store", primary_key=True, on_delete=models.CASCADE, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return _("Order numbers of %(store)s (last %(number)s)") % {
            "store": self.store.name,
            "number": self.last_number,
        }


class Order(StoreOwned):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        PROCESSING = "PROCESSING"
        COMPLETED = "COMPLETED"
        FAILED = "FAILED"
        REFUNDED = "REFUNDED"
        CANCELLED = "CANCELLED"

    number = models.PositiveIntegerField()
    customer = models.ForeignKey("wallets.Customer", on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=10, choices=Status.choices)
    total_amount = money_field()
    currency = models.CharField(max_length=3)
    notes = models.TextField(blank=True, default="")
    created_at = CreatedAtField()
    updated_at = UpdatedAtField()
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="orders_order_store_number"),
            models.CheckConstraint(condition=models.Q(total_amount__gte=0), name="orders_order_total_gte_0"),
        ]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="orders_order_store_created"),
            models.Index(fields=["store", "status", "-created_at"], name="orders_order_store_status"),
            models.Index(fields=["store", "customer", "-created_at"], name="orders_order_store_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.order_number} · {self.customer.name}"

    @property
    def order_number(self) -> str:
        return f"ORD-{self.number:06d}"


class OrderItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        DELIVERED = "DELIVERED"
        REFUNDED = "REFUNDED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey("core.Store", on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="order_items")
    variation = models.ForeignKey("catalog.Variation", on_delete=models.PROTECT, related_name="order_items")
    product_name = models.CharField(max_length=200)
    sku = models.CharField(max_length=64)
    price_paid = money_field()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # A license is delivered at most once: the one-to-one is the database's guarantee.
    license = models.OneToOneField(
        "catalog.License", null=True, blank=True, on_delete=models.PROTECT, related_name="order_item"
    )
    # SERVICE items: what the owner entered when fulfilling by hand (encrypted, like licenses).
    fulfilment_credentials_encrypted = models.TextField(blank=True, default="", editable=False)
    fulfilment_note = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = CreatedAtField()

    objects = StoreScopedManager()

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["store", "variation"], name="orders_item_store_variation"),
            models.Index(fields=["store", "product"], name="orders_item_store_product"),
        ]

    def __str__(self) -> str:
        return f"{self.product_name} ({self.sku}) · {self.order.order_number}"
