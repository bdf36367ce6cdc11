"""A URLconf for kernel tests: the real API plus two views that exercise the kernel itself.

`/echo` validates a body with the shared fields; `/boom` raises an unexpected error (→ 500);
`/boom-plain` raises outside DRF (→ the middleware's 500).
Both sit on the same base view, authentication, scope permission and throttle as every endpoint.
"""

from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response

from nuvlyx.api.fields import E164PhoneField, MoneyField
from nuvlyx.api.views import StoreScopedAPIView


class EchoInput(serializers.Serializer):
    amount = MoneyField()
    phone = E164PhoneField(required=False)
    items = serializers.ListField(child=serializers.DictField(child=serializers.UUIDField()), required=False)


class EchoView(StoreScopedAPIView):
    read_scope = "products:read"
    write_scope = "products:write"

    def post(self, request):
        data = EchoInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"amount": str(data.validated_data["amount"])}, status=201)


class BoomView(StoreScopedAPIView):
    read_scope = "products:read"

    def get(self, request):
        raise RuntimeError("secret-internal-detail SELECT * FROM somewhere")


def plain_boom(request):
    """A plain Django view under /api/: its exception escapes DRF and reaches ApiErrorMiddleware."""
    raise RuntimeError("secret-internal-detail from outside DRF")


urlpatterns = [
    path("api/v1/external/boom-plain", plain_boom),
    path("api/v1/external/echo", EchoView.as_view()),
    path("api/v1/external/boom", BoomView.as_view()),
    path("", include("nuvlyx.urls")),
]
