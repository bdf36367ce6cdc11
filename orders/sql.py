"""Hand-written SQL of the orders app (see nuvlyx/core/sql.py for why and how).

Order placement and order detail run on every POST /orders and GET /orders/:id; `make bench`
measured the ORM's compilation as most of their time. bench/order_placement.sql (pgbench) writes
the same tables and columns; tests/test_bench_sql.py holds the two together.
"""

from catalog.models import License, Product, TierPrice, Variation
from nuvlyx.core.formats import sql_timestamps
from nuvlyx.core.models import Store
from nuvlyx.core.sql import render
from wallets.models import Customer

from .models import LicenseReminder, Order, OrderCounter, OrderItem, OrderItemReplacement, SubscriptionSettings

# The store's variations of an order (product joined) and the tier's explicit price of each.
VARIATION_FIELDS = [f.attname for f in Variation._meta.concrete_fields]
PRODUCT_FIELDS = [f.attname for f in Product._meta.concrete_fields]
VARIATIONS_WITH_TIER_PRICE = render(
    "SELECT "  # noqa: S608 - names from _meta only
    + ", ".join([f"v.{{V.{n}}}" for n in VARIATION_FIELDS] + [f"p.{{P.{n}}}" for n in PRODUCT_FIELDS])
    + ", tp.{TP.price}"
    " FROM {V} v JOIN {P} p ON p.{P.id} = v.{V.product}"
    " LEFT JOIN {TP} tp ON tp.{TP.variation} = v.{V.id} AND tp.{TP.tier} = %s"
    " WHERE v.{V.store} = %s AND v.{V.id} = ANY(%s)",
    V=Variation,
    P=Product,
    TP=TierPrice,
)

# Take the store's next order number and insert the order with it, one round trip: the counter row
# stays locked until commit and a rollback undoes the bump (gap-free numbers).
ORDER_INSERT_FIELDS = [
    "id", "store_id", "customer_id", "status", "total_amount", "currency", "notes",
    "created_at", "updated_at", "completed_at",
]  # fmt: skip
ORDER_BUMP_AND_INSERT = render(
    "WITH n AS (UPDATE {C} SET {C.last_number} = {C.last_number} + 1"  # noqa: S608
    " WHERE {C.store} = %s RETURNING {C.last_number})"
    " INSERT INTO {O} ({O.number}, "
    + ", ".join(f"{{O.{n}}}" for n in ORDER_INSERT_FIELDS)
    + ") SELECT n.{C.last_number}, "
    + ", ".join(["%s"] * len(ORDER_INSERT_FIELDS))
    + " FROM n RETURNING {O.number}",
    C=OrderCounter,
    O=Order,
)
# A store's first order creates its counter row (then the bump runs again).
ORDER_COUNTER_CREATE = render(
    "INSERT INTO {C} ({C.store}, {C.last_number}) VALUES (%s, 0) ON CONFLICT ({C.store}) DO NOTHING", C=OrderCounter
)

# GET /orders/:id in two statements that render ids, amounts and timestamps in the API's format
# (nuvlyx.core.formats: uuid::text, numeric(14, 2)::text, TS()), so Python only builds dicts of
# strings (orders.render.order_detail; columns in its ORDER_*/ITEM_DETAIL_COLUMNS order). One
# five-table join measured the same per request and repeats the order's columns on every item row,
# so it stays two queries.
# GET /orders/:id (and every order.* event's data): the order with its customer, then its items (product
# instructions, license, replacement history as JSON), values as the API writes them, in ONE statement: the
# order's columns repeat on each item row (ORDER_DETAIL_COLUMNS of them; an order has at least one item,
# the LEFT JOIN keeps it readable if not). Params: order id, store id.
ORDER_DETAIL_COLUMNS = 14
ORDER_DETAIL = sql_timestamps(
    render(
        "SELECT o.{O.id}::text, o.{O.number}, o.{O.status}, o.{O.total_amount}::text, o.{O.currency}, "
        "TS(o.{O.created_at}), c.{C.id}::text, c.{C.name}, c.{C.phone}, o.{O.notes}, "
        "TS(o.{O.updated_at}), TS(o.{O.completed_at}), TS(o.{O.refunded_at}), TS(o.{O.cancelled_at}),"
        " i.{I.id}::text, i.{I.product}::text, i.{I.product_name}, i.{I.variation}::text, i.{I.sku},"
        " i.{I.price_paid}::text, i.{I.status}, p.{P.post_sale_instructions}, l.{L.id}::text,"
        " l.{L.credentials_encrypted}, TS(l.{L.delivered_at}), TS(l.{L.expires_at}),"
        " i.{I.fulfilment_credentials_encrypted}, i.{I.fulfilment_note}, TS(i.{I.delivered_at}), TS(i.{I.expires_at}),"
        " (SELECT COALESCE(json_agg(json_build_object('id', r.{R.id}::text, 'replacedAt', TS(r.{R.replaced_at}),"
        " 'reason', r.{R.reason}, 'previousLicenseId', r.{R.old_license}::text, 'licenseId', r.{R.new_license}::text)"
        " ORDER BY r.{R.replaced_at}, r.{R.id}), '[]'::json) FROM {R} r WHERE r.{R.item} = i.{I.id})"
        " FROM {O} o JOIN {C} c ON c.{C.id} = o.{O.customer}"
        " LEFT JOIN ({I} i JOIN {P} p ON p.{P.id} = i.{I.product} LEFT JOIN {L} l ON l.{L.id} = i.{I.license})"
        " ON i.{I.order} = o.{O.id}"
        " WHERE o.{O.id} = %s AND o.{O.store} = %s ORDER BY i.{I.position}, i.{I.id}",
        O=Order,
        C=Customer,
        I=OrderItem,
        P=Product,
        L=License,
        R=OrderItemReplacement,
    )
)

