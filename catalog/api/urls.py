from django.urls import include, path

urlpatterns: list = [
    # products, categories, price tiers: added by the catalog work
    path("", include("catalog.api.inventory_urls")),
]
