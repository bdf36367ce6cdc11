"""Customers and their prepaid wallets: a balance row writers lock, and an append-only ledger."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.fields import CreatedAtField, UpdatedAtField, money_field
from nuvlyx.core.models import StoreOwned, StoreScopedQuerySet
from nuvlyx.core.money import format_amount


class Customer(StoreOwned):
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=16, null=True, blank=True, help_text="E.164, e.g. +573001234567.")
    phone_linked_at = models.DateTimeField(null=True, blank=True, help_text="Set once WhatsApp is linked.")
    tier = models.ForeignKey(
        "catalog.PriceTier", null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    created_at = CreatedAtField()
    updated_at = UpdatedAtField()

    class Meta:
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

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="wallet")
    store = models.ForeignKey("core.Store", on_delete=models.CASCADE, related_name="+")
    balance = money_field(default=0)
    updated_at = UpdatedAtField()

    class Meta:
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
        RECHARGE = "RECHARGE"
        PURCHASE = "PURCHASE"
        REFUND = "REFUND"
        ADJUSTMENT = "ADJUSTMENT"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = money_field(help_text="Signed: a purchase is negative.")
    balance_after = money_field()
    reference = models.CharField(max_length=120, blank=True, default="")
    note = models.CharField(max_length=500, blank=True, default="")
    order_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor_token_id = models.UUIDField(null=True, blank=True, help_text="API token that made the change.")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = CreatedAtField()

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
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
