"""Webhook endpoints (API.md §2 "Webhooks", §3 extensions). Thin: parse → service/selector → render."""

from rest_framework.response import Response

from nuvlyx.api.pagination import paginate_queryset, paginated_response, parse_page
from nuvlyx.api.views import StoreScopedAPIView

from .. import selectors, services
from ..filters import DeliveryFilter
from ..models import WebhookEndpoint
from ..render import delivery_payload, endpoint_payload
from .serializers import WebhookCreateInput, WebhookUpdateInput

SCOPE = "webhooks:manage"


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class _WebhookView(StoreScopedAPIView):
    read_scope = SCOPE
    write_scope = SCOPE

    def get_endpoint(self) -> WebhookEndpoint:
        return selectors.endpoint_get(store=self.store, endpoint_id=self.kwargs["pk"])


class WebhookListView(_WebhookView):
    """GET /webhooks (plain array), POST /webhooks (201, the only response with `secret`)."""

    def get(self, request):
        return Response([endpoint_payload(e) for e in selectors.endpoint_list(store=self.store)])

    def post(self, request):
        data = _valid(WebhookCreateInput, request.data)
        endpoint, secret = services.endpoint_create(
            store=self.store,
            url=data["url"],
            events=data["events"],
            description=data["description"],
            active=data["active"],
        )
        response = Response({**endpoint_payload(endpoint), "secret": secret}, status=201)
        response["Cache-Control"] = "no-store"
        return response


class WebhookDetailView(_WebhookView):
    """GET, PATCH, DELETE /webhooks/:id."""

    def get(self, request, pk):
        return Response(endpoint_payload(self.get_endpoint()))

    def patch(self, request, pk):
        endpoint = self.get_endpoint()
        data = _valid(WebhookUpdateInput, request.data)
        endpoint = services.endpoint_update(
            endpoint=endpoint,
            url=data.get("url"),
            events=data.get("events"),
            description=data.get("description"),
            active=data.get("active"),
        )
        return Response(endpoint_payload(endpoint))

    def delete(self, request, pk):
        services.endpoint_delete(endpoint=self.get_endpoint())
        return Response(status=204)


class WebhookTestView(_WebhookView):
    """POST /webhooks/:id/test → 202 with the queued delivery of a new webhook.test event."""

    def post(self, request, pk):
        delivery = services.endpoint_send_test(endpoint=self.get_endpoint())
        return Response(delivery_payload(delivery), status=202)


class DeliveryListView(_WebhookView):
    """GET /webhooks/:id/deliveries (paginated, newest first, optional `status`)."""

    def get(self, request, pk):
        endpoint = self.get_endpoint()
        page = parse_page(request.query_params)
        filters = DeliveryFilter.parse(request.query_params)
        rows, total = paginate_queryset(selectors.delivery_list(endpoint=endpoint, filters=filters), page)
        return paginated_response([delivery_payload(d) for d in rows], page=page, total=total)


class RedeliverView(_WebhookView):
    """POST /webhooks/:id/deliveries/:deliveryId/redeliver → 202 with the new delivery (same event)."""

    def post(self, request, pk, delivery_id):
        delivery = selectors.delivery_get(endpoint=self.get_endpoint(), delivery_id=delivery_id)
        new = services.delivery_redeliver(delivery=delivery)
        return Response(delivery_payload(new), status=202)
