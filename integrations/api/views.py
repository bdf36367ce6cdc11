"""POST /sandbox/reset (test mode, docs/testing-your-integration.md). Thin: parse → service → render."""

from rest_framework.response import Response

from nuvlyx.api.errors import DomainError
from nuvlyx.api.views import StoreScopedAPIView

from ..sandbox import sandbox_reset
from .serializers import SandboxResetInput

LIVE_TOKEN_REFUSED = (
    "POST /sandbox/reset only works with a test token (nvl_test_…): this live token acts on live data, "
    "which is never reset"
)


class SandboxResetView(StoreScopedAPIView):
    write_scope = "products:write"

    def post(self, request):
        if self.store.sandbox_of_id is None:
            raise DomainError(LIVE_TOKEN_REFUSED, status=403, code="forbidden")
        serializer = SandboxResetInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = sandbox_reset(sandbox=self.store, copy_catalog=serializer.validated_data["copyCatalog"])
        return Response(
            {
                "storeId": str(result.store.pk),
                "livemode": False,
                "catalogCopied": result.copied_catalog,
                "products": result.products,
                "variations": result.variations,
                "categories": result.categories,
                "priceTiers": result.price_tiers,
            }
        )
