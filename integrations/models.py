import uuid

from django.conf import settings
from django.db import models

from nuvlyx.core.fields import CreatedAtField, UpdatedAtField
from nuvlyx.core.models import StoreOwned, StoreScopedManager
from nuvlyx.core.timeutil import now


class ApiToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey("core.Store", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list, help_text="Scopes this token grants.")
    prefix = models.CharField(max_length=24, editable=False, help_text="First characters, for recognition.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty uses the deployment default."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = CreatedAtField()
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = StoreScopedManager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

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

    api_key_encrypted = models.TextField(editable=False, help_text="nuvlyx.core.crypto.encrypt() output.")
    api_key_last4 = models.CharField(max_length=4, editable=False, blank=True, default="")
    sender = models.CharField(
        max_length=64, help_text="Mosend sender: the WhatsApp phone-number id (or E.164 number) to send from."
    )
    enabled = models.BooleanField(default=True, help_text="Off: routed events are logged as skipped, not sent.")
    created_at = CreatedAtField()
    updated_at = UpdatedAtField()

    class Meta:
        verbose_name = "WhatsApp (Mosend) connection"
        verbose_name_plural = "WhatsApp (Mosend)"
        constraints = [models.UniqueConstraint(fields=["store"], name="integrations_mosendconnection_one_per_store")]

    def __str__(self) -> str:
        return f"Mosend ····{self.api_key_last4}" if self.api_key_last4 else "Mosend (no key)"


class TemplateRoute(StoreOwned):
    """An event type of the store → an approved Mosend template and its ordered parameters."""

    event_type = models.CharField(max_length=64, help_text="The event that triggers this template.")
    template_name = models.CharField(max_length=512, help_text="The approved template's name in Mosend.")
    language = models.CharField(max_length=16, help_text="Template language code, e.g. es, es_CO, en_US.")
    parameters = models.JSONField(
        default=list, blank=True, help_text="Ordered list of parameter keys ({{1}}, {{2}}, …); see docs/whatsapp.md."
    )
    enabled = models.BooleanField(default=True)
    created_at = CreatedAtField()
    updated_at = UpdatedAtField()

    class Meta:
        ordering = ["event_type"]
        verbose_name = "WhatsApp template route"
        constraints = [
            models.UniqueConstraint(fields=["store", "event_type"], name="integrations_templateroute_store_event")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.template_name} ({self.language})"

    def clean(self) -> None:
        from .whatsapp import validate_route

        validate_route(
            event_type=self.event_type,
            template_name=self.template_name,
            language=self.language,
            parameters=self.parameters,
        )


class MessageLog(StoreOwned):
    """One WhatsApp send (or skip) per (event, route). Never holds the API key or parameter values."""

    class Status(models.TextChoices):
        PENDING = "PENDING"
        SENT = "SENT"
        FAILED = "FAILED"
        SKIPPED = "SKIPPED"

    event = models.ForeignKey("core.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_type = models.CharField(max_length=64)
    customer = models.ForeignKey("wallets.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    route = models.ForeignKey(TemplateRoute, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    template_name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    parameter_keys = models.JSONField(default=list, blank=True, help_text="The keys sent (never their values).")
    phone = models.CharField(max_length=16, blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True, default="", help_text="Why it was skipped, or the last error.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    mosend_message_id = models.CharField(max_length=128, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = CreatedAtField()
    updated_at = UpdatedAtField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "WhatsApp message"
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
