"""The catalog's list filters: GET /products (status, kind, categoryId, search) and GET /inventory/stock
(productId, variationId, lowStock)."""

from django.db.models import F, Q

from nuvlyx.api.filters import ApiFilterSet, BooleanFilter, ChoiceFilter, SearchFilter, UUIDFilter

from .models import Product, Variation

MAX_SEARCH = 200


class ProductFilter(ApiFilterSet):
    """Mirrored by catalog.sql.product_list_where (the list's ETag statement); tests hold them together.
    apply() needs `store=` (the search reads the store's variations)."""

    status = ChoiceFilter(values=Product.Status.values)
    kind = ChoiceFilter(values=Product.Kind.values)
    categoryId = UUIDFilter(field_name="categories__id")
    search = SearchFilter(method="matching", max_length=MAX_SEARCH)

    class Meta:
        model = Product
        fields: list[str] = []

    def matching(self, queryset, name, value):
        """Name, slug or a variation's sku. The sku match is a subquery, not a join: a product is listed once."""
        skus = Variation.objects.for_store(self.store).filter(sku__icontains=value).values("product_id")
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value) | Q(id__in=skus))


class StockFilter(ApiFilterSet):
    productId = UUIDFilter(field_name="product_id")
    variationId = UUIDFilter(field_name="id")
    lowStock = BooleanFilter(method="low_stock")

    class Meta:
        model = Variation
        fields: list[str] = []

    def low_stock(self, queryset, name, value):
        """Stock-backed variations below their threshold (true), or every other one (false)."""
        low = {"depends_on_stock": True, "stock_available__lt": F("low_stock_threshold")}
        return queryset.filter(**low) if value else queryset.exclude(**low)
