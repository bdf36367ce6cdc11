"""Hand-written SQL of the webhooks app (see nuvlyx/core/sql.py for why and how)."""

from nuvlyx.core.sql import render

from .models import WebhookEndpoint

# On every write that emits: does an active endpoint subscribe to one of these event types ('*' = all)?
ENDPOINT_WANTED = render(
    "SELECT 1 FROM {W} WHERE {W.store} = %s AND {W.active} AND ({W.events} ? '*' OR {W.events} ?| %s) LIMIT 1",
    W=WebhookEndpoint,
)
