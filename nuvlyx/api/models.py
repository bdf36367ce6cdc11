from django.db import models

from nuvlyx.core.fields import CreatedAtField


class IdempotencyKey(models.Model):
    """One row per (store, Idempotency-Key). The unique constraint decides races, not a Python lock."""

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        COMPLETED = "completed"

    store = models.ForeignKey("core.Store", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and canonical body.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_FLIGHT)
    locked_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True)
    # The stored response, encrypted (nuvlyx.core.crypto): it may carry a secret (POST /webhooks
    # returns the endpoint's `secret`), and nothing secret is kept in clear at rest.
    response_body_encrypted = models.TextField(blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = CreatedAtField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "key"], name="api_idempotency_store_key")]
        indexes = [models.Index(fields=["created_at"], name="api_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
