from django.urls import path

from .views import LicenseViewSet, OrderViewSet

urlpatterns: list = [
    path("orders", OrderViewSet.as_view({"get": "list", "post": "create"}), name="orders"),
    path("orders/<id:pk>", OrderViewSet.as_view({"get": "retrieve"}), name="order-detail"),
    path("orders/<id:pk>/refund", OrderViewSet.as_view({"post": "refund"}), name="order-refund"),
    path("orders/<id:pk>/cancel", OrderViewSet.as_view({"post": "cancel"}), name="order-cancel"),
    path(
        "orders/<id:pk>/items/<id:item_id>/replace",
        OrderViewSet.as_view({"post": "replace_item"}),
        name="order-item-replace",
    ),
    path("licenses", LicenseViewSet.as_view({"get": "list"}), name="licenses"),
]