# GET /orders: one page's orders (customer joined) and their items, values as the API writes them (ids and
# amounts as text, timestamps as format_datetime does), in the page's order: params = the page's order ids
# (uuid[]; which and in what order is the ORM's filtered, ordered query). An order's columns repeat on each
# of its item rows (ORDER_SUMMARY_COLUMNS of them).
ORDER_SUMMARY_COLUMNS = 9
ORDER_LIST_PAGE = sql_timestamps(
    render(
        "SELECT o.{O.id}::text, o.{O.number}, o.{O.status}, o.{O.total_amount}::text, o.{O.currency},"
        " TS(o.{O.created_at}), c.{C.id}::text, c.{C.name}, c.{C.phone},"
        " i.{I.id}::text, i.{I.variation}::text, i.{I.price_paid}::text, i.{I.status}"
        " FROM unnest(%s::uuid[]) WITH ORDINALITY AS page(id, n)"
        " JOIN {O} o ON o.{O.id} = page.id JOIN {C} c ON c.{C.id} = o.{O.customer}"
        " LEFT JOIN {I} i ON i.{I.order} = o.{O.id}"
        " ORDER BY page.n, i.{I.position}, i.{I.id}",
        O=Order,
        C=Customer,
        I=OrderItem,
    )
)

# --- license reminders (orders/reminders.py): claim every due (item, point) once -----------------------
# One row per delivered item with an expiry and per reminder point of its store (the store's reminder days,
# or the defaults, and EXPIRED_POINT = -1 for license.expired) whose moment has come. ON CONFLICT on the
# unique (item, point) makes the claim exactly-once across beats and workers: a concurrent run waits on the
# uncommitted rows of the first and then skips them. A point due more than a day ago is claimed SKIPPED.
# Moments: -1 → expiresAt; 0 → the start of the expiry day in the store's time zone; N → expiresAt − N days.
# Only points after the delivery count (a 2-day license never gets the 3-day reminder). Rows are claimed in
# (item, point) order, so two concurrent passes wait on each other's keys in the same order (no deadlock).
REMINDERS_CLAIM = render(
    "INSERT INTO {R} ({R.id}, {R.store}, {R.item}, {R.license}, {R.point}, {R.status}, {R.due_at}, {R.created_at})"
    " SELECT gen_random_uuid(), i.{I.store}, i.{I.id}, i.{I.license}, p.point,"
    " CASE WHEN d.due < %(now)s - interval '1 day' THEN 'SKIPPED' ELSE 'SENT' END, d.due, %(now)s"
    " FROM {I} i JOIN {S} st ON st.{S.id} = i.{I.store}"
    " LEFT JOIN {SS} ss ON ss.{SS.store} = i.{I.store}"
    " CROSS JOIN LATERAL (SELECT unnest(COALESCE(ss.{SS.reminder_days}, %(default_days)s::smallint[])) AS point"
    " UNION SELECT -1) p"
    " CROSS JOIN LATERAL (SELECT CASE WHEN p.point = -1 THEN i.{I.expires_at}"
    " WHEN p.point = 0 THEN date_trunc('day', i.{I.expires_at} AT TIME ZONE st.{S.timezone})"
    " AT TIME ZONE st.{S.timezone}"
    " ELSE i.{I.expires_at} - make_interval(days => p.point) END AS due) d"
    " WHERE i.{I.status} = 'DELIVERED' AND i.{I.expires_at} IS NOT NULL"
    " AND i.{I.expires_at} > %(oldest)s AND i.{I.expires_at} <= %(newest)s"
    " AND d.due <= %(now)s AND d.due >= i.{I.delivered_at}"
    " AND NOT EXISTS (SELECT 1 FROM {I} n WHERE n.{I.renews_item} = i.{I.id})"
    " AND NOT EXISTS (SELECT 1 FROM {R} r WHERE r.{R.item} = i.{I.id} AND r.{R.point} = p.point)"
    " ORDER BY i.{I.id}, p.point LIMIT %(limit)s"
    " ON CONFLICT ({R.item}, {R.point}) DO NOTHING"
    " RETURNING {R.id}, {R.store}, {R.item}, {R.point}, {R.status}",
    R=LicenseReminder,
    I=OrderItem,
    S=Store,
    SS=SubscriptionSettings,
)
