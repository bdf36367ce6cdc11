import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.fields import CreatedAtField, UpdatedAtField
from nuvlyx.core.models import StoreOwned, StoreScopedManager
from nuvlyx.core.timeutil import now


class ApiToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    store = models.ForeignKey(
        "core.Store", on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("Store")
    )
    name = models.CharField(max_length=100, verbose_name=_("Name"))
    scopes = models.JSONField(default=list, help_text=_("Scopes this token grants."), verbose_name=_("Permissions"))
    prefix = models.CharField(
        max_length=24, editable=False, help_text=_("First characters, for recognition."), verbose_name=_("Prefix")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("Token fingerprint"))
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Requests per minute; empty uses the deployment default."),
        verbose_name=_("Requests per minute"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Created by"),
    )
    created_at = CreatedAtField(verbose_name=_("Created"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Expires"))
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("Last used"))
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("Revoked"))

    objects = StoreScopedManager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now())

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now():
            return "expired"
        return "active"


# --- WhatsApp through the owner's Mosend account (docs/whatsapp.md) -------------------------------
class MosendConnection(StoreOwned):
    """One per store: the owner's Mosend API key (encrypted, write-only) and sender."""

    api_key_encrypted = models.TextField(
        editable=False, help_text=_("nuvlyx.core.crypto.encrypt() output."), verbose_name=_("API key (encrypted)")
    )
    api_key_last4 = models.CharField(
        max_length=4, editable=False, blank=True, default="", verbose_name=_("API key (last 4)")
    )
    sender = models.CharField(
        max_length=64,
        help_text=_("Mosend sender: the WhatsApp phone-number id (or E.164 number) to send from."),
        verbose_name=_("Sender"),
    )
    enabled = models.BooleanField(
        default=True, help_text=_("Off: routed events are logged as skipped, not sent."), verbose_name=_("Enabled")
    )
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("WhatsApp (Mosend) connection")
        verbose_name_plural = _("WhatsApp (Mosend)")
        constraints = [models.UniqueConstraint(fields=["store"], name="integrations_mosendconnection_one_per_store")]

    def __str__(self) -> str:
        return f"Mosend ····{self.api_key_last4}" if self.api_key_last4 else "Mosend (no key)"


class TemplateRoute(StoreOwned):
    """An event type of the store → an approved Mosend template and its ordered parameters."""

    event_type = models.CharField(
        max_length=64, help_text=_("The event that triggers this template."), verbose_name=_("Event")
    )
    template_name = models.CharField(
        max_length=512, help_text=_("The approved template's name in Mosend."), verbose_name=_("Template")
    )
    language = models.CharField(
        max_length=16, help_text=_("Template language code, e.g. es, es_CO, en_US."), verbose_name=_("Language")
    )
    parameters = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Ordered list of parameter keys ({{1}}, {{2}}, …)."),
        verbose_name=_("Parameters"),
    )
    enabled = models.BooleanField(default=True, verbose_name=_("Enabled"))
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("WhatsApp template route")
        verbose_name_plural = _("WhatsApp template routes")
        ordering = ["event_type"]
        constraints = [
            models.UniqueConstraint(fields=["store", "event_type"], name="integrations_templateroute_store_event")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.template_name} ({self.language})"


class MessageLog(StoreOwned):
    """One WhatsApp send (or skip) per (event, route). Never holds the API key; parameter values only for a
    sandbox's SIMULATED message (encrypted)."""

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        SENT = "SENT", _("Sent")
        FAILED = "FAILED", _("Failed")
        SKIPPED = "SKIPPED", _("Skipped")
        SIMULATED = "SIMULATED", _("Simulated (test data)")

    event = models.ForeignKey(
        "core.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("Event")
    )
    event_type = models.CharField(max_length=64, verbose_name=_("Event"))
    customer = models.ForeignKey(
        "wallets.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Customer"),
    )
    route = models.ForeignKey(
        TemplateRoute, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("Route")
    )
    template_name = models.CharField(max_length=512, verbose_name=_("Template"))
    language = models.CharField(max_length=16, verbose_name=_("Language"))
    parameter_keys = models.JSONField(
        default=list, blank=True, help_text=_("The keys sent (never their values)."), verbose_name=_("Parameters")
    )
    phone = models.CharField(max_length=16, blank=True, default="", verbose_name=_("Phone"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("Status"))
    reason = models.TextField(
        blank=True, default="", help_text=_("Why it was skipped, or the last error."), verbose_name=_("Reason")
    )
    # Sandbox only (SIMULATED): the parameter values that would have been sent, encrypted (they may
    # hold license credentials, even if test ones). Live messages never store values.
    simulated_parameters_encrypted = models.TextField(blank=True, default="", editable=False)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("HTTP status"))
    mosend_message_id = models.CharField(max_length=128, blank=True, default="", verbose_name=_("Mosend message ID"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("Attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Next attempt"))
    leased_until = models.DateTimeField(null=True, blank=True, verbose_name=_("Leased until"))
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Sent"))

    class Meta:
        verbose_name = _("WhatsApp message")
        verbose_name_plural = _("WhatsApp messages")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["event", "route"], name="integrations_messagelog_event_route"),
        ]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="integrations_msg_store_created"),
            models.Index(
                fields=["next_attempt_at"],
                name="integrations_msg_pending",
                condition=models.Q(status="PENDING"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template_name} → {self.phone or '—'} ({self.get_status_display()})"
