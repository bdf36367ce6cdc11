"""Hand-written SQL of the catalog app (see nuvlyx/core/sql.py for why and how)."""

from django.db import connection

from nuvlyx.core.sql import render

from .models import License, Product, TierPrice, Variation

# --- GET /products ETag: one aggregate statement over what the list renders -----------------------
# Hand-written because the ORM compiles an aggregate over a join in ~2.7 ms of Python, more than
# PostgreSQL takes to run it. The filters are those of selectors.product_list_queryset (kept in step
# with it: the tests compare the ETag's product count with the rendered list for every filter).


def _icontains(column: str) -> str:
    """`column` icontains %s, written exactly as Django writes the lookup."""
    return f"{connection.ops.lookup_cast('icontains') % column} {connection.operators['icontains'] % '%s'}"


def product_list_where(*, store_id, filters) -> tuple[str, list]:
    """The WHERE of the list's filters on `{Product} p`, and its parameters."""
    db_uuid = lambda value: Product._meta.pk.get_db_prep_value(value, connection)  # noqa: E731
    where, params = [render("p.{P.store} = %s", P=Product)], [db_uuid(store_id)]
    if filters.status:
        where.append(render("p.{P.status} = %s", P=Product))
        params.append(filters.status)
    if filters.kind:
        where.append(render("p.{P.kind} = %s", P=Product))
        params.append(filters.kind)
    if filters.category_id:
        links = Product.categories.through
        where.append(
            render(
                "EXISTS (SELECT 1 FROM {PC} pc WHERE pc.{PC.product} = p.{P.id} AND pc.{PC.category} = %s)",
                PC=links,
                P=Product,
            )
        )
        params.append(db_uuid(filters.category_id))
    if filters.search:
        like = f"%{connection.ops.prep_for_like_query(filters.search)}%"
        names = render("p.{P.name}|p.{P.slug}|p.{P.id}|vs.{V.sku}|vs.{V.product}|vs.{V.store}", P=Product, V=Variation)
        p_name, p_slug, p_id, v_sku, v_product, v_store = names.split("|")
        skus = f"SELECT {v_product} FROM {Variation._meta.db_table} vs WHERE {v_store} = %s AND {_icontains(v_sku)}"  # noqa: S608
        where.append(f"({_icontains(p_name)} OR {_icontains(p_slug)} OR {p_id} IN ({skus}))")
        params += [like, like, db_uuid(store_id), like]
    return " AND ".join(where), params


def product_list_aggregates(*, store_id, filters, unfiltered: bool) -> tuple[str, list]:
    """(product count, max product updated_at, variation count, max variation updated_at, sum of stock,
    sum of price) over what GET /products renders, as per-table aggregates.

    Unfiltered (the common poll, the whole catalog): no join at all, two plain `store_id = %s` scans
    (~1.3 ms for 1,000 products × 3 variations, against ~3.3 ms for the join with a COUNT(DISTINCT)).
    Filtered: the products, and their variations joined through the product_id index.
    """
    where, params = product_list_where(store_id=store_id, filters=filters)
    if unfiltered:
        v_source = render("{V} v WHERE v.{V.store} = %s", V=Variation)
    else:
        v_source = render("{V} v JOIN {P} p ON p.{P.id} = v.{V.product} WHERE ", V=Variation, P=Product) + where
    statement = render(
        "SELECT p.n, p.m, v.n, v.m, v.s, v.pr FROM"
        " (SELECT COUNT(*) AS n, MAX(p.{P.updated_at}) AS m FROM {P} p WHERE WHERE_P) p,"
        " (SELECT COUNT(*) AS n, MAX(v.{V.updated_at}) AS m, SUM(v.{V.stock_available}) AS s,"
        " SUM(v.{V.price}) AS pr FROM V_SOURCE) v",
        P=Product,
        V=Variation,
    )
    return statement.replace("WHERE_P", where).replace("V_SOURCE", v_source), params + params


