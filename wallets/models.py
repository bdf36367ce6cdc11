"""Customers and their prepaid wallets: a balance row writers lock, and an append-only ledger."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.fields import CreatedAtField, UpdatedAtField, money_field
from nuvlyx.core.models import StoreOwned, StoreScopedQuerySet
from nuvlyx.core.money import format_amount


class Customer(StoreOwned):
    name = models.CharField(max_length=200, verbose_name=_("Name"))
    email = models.EmailField(max_length=254, blank=True, default="", verbose_name=_("Email"))
    phone = models.CharField(
        max_length=16, null=True, blank=True, help_text=_("E.164, e.g. +573001234567."), verbose_name=_("Phone")
    )
    phone_linked_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Set once WhatsApp is linked."), verbose_name=_("Phone linked")
    )
    tier = models.ForeignKey(
        "catalog.PriceTier",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        verbose_name=_("Price tier"),
    )
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "phone"],
                name="wallets_customer_linked_phone",
                condition=models.Q(phone_linked_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["store", "phone"], name="wallets_customer_store_phone"),
            models.Index(fields=["store", "-created_at"], name="wallets_customer_store_created"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def phone_linked(self) -> bool:
        return self.phone_linked_at is not None


class Wallet(models.Model):
    """The balance row. Only wallets.services writes it, under a row lock."""

    customer = models.OneToOneField(
        Customer, primary_key=True, on_delete=models.CASCADE, related_name="wallet", verbose_name=_("Customer")
    )
    store = models.ForeignKey("core.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("Store"))
    balance = money_field(default=0, verbose_name=_("Balance"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="wallets_wallet_balance_gte_0"),
        ]

    def __str__(self) -> str:
        return _("Wallet of %(customer)s") % {"customer": self.customer.name}


class LedgerEntryQuerySet(StoreScopedQuerySet):
    def update(self, **kwargs):
        raise TypeError("ledger entries are append-only")

    def delete(self):
        raise TypeError("ledger entries are append-only")


class LedgerEntry(StoreOwned):
    """Append-only. Never updated, never deleted (model, admin and a database trigger)."""

    class Kind(models.TextChoices):
        RECHARGE = "RECHARGE", _("Recharge")
        PURCHASE = "PURCHASE", _("Purchase")
        REFUND = "REFUND", _("Refund")
        ADJUSTMENT = "ADJUSTMENT", _("Adjustment")

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries", verbose_name=_("Wallet"))
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=_("Type"))
    amount = money_field(help_text=_("Signed: a purchase is negative."), verbose_name=_("Amount"))
    balance_after = money_field(verbose_name=_("Balance after"))
    reference = models.CharField(max_length=120, blank=True, default="", verbose_name=_("Reference"))
    note = models.CharField(max_length=500, blank=True, default="", verbose_name=_("Note"))
    order_id = models.UUIDField(null=True, blank=True, db_index=True, verbose_name=_("Order"))
    actor_token_id = models.UUIDField(
        null=True, blank=True, help_text=_("API token that made the change."), verbose_name=_("API token")
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("By"),
    )
    created_at = CreatedAtField(verbose_name=_("Created"))

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="wallets_ledger_balance_after_gte_0"),
            models.CheckConstraint(condition=~models.Q(amount=0), name="wallets_ledger_amount_nonzero"),
        ]
        indexes = [models.Index(fields=["wallet", "-created_at"], name="wallets_ledger_wallet_created")]

    def __str__(self) -> str:
        sign = "+" if self.amount > 0 else ""
        return f"{self.get_kind_display()} {sign}{format_amount(self.amount)} · {self.wallet.customer.name}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("ledger entries are append-only")
