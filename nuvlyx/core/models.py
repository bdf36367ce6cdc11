"""The shared kernel: stores (tenants), their members, and the event outbox."""

import json
import uuid
import zoneinfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .crypto import decrypt, encrypt
from .fields import CreatedAtField, UpdatedAtField


class StoreScopedQuerySet(models.QuerySet):
    """Every store-owned model uses this: `Model.objects.for_store(store)`."""

    def for_store(self, store):
        store_id = getattr(store, "pk", store)
        return self.filter(store_id=store_id)


_StoreScopedManagerBase = models.Manager.from_queryset(StoreScopedQuerySet)


class StoreScopedManager(_StoreScopedManagerBase):
    pass


class StoreOwned(models.Model):
    """Abstract base: a UUID primary key, a store, and the for_store() queryset."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey("core.Store", on_delete=models.CASCADE, related_name="+")

    objects = StoreScopedManager()

    class Meta:
        abstract = True


def validate_country(value: str) -> None:
    """ISO 3166-1 alpha-2, upper case, a country phonenumbers knows (local phones are read with it)."""
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(_("Enter an ISO 3166-1 country code such as CO."), code="invalid_country")


def validate_timezone(value: str) -> None:
    """An IANA time zone name (zoneinfo), such as America/Bogota."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Enter an IANA time zone such as America/Bogota."), code="invalid_timezone")


class Store(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="COP",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("An ISO 4217 code such as COP."))],
        help_text=_("Base currency (ISO 4217) in which every amount of this store is expressed."),
    )
    country = models.CharField(
        _("country"),
        max_length=2,
        default="CO",
        validators=[validate_country],
        help_text=_("ISO 3166-1 code (CO, BR, MX…): how amounts are written and local phone numbers are read."),
    )
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="America/Bogota",
        validators=[validate_timezone],
        help_text=_('IANA time zone: the admin shows dates and counts "today" in it.'),
    )
    # Test mode (docs/testing-your-integration.md): the sandbox is a second Store whose `sandbox_of` is
    # the live store. Tenancy is by store, so every rule applies to it unchanged; `nvl_test_` tokens
    # belong to it. Created lazily by nuvlyx.core.sandbox.store_sandbox().
    sandbox_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.CASCADE,
        related_name="sandbox",
        verbose_name=_("sandbox of"),
    )
    created_at = CreatedAtField(_("Created"))
    updated_at = UpdatedAtField(_("Updated"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name

    @property
    def livemode(self) -> bool:
        """False for a sandbox (test data), True for a live store."""
        return self.sandbox_of_id is None


class StoreMember(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        STAFF = "staff", _("Staff")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="members", verbose_name=_("store"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="store_memberships", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.OWNER)
    created_at = CreatedAtField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "user"], name="core_storemember_unique")]
        verbose_name = _("store member")
        verbose_name_plural = _("store members")

    def __str__(self) -> str:
        return f"{self.user} · {self.store} ({self.get_role_display()})"


class AdminPreference(models.Model):
    """An admin user's own choices: the language they picked in the header (wins over the browser's)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="admin_preference"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True, default="")
    test_mode = models.BooleanField(
        _("test data"), default=False, help_text=_("The admin shows the store's sandbox (test data) instead.")
    )
    updated_at = UpdatedAtField()

    def __str__(self) -> str:
        return f"{self.user} ({self.language or '-'})"


class Event(models.Model):
    """The outbox: written in the same transaction as the change that caused it.

    `dispatched_at` is set once the consumers (webhooks, WhatsApp) have fanned it out;
    the sweeper re-dispatches anything still undispatched, so a broker outage loses nothing.
    A dispatch that fails (a consumer raised) is counted; after EVENT_DISPATCH_MAX_ATTEMPTS
    failures the event is dead (`dead_at`): never swept again, listed as dead in the admin.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="events", verbose_name=_("store"))
    type = models.CharField(_("type"), max_length=64)
    # The envelope, encrypted at rest: order events carry license credentials (API.md).
    payload_encrypted = models.TextField(editable=False)
    created_at = CreatedAtField(_("Created"))
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    # Failed dispatches. db_default: the outbox INSERT (core/sql.py) names only the columns above.
    dispatch_attempts = models.PositiveIntegerField(_("failed dispatches"), default=0, db_default=0)
    dispatch_error = models.CharField(_("last dispatch error"), max_length=300, blank=True, default="", db_default="")
    dead_at = models.DateTimeField(_("dead since"), null=True, blank=True)

    objects = StoreScopedManager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["store", "type", "-created_at"], name="core_event_store_type"),
            models.Index(
                fields=["created_at"],
                name="core_event_undispatched",
                condition=models.Q(dispatched_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} · {self.created_at:%Y-%m-%d %H:%M}" if self.created_at else self.type

    @property
    def payload(self) -> dict:
        """The webhook envelope {id, type, createdAt, storeId, livemode, data}, decrypted once per instance."""
        cached = self.__dict__.get("_payload")
        if cached is None:
            cached = json.loads(decrypt(self.payload_encrypted))
            self.__dict__["_payload"] = cached
        return cached

    @payload.setter
    def payload(self, value: dict) -> None:
        self.__dict__["_payload"] = value
        self.payload_encrypted = encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
