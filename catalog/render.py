"""The catalog's shapes (API.md "Products", "Inventory"), each built by exactly one function here.

The API, the product.* and inventory.low_stock events and the admin read them from here. Inputs are
values already written as the API writes them (nuvlyx.core.formats): ids and amounts as text (the
list reads them cast by the database), timestamps formatted.
"""

from nuvlyx.core.formats import format_id


def tier(tier_id: str, name: str, level: int) -> dict:
    return {"id": tier_id, "name": name, "level": level}


def category(category_id: str, name: str, slug: str, description: str) -> dict:
    return {"id": category_id, "name": name, "slug": slug, "description": description}


def product_category(category_id: str, name: str, slug: str) -> dict:
    """A category as a product lists it (no description)."""
    return {"id": category_id, "name": name, "slug": slug}


def _stock_quantity(depends_on_stock: bool, stock_available: int) -> int | None:
    return stock_available if depends_on_stock else None


def variation_summary(variation_id, sku, name, price, stock_available, duration_days, depends_on_stock) -> dict:
    """A variation in GET /products rows."""
    return {
        "id": variation_id,
        "sku": sku,
        "name": name,
        "price": price,
        "stockQuantity": _stock_quantity(depends_on_stock, stock_available),
        "durationDays": duration_days,
        "dependsOnStock": depends_on_stock,
    }


def variation_detail(row, tier_prices: list[dict]) -> dict:
    """A variation of the full Product: the summary's keys, then its tier prices (tier_price())."""
    data = variation_summary(*row)
    data["tierPrices"] = tier_prices
    return data


def tier_price(tier_row, price: str) -> dict:
    return {"tier": tier(*tier_row), "price": price}


def _product_head(product_id, name, slug, kind, status) -> dict:
    """The keys a product row and the full Product start with."""
    return {"id": product_id, "name": name, "slug": slug, "kind": kind, "status": status}


def product_summary(product_id, name, slug, kind, status, variations: list[dict], created_at) -> dict:
    """One row of GET /products."""
    data = _product_head(product_id, name, slug, kind, status)
    data["variations"] = variations
    data["createdAt"] = created_at
    return data


def product_detail(product_row, categories: list[dict], variations: list[dict]) -> dict:
    """The full Product: GET /products/:id, the POST/PATCH answers and every product.* event."""
    product_id, name, slug, kind, status, description, instructions, created_at, updated_at = product_row
    data = _product_head(product_id, name, slug, kind, status)
    data["description"] = description
    data["postSaleInstructions"] = instructions
    data["categories"] = categories
    data["variations"] = variations
    data["createdAt"] = created_at
    data["updatedAt"] = updated_at
    return data


def price_quote(*, product_id, product_name, currency, customer_id, tier_data: dict | None, variations) -> dict:
    """GET /products/:id/price (seed 001). `variations`: (variation_id, sku, base_price, price, applied,
    available_stock, depends_on_stock) with `applied` saying whether the customer's tier set the price."""
    return {
        "productId": product_id,
        "productName": product_name,
        "currency": currency,
        "customer": None if customer_id is None else {"id": customer_id, "tier": tier_data},
        "variations": [
            {
                "variationId": variation_id,
                "sku": sku,
                "basePrice": base_price,
                "price": price,
                "appliedTier": tier_data if applied else None,
                "availableStock": available,
                "dependsOnStock": depends_on_stock,
            }
            for variation_id, sku, base_price, price, applied, available, depends_on_stock in variations
        ],
    }


def stock_row(row: dict) -> dict:
    """One row of GET /inventory/stock and the inventory.low_stock event's data (row: catalog.stock.STOCK_FIELDS)."""
    return {
        "productId": format_id(row["product_id"]),
        "productName": row["product__name"],
        "variationId": format_id(row["id"]),
        "sku": row["sku"],
        "dependsOnStock": row["depends_on_stock"],
        "available": row["stock_available"],
        "delivered": row["stock_delivered"],
        "lowStockThreshold": row["low_stock_threshold"],
    }
