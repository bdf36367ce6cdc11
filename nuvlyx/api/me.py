"""GET /me: which store and scopes this token has (an integrator's first sanity check)."""

from django.conf import settings
from rest_framework.response import Response

from nuvlyx.core.timeutil import format_datetime

from .permissions import ANY_SCOPE
from .views import StoreScopedAPIView


class MeView(StoreScopedAPIView):
    read_scope = ANY_SCOPE

    def get(self, request):
        token = request.auth
        store = self.store
        return Response(
            {
                "token": {
                    "id": str(token.pk),
                    "name": token.name,
                    "prefix": token.prefix,
                    "scopes": token.scopes,
                    "expiresAt": format_datetime(token.expires_at),
                    "rateLimitPerMinute": token.rate_limit_per_minute or settings.API_RATE_LIMIT_PER_MINUTE,
                },
                "store": {"id": str(store.pk), "name": store.name, "slug": store.slug, "currency": store.currency},
                "livemode": store.sandbox_of_id is None,
            }
        )
