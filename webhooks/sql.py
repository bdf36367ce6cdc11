"""Hand-written SQL of the webhooks app (see nuvlyx/core/sql.py for why and how)."""

from nuvlyx.core.sql import render

from .models import WebhookEndpoint

# The outbox's interest test (nuvlyx/core/events.py, evaluated inside the INSERT of the events): does an
# active endpoint subscribe to one of these event types ('*' = all)? webhook.test is always wanted: it
# targets the endpoint it was sent for. `wanted_for.store_id` / `wanted_for.types` are the batch's.
ENDPOINT_WANTED = render(
    "'webhook.test' = ANY(wanted_for.types) OR EXISTS (SELECT 1 FROM {W} WHERE {W.store} = wanted_for.store_id"
    " AND {W.active} AND ({W.events} ? '*' OR {W.events} ?| wanted_for.types))",
    W=WebhookEndpoint,
)
