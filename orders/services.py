"""Every write to orders: placing, refunding, cancelling, fulfilling by hand. One transaction each.

Lock order (never deadlocks): the customer's wallet, then licenses (SKIP LOCKED, variation by
variation in id order) with each variation's counter row, then the store's OrderCounter last,
so the order number is only held between its assignment and the commit (order_place leaves
only the order row and the two event rows after it). Any failure rolls the
whole transaction back, which is also what keeps order numbers gap-free.
"""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid4

from django.db import connection, transaction

from catalog.models import Product, Variation
from catalog.pricing import quote_variation
from catalog.stock import expiry_for, license_take
from nuvlyx.api.errors import ApiError, Conflict
from nuvlyx.core.crypto import encrypt
from nuvlyx.core.events import emit, emit_many
from nuvlyx.core.sql import bulk_insert
from nuvlyx.core.timeutil import now
from wallets.selectors import customer_resolve
from wallets.services import wallet_debit, wallet_lock, wallet_refund

from . import sql
from .models import Order, OrderItem
from .selectors import order_detail, order_detail_data

MAX_ITEMS = 20


class ProductUnavailable(ApiError):
    status_code = 400
    code = "product_unavailable"


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
    with connection.cursor() as cursor:
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
    with connection.cursor() as cursor:
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
    notes: str = "",
    actor_token_id: UUID | None = None,
    actor_user=None,
) -> PlacedOrder:
    """Place an order paid from the wallet (API.md "Orders"). `items` = one variation id per unit.

    Everything that does not need the order number happens first (wallet, licenses, the items rows);
    then one statement bumps the store's counter and inserts the order, and only the event data
    (rendered from what is in memory) and the two event rows follow it before the commit.
    """
    if not 1 <= len(items) <= MAX_ITEMS:
        raise ApiError(
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
            raise ApiError(
                f"items[{index}].variationId: no variation {variation_id} in this store",
                status=400,
                code="bad_request",
            )
    for variation_id in wanted:
        product = variations[variation_id].product
        if product.status != Product.Status.ACTIVE:
            raise ProductUnavailable(f"Product '{product.name}' is not available for sale")

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
            note="Order payment",
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
                created_at=stamp,
            )
        )
    bulk_insert(OrderItem, rows)

    # 4. the order number, last: counter bump + order row in one statement, then the two events
    #    (their data rendered from the objects in memory: no query while the counter row is locked)
    _insert_order_numbered(order)
    data = order_detail_data(order, items=rows)
    emit_many(
        store=store,
        events=[("order.created", data)] + ([("order.completed", data)] if all_delivered else []),
    )
    return PlacedOrder(order=order, new_balance=new_balance)


def _lock_order(*, store, order_id) -> Order:
    order = (
        Order.objects.for_store(store).select_for_update(of=("self",)).select_related("customer").filter(pk=order_id)
    ).first()
    if order is None:
        raise ApiError("Order not found", status=404, code="not_found")
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
        raise Conflict(f"Order {order.order_number} is {order.status} and cannot be refunded")
    new_balance = _give_back(
        order=order,
        note=_note(f"Refund of {order.order_number}", reason),
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
        raise Conflict(f"Order {order.order_number} is {order.status} and cannot be cancelled")
    new_balance = _give_back(
        order=order,
        note=_note(f"Cancellation of {order.order_number}", reason),
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
        raise ApiError(
            "Enter the credentials or a note",
            status=422,
            code="validation_error",
            errors=[{"field": "credentials", "message": "Enter the credentials or a note."}],
        )
    item = OrderItem.objects.for_store(store).select_related("variation").filter(pk=item_id).first()
    if item is None:
        raise ApiError("Order item not found", status=404, code="not_found")
    order = _lock_order(store=store, order_id=item.order_id)
    item = OrderItem.objects.select_for_update().select_related("variation").get(pk=item_id)
    if order.status != Order.Status.PROCESSING or item.status != OrderItem.Status.PENDING:
        raise Conflict("Only PENDING items of PROCESSING orders can be fulfilled")
    stamp = now()
    item.status = OrderItem.Status.DELIVERED
    item.fulfilment_credentials_encrypted = encrypt(credentials) if credentials.strip() else ""
    item.fulfilment_note = note
    item.delivered_at = stamp
    item.expires_at = expiry_for(item.variation, stamp)
    item.save(
        update_fields=["status", "fulfilment_credentials_encrypted", "fulfilment_note", "delivered_at", "expires_at"]
    )
    if not OrderItem.objects.filter(order=order, status=OrderItem.Status.PENDING).exists():
        order.status = Order.Status.COMPLETED
        order.completed_at = stamp
        order.save(update_fields=["status", "completed_at", "updated_at"])
        _emit_order(order.pk, store, "order.completed")
    return order
