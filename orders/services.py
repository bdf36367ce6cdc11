"""Every write to orders: placing (and renewing), refunding, cancelling, fulfilling by hand, warranty
replacements. One transaction each.

Lock order (never deadlocks): the items an order renews (id order), the customer's wallet, then licenses
(SKIP LOCKED, variation by variation in id order) with each variation's counter row, then the store's
OrderCounter last. A replacement locks its item, then takes a license (SKIP LOCKED) and the counter row.
The order number is only held between its assignment and the commit (order_place leaves
only the order row and the two event rows after it). Any failure rolls the
whole transaction back, which is also what keeps order numbers gap-free.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from django.db import connection, transaction
from django.utils.translation import gettext_noop  # owner messages: translated where the owner reads them

from catalog.models import License, Product, Variation
from catalog.pricing import quote_variation
from catalog.stock import expiry_for, license_replace, license_take
from nuvlyx.core.crypto import encrypt
from nuvlyx.core.errors import Conflict, DomainError, ProductUnavailable, ValidationFailed
from nuvlyx.core.events import emit, emit_many
from nuvlyx.core.formats import format_order_number
from nuvlyx.core.sql import bulk_insert, prepared_cursor
from nuvlyx.core.timeutil import now
from wallets.selectors import customer_resolve
from wallets.services import (
    NOTE_CANCELLATION,
    NOTE_ORDER_PAYMENT,
    NOTE_REFUND,
    wallet_debit,
    wallet_lock,
    wallet_refund,
)

from . import sql
from .models import Order, OrderItem, OrderItemReplacement
from .selectors import order_detail, order_detail_data, subscription_settings_for

MAX_ITEMS = 20
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    new_balance: Decimal


@dataclass(frozen=True)
class RefundResult:
    order: Order
    refunded_amount: Decimal
    new_balance: Decimal


def is_stock_backed(variation: Variation) -> bool:
    """Delivered from license stock at purchase; anything else waits for the owner (PENDING)."""
    return variation.product.kind == Product.Kind.DIGITAL and variation.depends_on_stock


# The counter bump and the order row in ONE statement: the counter row stays locked from here to
# the commit, so everything else of the placement happens before it. Table names are our models'.
def _insert_order_numbered(order: Order) -> None:
    """Take the store's next order number and insert `order` with it (sets order.number).

    PostgreSQL: `UPDATE counter ... RETURNING` feeding the INSERT of the order, one round trip; the
    counter row is locked until commit and a rollback undoes the bump (gap-free). The counter row is
    created on a store's first order (INSERT ... ON CONFLICT DO NOTHING, then the bump again).
    """
    params = [
        order.store_id,
        order.pk,
        order.store_id,
        order.customer_id,
        order.status,
        order.total_amount,
        order.currency,
        order.notes,
        order.created_at,
        order.updated_at,
        order.completed_at,
    ]
    with prepared_cursor() as cursor:
        cursor.execute(sql.ORDER_BUMP_AND_INSERT, params)
        row = cursor.fetchone()
        if row is None:  # the store's first order
            cursor.execute(sql.ORDER_COUNTER_CREATE, [order.store_id])
            cursor.execute(sql.ORDER_BUMP_AND_INSERT, params)
            row = cursor.fetchone()
    order.number = row[0]
    order._state.adding = False
    order._state.db = connection.alias


def _emit_order(order_id, store, *types: str) -> None:
    data = order_detail(store=store, order_id=order_id)  # what GET /orders/:id answers now
    if data is None:  # cannot happen: the caller holds the order's row lock
        raise Order.DoesNotExist(order_id)
    for event_type in types:
        emit(store=store, type=event_type, data=data)


def _variations_with_tier_prices(*, store, variation_ids: list, tier_id) -> tuple[dict, dict]:
    """The store's variations (product joined) and the tier's explicit prices for them: one query.

    The prices are what catalog.pricing.tier_prices_for returns ({variation_id: price}); the rule
    applying them stays catalog.pricing.quote_variation.
    """
    return _variations_with_tier_prices_sql(store=store, variation_ids=variation_ids, tier_id=tier_id)


def _variations_with_tier_prices_sql(*, store, variation_ids: list, tier_id) -> tuple[dict, dict]:
    """The same read hand-written: it runs on every order (ORM compilation dominated it)."""
    with prepared_cursor() as cursor:
        cursor.execute(sql.VARIATIONS_WITH_TIER_PRICE, [tier_id, store.pk, list(variation_ids)])
        rows = cursor.fetchall()
    v_names, p_names = sql.VARIATION_FIELDS, sql.PRODUCT_FIELDS
    variations, tier_prices = {}, {}
    for row in rows:
        variation = Variation.from_db(connection.alias, v_names, list(row[: len(v_names)]))
        variation.product = Product.from_db(connection.alias, p_names, list(row[len(v_names) : -1]))
        variation.store = store
        variations[variation.pk] = variation
        if tier_id is not None and row[-1] is not None:
            tier_prices[variation.pk] = row[-1]
    return variations, tier_prices


@transaction.atomic
def order_place(
    *,
    store,
    customer_id: UUID | None = None,
    customer_phone: str | None = None,
    items: list[UUID],
    renews: list[UUID | None] | None = None,
    notes: str = "",
    actor_token_id: UUID | None = None,
    actor_user=None,
) -> PlacedOrder:
    """Place an order paid from the wallet (API.md "Orders"). `items` = one variation id per unit;
    `renews[i]` (optional) = the item that items[i] renews (its time continues, see _renewed_items).

    Everything that does not need the order number happens first (wallet, licenses, the items rows);
    then one statement bumps the store's counter and inserts the order, and only the event data
    (rendered from what is in memory) and the two event rows follow it before the commit.
    """
    if not 1 <= len(items) <= MAX_ITEMS:
        raise DomainError(
            f"An order has between 1 and {MAX_ITEMS} items",
            status=422,
            code="validation_error",
            errors=[{"field": "items", "message": f"Must contain between 1 and {MAX_ITEMS} items."}],
        )
    customer = customer_resolve(store=store, customer_id=customer_id, customer_phone=customer_phone)

    wanted = list(dict.fromkeys(items))
    variations, tier_prices = _variations_with_tier_prices(store=store, variation_ids=wanted, tier_id=customer.tier_id)
    for index, variation_id in enumerate(items):
        if variation_id not in variations:
            raise DomainError(
                f"items[{index}].variationId: no variation {variation_id} in this store",
                status=400,
                code="bad_request",
            )
    for variation_id in wanted:
        product = variations[variation_id].product
        if product.status != Product.Status.ACTIVE:
            raise ProductUnavailable(f"Product '{product.name}' is not available for sale")

    renewed = _renewed_items(store=store, customer=customer, items=items, renews=renews, variations=variations)

    tier = customer.tier
    quotes = {v.pk: quote_variation(variation=v, tier=tier, tier_prices=tier_prices).price for v in variations.values()}
    total = sum((quotes[variation_id] for variation_id in items), Decimal("0.00"))

    order_id = uuid4()
    stamp = now()
    # 1. the wallet (locked, debited; InsufficientBalance rolls everything back)
    if total > 0:
        entry = wallet_debit(
            customer=customer,
            amount=total,
            order_id=order_id,
            actor_token_id=actor_token_id,
            actor_user=actor_user,
            note=NOTE_ORDER_PAYMENT,
            savepoint=False,  # order_place's transaction rolls back as a whole
        )
        new_balance = entry.balance_after
    else:
        new_balance = wallet_lock(customer=customer).balance

    # 2. licenses, variation by variation in id order (each also moves that variation's counters)
    quantities = Counter(items)
    taken: dict[UUID, list] = {}
    for variation_id in sorted(quantities, key=str):
        variation = variations[variation_id]
        if is_stock_backed(variation):
            taken[variation_id] = license_take(
                variation=variation, quantity=quantities[variation_id], delivered_at=stamp
            )

    # renewals: the license continues the renewed item's time when that is still running
    renewal_expiry: dict[int, datetime | None] = {}
    for position, old in renewed.items():
        variation = variations[items[position]]
        base = old.expires_at if old.expires_at and old.expires_at > stamp else stamp
        renewal_expiry[position] = expiry_for(variation, base)

    # 3. the items (their FK to the order is checked at commit: PostgreSQL's are DEFERRABLE INITIALLY
    #    DEFERRED, as Django creates them)
    all_delivered = all(is_stock_backed(variations[v]) for v in items)
    order = Order(
        id=order_id,
        store=store,
        number=0,  # taken in step 4
        customer=customer,
        status=Order.Status.COMPLETED if all_delivered else Order.Status.PROCESSING,
        total_amount=total,
        currency=store.currency,
        notes=notes,
        created_at=stamp,
        updated_at=stamp,
        completed_at=stamp if all_delivered else None,
    )
    rows = []
    for position, variation_id in enumerate(items):
        variation = variations[variation_id]
        lic = taken[variation_id].pop(0) if variation_id in taken else None
        if lic is not None and position in renewal_expiry:
            lic.expires_at = renewal_expiry[position]
            License.objects.filter(pk=lic.pk).update(expires_at=lic.expires_at)
        rows.append(
            OrderItem(
                store=store,
                order=order,
                position=position,
                product=variation.product,
                variation=variation,
                product_name=variation.product.name,
                sku=variation.sku,
                price_paid=quotes[variation_id],
                status=OrderItem.Status.DELIVERED if lic else OrderItem.Status.PENDING,
                license=lic,
                delivered_at=lic.delivered_at if lic else None,
                expires_at=lic.expires_at if lic else None,
                renews_item=renewed.get(position),
                created_at=stamp,
            )
        )
    bulk_insert(OrderItem, rows)
    # The events' data (what GET /orders/:id will answer), rendered from the objects in memory before the
    # counter row is locked; only the number is not known yet.
    data = order_detail_data(order, items=rows)

    # 4. the order number, last: counter bump + order row in one statement, then the two events
    _insert_order_numbered(order)
    data["orderNumber"] = format_order_number(order.number)
    emit_many(
        store=store,
        events=[("order.created", data)] + ([("order.completed", data)] if all_delivered else []),
    )
    return PlacedOrder(order=order, new_balance=new_balance)


def _renewed_items(*, store, customer, items: list, renews: list | None, variations: dict) -> dict[int, Any]:
    """{position: the item it renews}, the renewed items locked (id order, before the wallet).

    A renewed item must be one of this store's items, of the same customer and the same variation, delivered
    and with an expiry (else 422 on items[i].renewsItemId); an item renewed already → 409 (renew the renewal).
    The lock makes two concurrent renewals of one item a 409 for the second, and the one-to-one backs it up.
    """
    wanted = {position: item_id for position, item_id in enumerate(renews or []) if item_id is not None}
    if not wanted:
        return {}
    seen: dict = {}
    for position, item_id in wanted.items():
        if item_id in seen:
            raise ValidationFailed.field(f"items[{position}].renewsItemId", "Renews the same item twice.")
        seen[item_id] = position
    found = {
        item.pk: item
        for item in OrderItem.objects.for_store(store)
        .select_for_update(of=("self",))
        .select_related("order")
        .filter(pk__in=list(seen))
        .order_by("pk")
    }
    renewed_already = set(
        OrderItem.objects.filter(renews_item_id__in=list(found)).values_list("renews_item_id", flat=True)
    )
    result = {}
    for position, item_id in wanted.items():
        field = f"items[{position}].renewsItemId"
        old = found.get(item_id)
        problem = None
        if old is None or old.order.customer_id != customer.pk:
            problem = "No order item with this id for this customer."
        elif old.variation_id != items[position]:
            problem = "The renewed item is of another variation."
        elif old.status != OrderItem.Status.DELIVERED or old.expires_at is None:
            problem = "Only delivered items with an expiry can be renewed."
        elif not variations[items[position]].duration_days:
            problem = "The variation has no duration."
        else:
            try:  # renewing early continues from the old expiry: a long chain can run past year 9999
                expiry_for(variations[items[position]], max(old.expires_at, now()))
            except OverflowError:
                problem = "The renewed time would end after the year 9999."
        if problem:
            raise ValidationFailed.field(field, problem)
        if item_id in renewed_already:
            raise Conflict(f"{field}: item {item_id} was renewed already; renew the renewing item instead")
        result[position] = old
    return result


def _order_status(order: Order) -> dict:
    return {"order": order.order_number, "status": Order.Status(order.status).label}  # lazy: the reader's language


def _lock_order(*, store, order_id) -> Order:
    order = (
        Order.objects.for_store(store).select_for_update(of=("self",)).select_related("customer").filter(pk=order_id)
    ).first()
    if order is None:
        raise DomainError("Order not found", status=404, code="not_found")
    return order


def _note(what: str, reason: str) -> str:
    reason = " ".join((reason or "").split())
    return f"{what}: {reason}"[:500] if reason else what


def _give_back(*, order: Order, note: str, actor_token_id, actor_user) -> Decimal:
    if order.total_amount > 0:
        entry = wallet_refund(
            customer=order.customer,
            amount=order.total_amount,
            order_id=order.pk,
            note=note,
            actor_token_id=actor_token_id,
            actor_user=actor_user,
        )
        return entry.balance_after
    return wallet_lock(customer=order.customer).balance


@transaction.atomic
def order_refund(
    *, store, order_id: UUID, actor_token_id: UUID | None = None, actor_user=None, reason: str = ""
) -> RefundResult:
    """COMPLETED or PROCESSING → REFUNDED: the whole total back to the wallet, every item REFUNDED.
    `reason` (the owner's words, from the admin) is kept on the ledger entry's note.

    Licenses already delivered stay DELIVERED (the customer has seen them); they do not go back to stock.
    """
    order = _lock_order(store=store, order_id=order_id)
    if order.status not in (Order.Status.COMPLETED, Order.Status.PROCESSING):
        raise Conflict(
            f"Order {order.order_number} is {order.status} and cannot be refunded",
            owner=(gettext_noop("%(order)s is %(status)s and cannot be refunded."), _order_status(order)),
        )
    new_balance = _give_back(
        order=order,
        note=_note(NOTE_REFUND.format(order=order.order_number), reason),
        actor_token_id=actor_token_id,
        actor_user=actor_user,
    )
    stamp = now()
    order.status = Order.Status.REFUNDED
    order.refunded_at = stamp
    order.save(update_fields=["status", "refunded_at", "updated_at"])
    OrderItem.objects.filter(order=order).update(status=OrderItem.Status.REFUNDED)
    _emit_order(order.pk, store, "order.refunded")
    return RefundResult(order=order, refunded_amount=order.total_amount, new_balance=new_balance)


@transaction.atomic
def order_cancel(
    *, store, order_id: UUID, actor_token_id: UUID | None = None, actor_user=None, reason: str = ""
) -> RefundResult:
    """PENDING or PROCESSING → CANCELLED, refunding the whole total; every item REFUNDED."""
    order = _lock_order(store=store, order_id=order_id)
    if order.status not in (Order.Status.PENDING, Order.Status.PROCESSING):
        raise Conflict(
            f"Order {order.order_number} is {order.status} and cannot be cancelled",
            owner=(gettext_noop("%(order)s is %(status)s and cannot be cancelled."), _order_status(order)),
        )
    new_balance = _give_back(
        order=order,
        note=_note(NOTE_CANCELLATION.format(order=order.order_number), reason),
        actor_token_id=actor_token_id,
        actor_user=actor_user,
    )
    order.status = Order.Status.CANCELLED
    order.cancelled_at = now()
    order.save(update_fields=["status", "cancelled_at", "updated_at"])
    OrderItem.objects.filter(order=order).update(status=OrderItem.Status.REFUNDED)
    _emit_order(order.pk, store, "order.cancelled")
    return RefundResult(order=order, refunded_amount=order.total_amount, new_balance=new_balance)


@transaction.atomic
def order_fulfil_item(*, store, item_id: UUID, credentials: str = "", note: str = "") -> Order:
    """The owner delivers a PENDING item by hand (SERVICE / non-stock); the order completes when all are."""
    credentials = credentials or ""
    note = (note or "").strip()
    if not credentials.strip() and not note:
        raise DomainError(
            "Enter the credentials or a note",
            status=422,
            code="validation_error",
            errors=[{"field": "credentials", "message": "Enter the credentials or a note."}],
        )
    item = OrderItem.objects.for_store(store).select_related("variation").filter(pk=item_id).first()
    if item is None:
        raise DomainError("Order item not found", status=404, code="not_found")
    order = _lock_order(store=store, order_id=item.order_id)
    item = OrderItem.objects.select_for_update(of=("self",)).select_related("variation", "renews_item").get(pk=item_id)
    if order.status != Order.Status.PROCESSING or item.status != OrderItem.Status.PENDING:
        raise Conflict(
            "Only PENDING items of PROCESSING orders can be fulfilled",
            owner=(gettext_noop("Only pending items of orders in process can be delivered by hand."), {}),
        )
    stamp = now()
    item.status = OrderItem.Status.DELIVERED
    item.fulfilment_credentials_encrypted = encrypt(credentials) if credentials.strip() else ""
    item.fulfilment_note = note
    item.delivered_at = stamp
    old = item.renews_item
    base = old.expires_at if old is not None and old.expires_at and old.expires_at > stamp else stamp
    item.expires_at = expiry_for(item.variation, base)
    item.save(
        update_fields=["status", "fulfilment_credentials_encrypted", "fulfilment_note", "delivered_at", "expires_at"]
    )
    if not OrderItem.objects.filter(order=order, status=OrderItem.Status.PENDING).exists():
        order.status = Order.Status.COMPLETED
        order.completed_at = stamp
        order.save(update_fields=["status", "completed_at", "updated_at"])
        _emit_order(order.pk, store, "order.completed")
    return order


@dataclass(frozen=True)
class ReplacedItem:
    replacement: OrderItemReplacement
    order_data: dict  # the order as GET /orders/:id shows it (the event's data, new credentials included)

    @property
    def item_data(self) -> dict:
        return next(item for item in self.order_data["items"] if item["id"] == str(self.replacement.item_id))


@transaction.atomic
def order_item_replace(
    *, store, order_id: UUID, item_id: UUID, reason: str = "", actor_token_id: UUID | None = None, actor_user=None
) -> ReplacedItem:
    """Warranty replacement: a new AVAILABLE license of the item's variation replaces the delivered one.

    The old license becomes REPLACED (never back in stock), the item keeps its expiresAt, nothing is charged,
    and order.item_replaced carries the order (new credentials included) and `replacedItemId`.
    404 when the item is not in this store's order; 409 when it holds no delivered license or has reached the
    store's replacements-per-item limit; 400 out_of_stock when no license is free (nothing changes).
    """
    reason = " ".join((reason or "").split())[:MAX_REASON_LENGTH]
    item = (
        OrderItem.objects.for_store(store)
        .select_for_update(of=("self",))
        .select_related("variation", "license")
        .filter(pk=item_id, order_id=order_id)
        .first()
    )
    if item is None:
        raise DomainError("Order item not found", status=404, code="not_found")
    if item.status != OrderItem.Status.DELIVERED or item.license_id is None:
        raise Conflict(
            "Only delivered items holding a license can be replaced",
            owner=(gettext_noop("Only delivered items holding a license can be replaced."), {}),
        )
    limit = subscription_settings_for(store).max_replacements_per_item
    if OrderItemReplacement.objects.filter(item=item).count() >= limit:
        raise Conflict(
            f"This item has been replaced {limit} time(s) already, the most the store allows",
            owner=(
                gettext_noop("This item has been replaced %(limit)s time(s) already, the most your store allows."),
                {"limit": limit},
            ),
        )
    stamp = now()
    item.variation.store = store
    new_license = license_replace(
        old_license=item.license, variation=item.variation, expires_at=item.expires_at, delivered_at=stamp
    )
    replacement = OrderItemReplacement.objects.create(
        store=store,
        item=item,
        old_license=item.license,
        new_license=new_license,
        reason=reason,
        replaced_at=stamp,
    )
    OrderItem.objects.filter(pk=item.pk).update(license=new_license)
    data = order_detail(store=store, order_id=order_id)  # what GET /orders/:id answers, in this transaction
    assert data is not None  # the order is locked above
    data["replacedItemId"] = str(item.pk)
    emit(store=store, type="order.item_replaced", data=data)
    return ReplacedItem(replacement=replacement, order_data=data)
