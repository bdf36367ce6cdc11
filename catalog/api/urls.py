from django.urls import include, path

from .views import CategoryViewSet, PriceTierViewSet, ProductViewSet

urlpatterns: list = [
    path("products", ProductViewSet.as_view({"get": "list", "post": "create"}), name="product-list"),
    path(
        "products/<id:pk>",
        ProductViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="product-detail",
    ),
    path("categories", CategoryViewSet.as_view({"get": "list", "post": "create"}), name="category-list"),
    path("price-tiers", PriceTierViewSet.as_view({"get": "list", "post": "create"}), name="price-tier-list"),
    path("", include("catalog.api.inventory_urls")),
]
