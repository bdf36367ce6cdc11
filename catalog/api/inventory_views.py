"""GET /inventory/stock and POST /inventory/licenses (API.md "Inventory")."""

from rest_framework.response import Response

from nuvlyx.api.errors import ValidationFailed
from nuvlyx.api.views import StoreScopedAPIView

from ..filters import StockFilter
from ..models import Variation
from ..stock import license_upload, stock_rows
from .inventory_serializers import LicenseUploadInputSerializer


class StockView(StoreScopedAPIView):
    read_scope = "inventory:read"

    def get(self, request):
        return Response(stock_rows(store=self.store, filters=StockFilter.parse(request.query_params)))


class LicenseUploadView(StoreScopedAPIView):
    write_scope = "inventory:write"

    def post(self, request):
        serializer = LicenseUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        variation = Variation.objects.for_store(self.store).filter(pk=data["variationId"]).first()
        if variation is None:
            raise ValidationFailed.field("variationId", "No variation with this id in this store.")
        result = license_upload(
            store=self.store, variation=variation, credentials=[item["credentials"] for item in data["licenses"]]
        )
        return Response(
            {
                "variationId": str(result.variation_id),
                "created": result.created,
                "duplicatesSkipped": result.duplicates_skipped,
                "availableStock": result.available_stock,
            },
            status=201,
        )
