"""The hand-written SQL of the Idempotency-Key path (nuvlyx/api/idempotency.py): every keyed POST runs
both statements, so neither pays the ORM's compilation (issue 15)."""

from nuvlyx.core.sql import render

from .models import IdempotencyKey

# In the model's field order (Model.from_db fills the concrete fields in order).
KEY_FIELDS = [
    f.attname for f in IdempotencyKey._meta.concrete_fields if f.attname not in ("store_id", "key", "locked_at")
]
KEY_LOOKUP = render(
    "SELECT "  # noqa: S608 - names from _meta only
    + ", ".join(f"{{K.{name}}}" for name in KEY_FIELDS)
    + " FROM {K} WHERE {K.store} = %s AND {K.key} = %s",
    K=IdempotencyKey,
)
KEY_DELETE = render("DELETE FROM {K} WHERE {K.id} = %s", K=IdempotencyKey)
KEY_STORE = render(
    "INSERT INTO {K} ({K.store}, {K.key}, {K.fingerprint}, {K.state}, {K.locked_at}, {K.response_status},"
    " {K.response_body_encrypted}, {K.response_content_type}, {K.created_at})"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
    K=IdempotencyKey,
)
