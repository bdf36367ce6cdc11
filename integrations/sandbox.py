"""Test mode's reset: wipe a sandbox's data and, on request, copy the live catalog into it.

What a reset deletes, in the sandbox only: orders and their items, order numbers, customers, their
wallets and ledger entries, licenses (stock), the catalog (products, variations, tier prices,
categories, price tiers), the outbox events with their webhook deliveries and attempts, and the
WhatsApp message log. What it keeps: API tokens, webhook endpoints, the Mosend connection and
template routes (configuration, not data), and stored Idempotency-Key responses.

The ledger is append-only per store world: its PostgreSQL trigger refuses every UPDATE and DELETE,
except a DELETE of a *sandbox's* rows inside the reset's own transaction (a transaction-local setting
naming that sandbox). A live store's ledger can never be deleted, whatever the code does.
See docs/testing-your-integration.md.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import connection, transaction

from catalog.models import Category, License, PriceTier, Product, TierPrice, Variation
from nuvlyx.core.errors import DomainError
from nuvlyx.core.models import Event, Store
from nuvlyx.core.sql import render
from orders.models import LicenseReminder, Order, OrderCounter, OrderItem, OrderItemReplacement
from wallets.models import Customer, LedgerEntry, Wallet

from .models import MessageLog

# Deleted, children first (after PEER_RESET_MODELS). A new store-owned model must be added here or to KEPT_MODELS
# (integrations/tests/test_sandbox.py fails until it is).
# webhooks is a peer of this app (tests/test_layers.py): its two models are named by label.
PEER_RESET_MODELS = ("webhooks.Attempt", "webhooks.Delivery")
OWN_RESET_MODELS = (
    MessageLog,
    Event,
    LicenseReminder,
    OrderItemReplacement,
    OrderItem,
    Order,
    OrderCounter,
    LedgerEntry,
    Wallet,
    Customer,
    License,
    TierPrice,
    Variation,
    Product,
    Category,
    PriceTier,
)
KEPT_MODELS = ("integrations.ApiToken", "integrations.MosendConnection", "integrations.TemplateRoute")
KEPT_MODELS += ("webhooks.WebhookEndpoint", "api.IdempotencyKey", "core.StoreMember", "orders.SubscriptionSettings")


def reset_models() -> list:
    """Every model a reset deletes from, children first."""
    return [apps.get_model(label) for label in PEER_RESET_MODELS] + list(OWN_RESET_MODELS)


LEDGER_RESET_SETTING = "nuvlyx.sandbox_reset"
LEDGER_DELETE = render("DELETE FROM {L} WHERE {L.store} = %s", L=LedgerEntry)


class SandboxResetRefused(DomainError):
    """Only a sandbox is reset (the API refuses a live token before it gets here)."""

    status_code = 403
    code = "forbidden"


@dataclass(frozen=True)
class ResetResult:
    store: Store
    copied_catalog: bool
    products: int
    variations: int
    categories: int
    price_tiers: int


@transaction.atomic
def sandbox_reset(*, sandbox: Store, copy_catalog: bool = False) -> ResetResult:
    """Wipe the sandbox (one transaction) and optionally copy its live store's catalog, categories and
    price tiers into it (never customers, wallets, stock or credentials). Emits no events."""
    if sandbox.sandbox_of_id is None:
        raise SandboxResetRefused("only a sandbox can be reset")
    sandbox = Store.objects.select_for_update().get(pk=sandbox.pk)  # one reset at a time
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [LEDGER_RESET_SETTING, str(sandbox.pk)])
    for model in reset_models():
        if model is LedgerEntry:  # its queryset refuses delete(); the trigger decides (see above)
            with connection.cursor() as cursor:
                cursor.execute(LEDGER_DELETE, [sandbox.pk])
            continue
        model.objects.filter(store_id=sandbox.pk).delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, '', true)", [LEDGER_RESET_SETTING])
    if copy_catalog:
        _copy_catalog(source_id=sandbox.sandbox_of_id, target=sandbox)
    return ResetResult(
        store=sandbox,
        copied_catalog=copy_catalog,
        products=Product.objects.for_store(sandbox).count(),
        variations=Variation.objects.for_store(sandbox).count(),
        categories=Category.objects.for_store(sandbox).count(),
        price_tiers=PriceTier.objects.for_store(sandbox).count(),
    )


def _copy_catalog(*, source_id, target: Store) -> None:
    """New ids, same names, slugs, skus, prices, tier prices and creation dates; no stock."""
    tiers = {}
    for tier in PriceTier.objects.filter(store_id=source_id):
        tiers[tier.pk] = PriceTier(store=target, name=tier.name, level=tier.level, created_at=tier.created_at)
    PriceTier.objects.bulk_create(tiers.values())

    categories = {}
    for category in Category.objects.filter(store_id=source_id):
        categories[category.pk] = Category(
            store=target,
            name=category.name,
            slug=category.slug,
            description=category.description,
            created_at=category.created_at,
        )
    Category.objects.bulk_create(categories.values())

    products = {}
    for product in Product.objects.filter(store_id=source_id):
        products[product.pk] = Product(
            store=target,
            name=product.name,
            slug=product.slug,
            kind=product.kind,
            status=product.status,
            description=product.description,
            post_sale_instructions=product.post_sale_instructions,
            created_at=product.created_at,
        )
    Product.objects.bulk_create(products.values())
    links = Product.categories.through
    link_rows = links.objects.filter(product__store_id=source_id).values_list("product_id", "category_id")
    links.objects.bulk_create(
        links(product_id=products[p].pk, category_id=categories[c].pk) for p, c in link_rows if c in categories
    )

    variations = {}
    for variation in Variation.objects.filter(store_id=source_id):
        variations[variation.pk] = Variation(
            store=target,
            product=products[variation.product_id],
            sku=variation.sku,
            name=variation.name,
            price=variation.price,
            duration_days=variation.duration_days,
            depends_on_stock=variation.depends_on_stock,
            low_stock_threshold=variation.low_stock_threshold,
            position=variation.position,
            created_at=variation.created_at,
        )
    Variation.objects.bulk_create(variations.values())
    TierPrice.objects.bulk_create(
        TierPrice(store=target, variation=variations[tp.variation_id], tier=tiers[tp.tier_id], price=tp.price)
        for tp in TierPrice.objects.filter(store_id=source_id)
    )
