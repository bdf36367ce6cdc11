"""Input parsing for POST /sandbox/reset."""

from rest_framework import serializers

from nuvlyx.api.fields import StrictBooleanField


class SandboxResetInput(serializers.Serializer):
    copyCatalog = StrictBooleanField(required=False, default=False)
