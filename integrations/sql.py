"""Hand-written SQL of the integrations app (see nuvlyx/core/sql.py for why and how)."""

from nuvlyx.core.models import Store
from nuvlyx.core.sql import render

from .models import ApiToken, TemplateRoute

# Every API request authenticates: the token and its store in one statement (the ORM's compilation
# cost was most of the time of a trivial authenticated request). Columns in TOKEN_FIELDS, STORE_FIELDS order.
TOKEN_FIELDS = (
    "id",
    "store_id",
    "name",
    "scopes",
    "prefix",
    "rate_limit_per_minute",
    "expires_at",
    "last_used_at",
    "revoked_at",
)
STORE_FIELDS = ("id", "name", "slug", "currency", "sandbox_of")
TOKEN_BY_HASH = render(
    "SELECT "  # noqa: S608 - names from _meta only
    + ", ".join(f"t.{{T.{name}}}" for name in TOKEN_FIELDS)
    + ", "
    + ", ".join(f"s.{{S.{name}}}" for name in STORE_FIELDS)
    + " FROM {T} t JOIN {S} s ON s.{S.id} = t.{T.store} WHERE t.{T.token_hash} = %s",
    T=ApiToken,
    S=Store,
)

# The outbox's interest test (nuvlyx/core/events.py, evaluated inside the INSERT of the events): does an
# enabled WhatsApp route want one of these event types?
ROUTE_WANTED = render(
    "EXISTS (SELECT 1 FROM {R} WHERE {R.store} = wanted_for.store_id AND {R.enabled}"
    " AND {R.event_type} = ANY(wanted_for.types))",
    R=TemplateRoute,
)
