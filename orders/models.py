"""Orders and their items. Placing, refunding and cancelling live in orders.services."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.fields import CreatedAtField, UpdatedAtField, money_field
from nuvlyx.core.formats import format_order_number
from nuvlyx.core.models import StoreOwned, StoreScopedManager


class OrderCounter(models.Model):
    """Per-store order number sequence; locked and bumped last in order_place (gap-free)."""

    store = models.OneToOneField(
        "core.Store", primary_key=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("Store")
    )
    last_number = models.PositiveIntegerField(default=0, verbose_name=_("Last number"))

    class Meta:
        verbose_name = _("order counter")
        verbose_name_plural = _("order counters")

    def __str__(self) -> str:
        return _("Order numbers of %(store)s (last %(number)s)") % {
            "store": self.store.name,
            "number": self.last_number,
        }


class Order(StoreOwned):
    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        PROCESSING = "PROCESSING", _("Processing")
        COMPLETED = "COMPLETED", _("Completed")
        FAILED = "FAILED", _("Failed")
        REFUNDED = "REFUNDED", _("Refunded")
        CANCELLED = "CANCELLED", _("Cancelled")

    number = models.PositiveIntegerField(verbose_name=_("Number"))
    customer = models.ForeignKey(
        "wallets.Customer", on_delete=models.PROTECT, related_name="orders", verbose_name=_("Customer")
    )
    status = models.CharField(max_length=10, choices=Status.choices, verbose_name=_("Status"))
    total_amount = money_field(verbose_name=_("Total"))
    currency = models.CharField(max_length=3, verbose_name=_("Currency"))
    notes = models.TextField(blank=True, default="", verbose_name=_("Notes"))
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Completed"))
    refunded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Refunded"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Cancelled"))

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
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
        return format_order_number(self.number)


class OrderItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        DELIVERED = "DELIVERED", _("Delivered")
        REFUNDED = "REFUNDED", _("Refunded")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    store = models.ForeignKey("core.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("Store"))
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", verbose_name=_("Order"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("Position"))
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="order_items", verbose_name=_("Product")
    )
    variation = models.ForeignKey(
        "catalog.Variation", on_delete=models.PROTECT, related_name="order_items", verbose_name=_("Variation")
    )
    product_name = models.CharField(max_length=200, verbose_name=_("Product name"))
    sku = models.CharField(max_length=64, verbose_name=_("SKU"))
    price_paid = money_field(verbose_name=_("Price paid"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("Status"))
    # A license is delivered at most once: the one-to-one is the database's guarantee.
    license = models.OneToOneField(
        "catalog.License",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_item",
        verbose_name=_("License"),
    )
    # SERVICE items: what the owner entered when fulfilling by hand (encrypted, like licenses).
    fulfilment_credentials_encrypted = models.TextField(
        blank=True, default="", editable=False, verbose_name=_("Credentials (encrypted)")
    )
    fulfilment_note = models.TextField(blank=True, default="", verbose_name=_("Fulfilment note"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Delivered"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Expires"))
    # A renewal: this item continues `renews_item`'s time. One-to-one: an item is renewed at most once
    # (the next renewal renews this item).
    renews_item = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewed_by",
        verbose_name=_("Renews"),
    )
    created_at = CreatedAtField(verbose_name=_("Created"))

    objects = StoreScopedManager()

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["store", "variation"], name="orders_item_store_variation"),
            models.Index(fields=["store", "product"], name="orders_item_store_product"),
            models.Index(fields=["expires_at"], name="orders_item_expiring", condition=models.Q(status="DELIVERED")),
        ]

    def __str__(self) -> str:
        return f"{self.product_name} ({self.sku}) · {self.order.order_number}"


DEFAULT_REMINDER_DAYS = [3, 1, 0]
DEFAULT_MAX_REPLACEMENTS = 3


def default_reminder_days() -> list[int]:
    return list(DEFAULT_REMINDER_DAYS)


class SubscriptionSettings(models.Model):
    """A store's subscription rules: when to remind before expiry, how many warranty replacements per item.

    A store without a row uses the defaults (3 and 1 days before, and on the day of expiry; 3 replacements).
    """

    store = models.OneToOneField(
        "core.Store", primary_key=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("Store")
    )
    reminder_days = ArrayField(
        models.PositiveSmallIntegerField(),
        default=default_reminder_days,
        blank=True,
        size=10,
        help_text=_("Days before expiry to send license.expiring (0 = on the day of expiry), e.g. 3,1,0."),
        verbose_name=_("Reminder days"),
    )
    max_replacements_per_item = models.PositiveSmallIntegerField(
        default=DEFAULT_MAX_REPLACEMENTS,
        help_text=_("Warranty replacements allowed per order item."),
        verbose_name=_("Replacements per item"),
    )
    updated_at = UpdatedAtField(verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("subscription settings")
        verbose_name_plural = _("subscription settings")

    def __str__(self) -> str:
        return _("Subscription settings of %(store)s") % {"store": self.store.name}


class OrderItemReplacement(StoreOwned):
    """One warranty replacement of an item's license: the old one became REPLACED, the new one is the item's."""

    item = models.ForeignKey(
        OrderItem, on_delete=models.CASCADE, related_name="replacements", verbose_name=_("Order item")
    )
    old_license = models.OneToOneField(
        "catalog.License", on_delete=models.PROTECT, related_name="replaced_by", verbose_name=_("Replaced license")
    )
    new_license = models.OneToOneField(
        "catalog.License", on_delete=models.PROTECT, related_name="replacement_of", verbose_name=_("New license")
    )
    reason = models.CharField(max_length=500, blank=True, default="", verbose_name=_("Reason"))
    replaced_at = CreatedAtField(verbose_name=_("Replaced"))

    class Meta:
        verbose_name = _("license replacement")
        verbose_name_plural = _("license replacements")
        ordering = ["replaced_at", "id"]
        indexes = [models.Index(fields=["item", "replaced_at"], name="orders_replacement_item")]

    def __str__(self) -> str:
        return f"{self.item_id} · {self.replaced_at:%Y-%m-%d %H:%M}" if self.replaced_at else str(self.item_id)


class LicenseReminder(StoreOwned):
    """One reminder point of one delivered item, claimed once: the unique (item, point) row is the guarantee.

    `point` = days left for license.expiring (0 = the day of expiry), EXPIRED_POINT for license.expired.
    SKIPPED = the point had passed more than a day ago when the task first saw it (downtime): no event.
    """

    EXPIRED_POINT = -1

    class Status(models.TextChoices):
        SENT = "SENT", _("Sent")
        SKIPPED = "SKIPPED", _("Skipped (late)")

    item = models.ForeignKey(
        OrderItem, on_delete=models.CASCADE, related_name="reminders", verbose_name=_("Order item")
    )
    license = models.ForeignKey(
        "catalog.License",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reminders",
        verbose_name=_("License"),
    )
    point = models.SmallIntegerField(verbose_name=_("Reminder point"))
    status = models.CharField(max_length=8, choices=Status.choices, verbose_name=_("Status"))
    due_at = models.DateTimeField(verbose_name=_("Due"))
    created_at = CreatedAtField(verbose_name=_("Created"))

    class Meta:
        verbose_name = _("license reminder")
        verbose_name_plural = _("license reminders")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["item", "point"], name="orders_reminder_item_point")]
        indexes = [models.Index(fields=["status", "created_at"], name="orders_reminder_status")]

    def __str__(self) -> str:
        return f"{self.item_id} · {self.point}"


class LicenseState:
    ACTIVE = "ACTIVE"  # delivered, no expiry or not expired yet
    EXPIRED = "EXPIRED"  # delivered, expiresAt reached
    REFUNDED = "REFUNDED"  # its order was refunded or cancelled

    values = (ACTIVE, EXPIRED, REFUNDED)
