"""Input of the inventory endpoints (output is rendered by catalog.render.stock_row)."""

from rest_framework import serializers

from nuvlyx.api.fields import StrictCharField

from ..stock import MAX_CREDENTIALS_LENGTH

MAX_LICENSES_PER_UPLOAD = 1000


class LicenseInputSerializer(serializers.Serializer):
    credentials = StrictCharField(min_length=1, max_length=MAX_CREDENTIALS_LENGTH, trim_whitespace=False)


class LicenseUploadInputSerializer(serializers.Serializer):
    variationId = serializers.UUIDField()
    licenses = serializers.ListField(
        child=LicenseInputSerializer(), min_length=1, max_length=MAX_LICENSES_PER_UPLOAD, allow_empty=False
    )
