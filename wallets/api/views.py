"""Customers and wallets endpoints (API.md §2 "Customers and wallets", §3). Thin: parse → service → render."""

from rest_framework.response import Response

from catalog.selectors import product_get, product_price_quote_by_id
from nuvlyx.api.errors import DomainError
from nuvlyx.api.pagination import paginate_queryset, paginated_response, parse_page
from nuvlyx.api.views import StoreScopedAPIView
from wallets import render, selectors, services
from wallets.models import Customer

from ..filters import CustomerFilter
from .serializers import CustomerCreateInput, CustomerUpdateInput, RechargeInput, parse_price_query


def _valid(serializer_class, data, **kwargs):
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CustomerLookupMixin:
    """Resolves the customer of the path: `<id:pk>` or a linked `<phone>` (raw + or %2B)."""

    def get_customer(self) -> Customer:
        if "pk" in self.kwargs:
            return selectors.customer_get(store=self.store, customer_id=self.kwargs["pk"])
        return selectors.customer_by_linked_phone(store=self.store, phone=self.kwargs["phone"])


def _wallet(customer: Customer) -> dict:
    return render.wallet(customer, selectors.wallet_get(customer=customer), currency=customer.store.currency)


class CustomerListView(StoreScopedAPIView):
    """GET /customers (paginated; search, phone, tierId) and POST /customers."""

    read_scope = "customers:read"
    write_scope = "customers:write"

    def get(self, request):
        page = parse_page(request.query_params)
        qs = selectors.customer_list(store=self.store, filters=CustomerFilter.parse(request.query_params))
        rows, total = paginate_queryset(qs, page)
        return paginated_response([render.customer(c) for c in rows], page=page, total=total)

    def post(self, request):
        data = _valid(CustomerCreateInput, request.data)
        tier = None
        if data.get("tierId") is not None:
            tier = selectors.price_tier_get(store=self.store, tier_id=data["tierId"])
        customer = services.customer_create(
            store=self.store, name=data["name"], email=data.get("email") or "", phone=data.get("phone"), tier=tier
        )
        return Response(render.customer(customer), status=201)


class CustomerDetailView(CustomerLookupMixin, StoreScopedAPIView):
    """GET /customers/:id, PATCH /customers/:id, GET /customers/by-phone/:phone."""

    read_scope = "customers:read"
    write_scope = "customers:write"

    def get(self, request, **kwargs):
        return Response(render.customer(self.get_customer()))

    def patch(self, request, **kwargs):
        customer = self.get_customer()
        data = _valid(CustomerUpdateInput, request.data)
        changes = {}
        for field in ("name", "email", "phone"):
            if field in data:
                changes[field] = data[field]
        if "tierId" in data:
            tier_id = data["tierId"]
            changes["tier"] = None if tier_id is None else selectors.price_tier_get(store=self.store, tier_id=tier_id)
        customer = services.customer_update(customer=customer, **changes)
        return Response(render.customer(customer))


class WalletView(CustomerLookupMixin, StoreScopedAPIView):
    """GET /customers/:id/wallet and GET /customers/by-phone/:phone/wallet."""

    read_scope = "wallet:read"

    def get(self, request, **kwargs):
        return Response(_wallet(self.get_customer()))


class WalletRechargeView(CustomerLookupMixin, StoreScopedAPIView):
    """POST /customers/:id/wallet/recharge and POST /customers/by-phone/:phone/wallet/recharge."""

    write_scope = "wallet:write"

    def post(self, request, **kwargs):
        customer = self.get_customer()
        data = _valid(RechargeInput, request.data)
        entry = services.wallet_recharge(
            customer=customer,
            amount=data["amount"],
            reference=data.get("reference") or "",
            note=data.get("note") or "",
            actor_token_id=request.auth.pk,
        )
        payload = render.recharge(customer=customer, entry=entry, currency=customer.store.currency)
        return Response(payload, status=201)


class WalletTransactionsView(CustomerLookupMixin, StoreScopedAPIView):
    """GET /customers/:id/wallet/transactions (paginated, newest first)."""

    read_scope = "wallet:read"

    def get(self, request, **kwargs):
        page = parse_page(request.query_params)
        customer = self.get_customer()
        rows, total = paginate_queryset(selectors.wallet_entries(customer=customer), page)
        return paginated_response([render.ledger_entry(e) for e in rows], page=page, total=total)


class ProductPriceView(StoreScopedAPIView):
    """GET /products/:id/price?customerId|customerPhone: the customer's price of each variation (seed 001).

    Here, not in catalog: it resolves a customer, and catalog sits below wallets. The quote itself is
    catalog's (catalog.selectors.product_price_quote_by_id, prices by catalog.pricing)."""

    read_scope = "products:read"

    def get(self, request, pk):
        # One statement: the customer (with its tier), the product, its variations and the tier's prices
        # (none but the product's without a customer). An unknown product still answers 404 before any
        # customer error (bad params, 400 both, unknown customer, phone_not_linked), as it always did.
        try:
            customer_id, customer_phone = parse_price_query(request.query_params)
            lookup = selectors.customer_lookup(customer_id=customer_id, customer_phone=customer_phone)
        except DomainError:
            product_get(store=self.store, product_id=pk)
            raise
        if lookup is None:
            return Response(product_price_quote_by_id(store=self.store, product_id=pk, customer=None))
        return Response(selectors.product_price_quote_for(store=self.store, product_id=pk, lookup=lookup))
