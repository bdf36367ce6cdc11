"""GET /inventory/stock and POST /inventory/licenses (API.md "Inventory")."""

from django.db.models import F
from rest_framework.response import Response

from nuvlyx.api.errors import ValidationFailed
from nuvlyx.api.fields import uuid_query_param
from nuvlyx.api.views import StoreScopedAPIView

from ..models import Variation
from ..render import stock_row
from ..stock import STOCK_FIELDS, license_upload
from .inventory_serializers import LicenseUploadInputSerializer


class StockView(StoreScopedAPIView):
    read_scope = "inventory:read"

    def get(self, request):
        params = request.query_params
        qs = Variation.objects.for_store(self.store)
        product_id = uuid_query_param(params, "productId")
        if product_id:
            qs = qs.filter(product_id=product_id)
        variation_id = uuid_query_param(params, "variationId")
        if variation_id:
            qs = qs.filter(pk=variation_id)
        low = params.get("lowStock")
        if low is not None and low != "":
            if low not in ("true", "false"):
                raise ValidationFailed.field("lowStock", "Must be true or false.")
            low_q = {"depends_on_stock": True, "stock_available__lt": F("low_stock_threshold")}
            qs = qs.filter(**low_q) if low == "true" else qs.exclude(**low_q)
        rows = qs.order_by("product__name", "product_id", "position", "sku").values(*STOCK_FIELDS)
        return Response([stock_row(row) for row in rows])


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
