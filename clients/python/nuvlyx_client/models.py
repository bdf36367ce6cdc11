"""Typed shapes of the API's answers (TypedDicts: plain dicts at runtime, checked by mypy/pyright).

Money fields are `Decimal` (the client converts the API's decimal strings both ways); dates are the API's
ISO 8601 strings; ids are UUID strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypedDict, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RateLimit:
    """The `X-RateLimit-*` headers of the last answer."""

    limit: int
    remaining: int
    reset: int  # seconds until the window frees a request


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    page: int
    limit: int
    total: int


class Tier(TypedDict):
    id: str
    name: str
    level: int


class TierPrice(TypedDict):
    tier: Tier
    price: Decimal


class VariationSummary(TypedDict):
    id: str
    sku: str
    name: str
    price: Decimal
    stockQuantity: int | None
    durationDays: int | None
    dependsOnStock: bool


class Variation(VariationSummary):
    tierPrices: list[TierPrice]


class CategoryRef(TypedDict):
    id: str
    name: str
    slug: str


class ProductListItem(TypedDict):
    id: str
    name: str
    slug: str
    kind: str
    status: str
    variations: list[VariationSummary]
    createdAt: str


class Product(TypedDict):
    id: str
    name: str
    slug: str
    kind: str
    status: str
    description: str
    postSaleInstructions: str
    categories: list[CategoryRef]
    variations: list[Variation]
    createdAt: str
    updatedAt: str


class QuoteCustomer(TypedDict):
    id: str
    tier: Tier | None


class QuotedVariation(TypedDict):
    variationId: str
    sku: str
    basePrice: Decimal
    price: Decimal
    appliedTier: Tier | None
    availableStock: int | None
    dependsOnStock: bool


class PriceQuote(TypedDict):
    productId: str
    productName: str
    currency: str
    customer: QuoteCustomer | None
    variations: list[QuotedVariation]


class Customer(TypedDict):
    id: str
    name: str
    email: str | None
    phone: str | None
    phoneLinked: bool
    phoneLinkedAt: str | None
    tier: Tier | None
    createdAt: str


class Wallet(TypedDict):
    customerId: str
    balance: Decimal
    currency: str
    updatedAt: str


class WalletTransaction(TypedDict):
    id: str
    type: str
    amount: Decimal
    balanceAfter: Decimal
    reference: str | None
    note: str | None
    orderId: str | None
    createdAt: str


class RechargeResult(TypedDict):
    transactionId: str
    customerId: str
    amount: Decimal
    newBalance: Decimal
    currency: str
    createdAt: str


class StockRow(TypedDict):
    productId: str
    productName: str
    variationId: str
    sku: str
    dependsOnStock: bool
    available: int
    delivered: int
    lowStockThreshold: int


class LicenseUploadResult(TypedDict):
    variationId: str
    created: int
    duplicatesSkipped: int
    availableStock: int


class OrderUser(TypedDict):
    id: str
    name: str
    phone: str | None


class OrderListItemLine(TypedDict):
    id: str
    variationId: str
    pricePaid: Decimal
    status: str


class OrderListItem(TypedDict):
    id: str
    orderNumber: str
    status: str
    totalAmount: Decimal
    currencyCode: str
    createdAt: str
    user: OrderUser
    items: list[OrderListItemLine]


class License(TypedDict):
    id: str
    credentials: str
    deliveredAt: str
    expiresAt: str | None


class Replacement(TypedDict):
    id: str
    replacedAt: str
    reason: str
    previousLicenseId: str
    licenseId: str


class OrderItem(TypedDict):
    id: str
    productId: str
    productName: str
    variationId: str
    sku: str
    pricePaid: Decimal
    status: str
    postSaleInstructions: str
    license: License | None
    fulfilment: dict[str, Any] | None
    replacements: list[Replacement]


class HeldLicense(TypedDict):
    """A row of GET /licenses (never credentials)."""

    id: str | None
    itemId: str
    orderId: str
    orderNumber: str
    customer: OrderUser
    productId: str
    productName: str
    variationId: str
    sku: str
    status: str  # ACTIVE, EXPIRED, REFUNDED
    deliveredAt: str | None
    expiresAt: str | None
    renewsItemId: str | None
    renewedByItemId: str | None


class Order(TypedDict):
    id: str
    orderNumber: str
    status: str
    totalAmount: Decimal
    currencyCode: str
    createdAt: str
    updatedAt: str
    completedAt: str | None
    refundedAt: str | None
    cancelledAt: str | None
    notes: str
    user: OrderUser
    items: list[OrderItem]


class OrderPlaced(TypedDict):
    orderId: str
    orderNumber: str
    status: str
    totalAmount: Decimal
    newBalance: Decimal


class OrderRefund(TypedDict):
    orderId: str
    orderNumber: str
    status: str
    refundedAmount: Decimal
    newBalance: Decimal


class WebhookEndpoint(TypedDict):
    id: str
    url: str
    events: list[str]
    description: str
    active: bool
    createdAt: str


class WebhookEndpointCreated(WebhookEndpoint):
    secret: str


class WebhookDelivery(TypedDict):
    id: str
    eventId: str
    eventType: str
    status: str
    attempts: int
    responseStatus: int | None
    durationMs: int | None
    lastError: str | None
    nextAttemptAt: str | None
    createdAt: str
    deliveredAt: str | None
