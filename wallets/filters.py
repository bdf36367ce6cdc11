"""GET /customers filters (API.md: search in name, email and phone; phone exact, strict E.164; tierId)."""

from django.db.models import Q

from nuvlyx.api.filters import ApiFilterSet, PhoneFilter, SearchFilter, UUIDFilter

from .models import Customer


class CustomerFilter(ApiFilterSet):
    search = SearchFilter(method="matching", max_length=200)
    phone = PhoneFilter(field_name="phone")
    tierId = UUIDFilter(field_name="tier_id")

    class Meta:
        model = Customer
        fields: list[str] = []

    def matching(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value) | Q(phone__icontains=value))
