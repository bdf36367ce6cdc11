"""Hand-written SQL of the wallets app (see nuvlyx/core/sql.py for why and how)."""

from catalog.models import PriceTier
from catalog.sql import quote_statement
from nuvlyx.core.sql import render

from .models import Customer, LedgerEntry, Wallet

# The customer lookups run on every price quote and order: the customer and its tier in one statement
# (built with Model.from_db), because the ORM spent longer compiling select_related(...).filter(...).first()
# than PostgreSQL takes to answer it. Every concrete field of both, in concrete-field order.
CUSTOMER_FIELDS = [f.attname for f in Customer._meta.concrete_fields]
TIER_FIELDS = [f.attname for f in PriceTier._meta.concrete_fields]
_COLUMNS = ", ".join(
    [f"c.{f.column}" for f in Customer._meta.concrete_fields]
    + [f"t.{f.column}" for f in PriceTier._meta.concrete_fields]
)
_SOURCE = "{C} c LEFT JOIN {T} t ON t.{T.id} = c.{C.tier}"
CUSTOMER_BY_ID = render(
    f"SELECT {_COLUMNS} FROM {_SOURCE} WHERE c.{{C.store}} = %s AND c.{{C.id}} = %s",  # noqa: S608
    C=Customer,
    T=PriceTier,
)
# ORDER BY = Customer.Meta.ordering.
CUSTOMER_BY_LINKED_PHONE = render(
    f"SELECT {_COLUMNS} FROM {_SOURCE}"  # noqa: S608
    " WHERE c.{C.store} = %s AND c.{C.phone} = %s AND c.{C.phone_linked_at} IS NOT NULL"
    " ORDER BY c.{C.created_at} DESC, c.{C.id} LIMIT 1",
    C=Customer,
    T=PriceTier,
)

# GET /products/:id/price?customerId|customerPhone: the customer lookup above as the quote's tier source
# (catalog.sql.quote_statement), one statement. Its columns come first in every row (NULL when no such
# customer: the product is still read, so an unknown product answers 404 first). Params: store id, the id
# or phone, store id, product id.
CUSTOMER_AND_TIER_COLUMNS = len(CUSTOMER_FIELDS) + len(TIER_FIELDS)


def _as_tier_source(lookup: str) -> str:
    columns = _COLUMNS.split(", ")
    aliased = ", ".join(f"{column} AS k{i}" for i, column in enumerate(columns))
    return lookup.replace(_COLUMNS, aliased + ", " + render("c.{C.tier} AS tier_id", C=Customer), 1)


_LEADING = ", ".join(f"c.k{i}" for i in range(CUSTOMER_AND_TIER_COLUMNS)) + ", "
QUOTE_BY_CUSTOMER_ID = quote_statement(_as_tier_source(CUSTOMER_BY_ID), leading=_LEADING)
QUOTE_BY_LINKED_PHONE = quote_statement(_as_tier_source(CUSTOMER_BY_LINKED_PHONE), leading=_LEADING)

# Every order and recharge: lock the wallet (NO KEY UPDATE: ledger rows referencing it are not blocked).
WALLET_FIELDS = ["customer_id", "store_id", "balance", "updated_at"]
WALLET_LOCK = render(
    "SELECT "  # noqa: S608 - names from _meta only
    + ", ".join(f"{{W.{name}}}" for name in WALLET_FIELDS)
    + " FROM {W} WHERE {W.customer} = %s FOR NO KEY UPDATE",
    W=Wallet,
)

# The two writes of every balance change (ORM compilation dominated them): the ledger entry, then the balance.
LEDGER_FIELDS = [f.attname for f in LedgerEntry._meta.concrete_fields]
LEDGER_INSERT = render(
    "INSERT INTO {L} ("  # noqa: S608
    + ", ".join(f"{{L.{name}}}" for name in LEDGER_FIELDS)
    + ") VALUES ("
    + ", ".join(["%s"] * len(LEDGER_FIELDS))
    + ")",
    L=LedgerEntry,
)
WALLET_UPDATE = render("UPDATE {W} SET {W.balance} = %s, {W.updated_at} = %s WHERE {W.customer} = %s", W=Wallet)
# ... sent as one statement (a data-modifying WITH): one round trip per balance change (issue 15).
LEDGER_APPEND = "WITH entry AS (" + LEDGER_INSERT + ") " + WALLET_UPDATE
