from django.urls import path

from .inventory_views import LicenseUploadView, StockView

urlpatterns: list = [
    path("inventory/stock", StockView.as_view(), name="inventory-stock"),
    path("inventory/licenses", LicenseUploadView.as_view(), name="inventory-licenses"),
]
