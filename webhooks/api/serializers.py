"""Input parsing for the webhook endpoints (types and sizes; the rules live in services/ssrf)."""

from rest_framework import serializers

from nuvlyx.api.fields import StrictBooleanField, StrictCharField
from nuvlyx.core.events import EVENT_TYPES

from ..ssrf import MAX_URL_LENGTH

MAX_EVENTS = len(EVENT_TYPES) + 1


class _EventsField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(child=StrictCharField(max_length=64), allow_empty=False, max_length=MAX_EVENTS, **kwargs)


class WebhookCreateInput(serializers.Serializer):
    url = StrictCharField(max_length=MAX_URL_LENGTH, trim_whitespace=False)
    events = _EventsField()
    description = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    active = StrictBooleanField(required=False, default=True)


class WebhookUpdateInput(serializers.Serializer):
    url = StrictCharField(max_length=MAX_URL_LENGTH, required=False, trim_whitespace=False)
    events = _EventsField(required=False)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    active = StrictBooleanField(required=False)
