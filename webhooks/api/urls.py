from django.urls import path

from .views import DeliveryListView, RedeliverView, WebhookDetailView, WebhookListView, WebhookTestView

urlpatterns = [
    path("webhooks", WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<id:pk>", WebhookDetailView.as_view(), name="webhook"),
    path("webhooks/<id:pk>/test", WebhookTestView.as_view(), name="webhook-test"),
    path("webhooks/<id:pk>/deliveries", DeliveryListView.as_view(), name="webhook-deliveries"),
    path(
        "webhooks/<id:pk>/deliveries/<id:delivery_id>/redeliver",
        RedeliverView.as_view(),
        name="webhook-delivery-redeliver",
    ),
]
