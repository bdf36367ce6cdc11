"""Webhook endpoints, deliveries and attempts.

- WebhookEndpoint: where a store wants its events, which ones, and the (encrypted) signing secret.
  `active` is the owner's switch; an automatic disable (410 Gone, 5 days of failures) turns it off
  and records `disabled_at` / `disabled_reason` so the owner sees why in the admin.
- Delivery: one event to one endpoint. Unique per (endpoint, event) for the normal fan-out, so a
  re-dispatched event never creates a second delivery; a redelivery is a new row pointing at the
  original (`redelivery_of`), same event, so the receiver sees the same `webhook-id`.
- Attempt: one row per HTTP try (append-only log).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from nuvlyx.core.fields import CreatedAtField, MillisecondDateTimeField, UpdatedAtField
from nuvlyx.core.models import StoreOwned

RESPONSE_EXCERPT_BYTES = 1024


class WebhookEndpoint(StoreOwned):
    url = models.CharField(max_length=2000, verbose_name=_("URL"))
    events = models.JSONField(
        default=list, help_text=_('Event types, or ["*"] for every event.'), verbose_name=_("Events")
    )
    description = models.CharField(max_length=500, blank=True, default="", verbose_name=_("Description"))
    active = models.BooleanField(default=True, verbose_name=_("Active"))
    secret_encrypted = models.TextField(editable=False, verbose_name=_("Signing secret (encrypted)"))
    # Failure tracking: set at the first failed attempt after a success, cleared by a success.
    failing_since = MillisecondDateTimeField(null=True, blank=True, verbose_name=_("Failing since"))
    disabled_at = MillisecondDateTimeField(null=True, blank=True, verbose_name=_("Disabled"))
    disabled_reason = models.CharField(max_length=300, blank=True, default="", verbose_name=_("Why it was disabled"))
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["store", "created_at"], name="webhooks_endpoint_store")]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        """Fan-out rule. webhook.test never fans out: it targets one endpoint (see services)."""
        if event_type == "webhook.test":
            return False
        return "*" in self.events or event_type in self.events


class Delivery(StoreOwned):
    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        SUCCEEDED = "SUCCEEDED", _("Succeeded")
        FAILED = "FAILED", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("Endpoint")
    )
    event = models.ForeignKey("core.Event", on_delete=models.CASCADE, related_name="+", verbose_name=_("Event"))
    event_type = models.CharField(
        max_length=64, verbose_name=_("Event")
    )  # copied from the event: lists never load payloads
    redelivery_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redeliveries",
        verbose_name=_("Redelivery of"),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("Status"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("Attempts"))
    next_attempt_at = MillisecondDateTimeField(null=True, blank=True, verbose_name=_("Next attempt"))
    # In-flight lease: a worker owns the delivery until then (a dead worker's lease simply expires).
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("Locked until"))
    response_status = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("HTTP status"))
    last_error = models.CharField(max_length=500, blank=True, default="", verbose_name=_("Last error"))
    duration_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("Duration (ms)"))
    delivered_at = MillisecondDateTimeField(null=True, blank=True, verbose_name=_("Delivered"))
    created_at = CreatedAtField(verbose_name=_("Created"))
    updated_at = UpdatedAtField(verbose_name=_("Updated"))

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"],
                condition=models.Q(redelivery_of__isnull=True),
                name="webhooks_delivery_once_per_event",
            ),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhooks_delivery_endpoint"),
            models.Index(
                fields=["next_attempt_at"], name="webhooks_delivery_due", condition=models.Q(status="PENDING")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint.url} ({self.get_status_display()})"


class Attempt(StoreOwned):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("Delivery")
    )
    number = models.PositiveIntegerField(verbose_name=_("Number"))
    response_status = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("HTTP status"))
    duration_ms = models.PositiveIntegerField(default=0, verbose_name=_("Duration (ms)"))
    error = models.CharField(max_length=500, blank=True, default="", verbose_name=_("Error"))
    response_excerpt = models.TextField(
        blank=True, default="", verbose_name=_("Response (excerpt)")
    )  # at most RESPONSE_EXCERPT_BYTES of the body
    created_at = CreatedAtField(verbose_name=_("Created"))

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_number")]

    def __str__(self) -> str:
        outcome = f"HTTP {self.response_status}" if self.response_status else self.error
        return _("Attempt %(number)s: %(outcome)s") % {"number": self.number, "outcome": outcome}