# --- GET /products/:id/price -------------------------------------------------------------------
# What the quote reads of each variation, in the model's field order: Model.from_db takes the values of a
# subset of fields in concrete-field order (the others are left deferred).
QUOTE_VARIATION_FIELDS = [
    f.attname
    for f in Variation._meta.concrete_fields
    if f.attname in {"id", "sku", "price", "stock_available", "depends_on_stock"}
]
# The product, its variations in the detail view's order (Variation.Meta.ordering) and, for each, the
# explicit price of the customer's tier (NULL tier: never matches, every tp.price is NULL), in ONE
# statement. A product without variations gives one row of NULL variation columns. At most one tier price
# per (variation, tier) (unique constraint), so one row per variation.
# The tier comes from a one-row source `c` with a `tier_id` column: a parameter here; the customer looked up
# in the same statement for GET /products/:id/price?customerPhone|customerId (wallets/sql.py, which also
# selects the customer's columns first: `leading`). Params: the source's, then store id, product id.
_QUOTE_TAIL = render(
    " SELECT LEADING p.{P.name}, tp.{TP.price}, "  # noqa: S608 - names from _meta only
    + ", ".join(f"v.{{V.{name}}}" for name in QUOTE_VARIATION_FIELDS)
    + " FROM {P} p LEFT JOIN c ON TRUE"
    " LEFT JOIN {V} v ON v.{V.product} = p.{P.id}"
    " LEFT JOIN {TP} tp ON tp.{TP.variation} = v.{V.id} AND tp.{TP.tier} = c.tier_id"
    " WHERE p.{P.store} = %s AND p.{P.id} = %s"
    " ORDER BY v.{V.position}, v.{V.created_at}, v.{V.id}",
    P=Product,
    V=Variation,
    TP=TierPrice,
)


def quote_statement(tier_source: str, leading: str = "") -> str:
    """The quote's statement over `WITH c AS (tier_source)`, selecting `leading` columns first."""
    return "WITH c AS (" + tier_source + ")" + _QUOTE_TAIL.replace("LEADING ", leading)


QUOTE = quote_statement("SELECT %s::uuid AS tier_id")

# --- license upload: COPY (binary) in a savepoint; on a unique conflict, INSERT … ON CONFLICT DO NOTHING
LICENSE_COPY_FIELDS = [
    "id",
    "credentials_hash",
    "credentials_encrypted",
    "store_id",
    "variation_id",
    "status",
    "created_at",
]
LICENSE_COPY = render(
    "COPY {L} (" + ", ".join(f"{{L.{n}}}" for n in LICENSE_COPY_FIELDS) + ") FROM STDIN (FORMAT BINARY)", L=License
)
LICENSE_INSERT_SKIPPING_DUPLICATES = render(
    "INSERT INTO {L} ({L.id}, {L.store}, {L.variation}, {L.credentials_encrypted}, {L.credentials_hash},"
    " {L.status}, {L.created_at}, {L.delivered_at}, {L.expires_at})"
    " SELECT u.id, %s, %s, u.enc, u.hash, %s, %s, NULL, NULL"
    " FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS u(id, hash, enc)"
    " ON CONFLICT ({L.variation}, {L.credentials_hash}) DO NOTHING",
    L=License,
)

# The upload's look-up of hashes already in stock: one array parameter instead of thousands.
LICENSE_HASH_IN_ARRAY = render("{L.credentials_hash} = ANY(%s)", L=License)

# --- stock take (every order): lock with SKIP LOCKED and deliver in one statement ----------------
LICENSE_TAKE_FIELDS = [
    "id", "store_id", "variation_id", "credentials_encrypted", "credentials_hash", "status",
    "created_at", "delivered_at", "expires_at",
]  # fmt: skip
LICENSE_TAKE = render(
    "UPDATE {L} SET {L.status} = %s, {L.delivered_at} = %s, {L.expires_at} = %s"  # noqa: S608
    " WHERE {L.id} IN (SELECT {L.id} FROM {L} WHERE {L.variation} = %s AND {L.status} = %s"
    " ORDER BY {L.created_at}, {L.id} LIMIT %s FOR UPDATE SKIP LOCKED)"
    " RETURNING " + ", ".join(f"{{L.{n}}}" for n in LICENSE_TAKE_FIELDS),
    L=License,
)
# The take and the variation's counters in one statement (a data-modifying WITH; the counters move only
# when all `quantity` were taken, else the caller raises OutOfStock and rolls back): each returned row
# is a taken license and whether the low-stock check can fire. Params: the take's 6, updated_at, the
# variation id, quantity.
LICENSE_TAKE_COUNTED = render(
    "WITH taken AS (" + LICENSE_TAKE + "),"  # noqa: S608 - names from _meta only
    " counted AS (UPDATE {V} SET {V.stock_available} = {V.stock_available} - (SELECT count(*) FROM taken),"
    " {V.stock_delivered} = {V.stock_delivered} + (SELECT count(*) FROM taken), {V.updated_at} = %s"
    " WHERE {V.id} = %s AND (SELECT count(*) FROM taken) = %s"
    " RETURNING {V.depends_on_stock} AND NOT {V.low_stock_notified}"
    " AND {V.stock_available} < {V.low_stock_threshold} AS may_be_low)"
    " SELECT taken.*, (SELECT may_be_low FROM counted) FROM taken",
    V=Variation,
)
