"""Customers and wallets routes. The by-phone routes come first: `<id:pk>` takes any segment (nuvlyx.api.converters)."""

from django.urls import path

from .views import (
    CustomerDetailView,
    CustomerListView,
    ProductPriceView,
    WalletRechargeView,
    WalletTransactionsView,
    WalletView,
)

urlpatterns = [
    path("customers", CustomerListView.as_view(), name="customers"),
    path(
        "customers/by-phone/<str:phone>",
        CustomerDetailView.as_view(http_method_names=["get", "head", "options"]),
        name="customer-by-phone",
    ),
    path("customers/by-phone/<str:phone>/wallet", WalletView.as_view(), name="customer-by-phone-wallet"),
    path(
        "customers/by-phone/<str:phone>/wallet/recharge",
        WalletRechargeView.as_view(),
        name="customer-by-phone-wallet-recharge",
    ),
    path("customers/<id:pk>", CustomerDetailView.as_view(), name="customer"),
    path("customers/<id:pk>/wallet", WalletView.as_view(), name="customer-wallet"),
    path("customers/<id:pk>/wallet/recharge", WalletRechargeView.as_view(), name="customer-wallet-recharge"),
    path("customers/<id:pk>/wallet/transactions", WalletTransactionsView.as_view(), name="wallet-transactions"),
    path("products/<id:pk>/price", ProductPriceView.as_view(), name="product-price"),  # a customer's prices
]
