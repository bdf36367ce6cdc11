"""The order's shapes (API.md "Orders"), each built by exactly one function here.

GET /orders rows, GET /orders/:id and the data of every order.* event come from these. Their input
is rows of values already written as the API writes them (nuvlyx.core.formats): the hot paths read
them that way from SQL (orders/sql.py), the others format model fields into the same rows
(orders.selectors). Credentials arrive encrypted and are decrypted here, only for the detail shape.
"""

from nuvlyx.core.crypto import decrypt
from nuvlyx.core.formats import format_amount, format_datetime, format_id, format_order_number

from .models import LicenseState, Order, OrderItem

_PENDING = OrderItem.Status.PENDING.value

# Column order of the rows below (the SELECT lists of orders/sql.py and orders.selectors follow it).
ORDER_COLUMNS = ("id", "number", "status", "total", "currency", "created_at", "customer_id", "name", "phone")
ORDER_DETAIL_COLUMNS = ("notes", "updated_at", "completed_at", "refunded_at", "cancelled_at")
ITEM_COLUMNS = ("id", "variation_id", "price_paid", "status")
ITEM_DETAIL_COLUMNS = (
    "id", "product_id", "product_name", "variation_id", "sku", "price_paid", "status", "post_sale_instructions",
    "license_id", "license_credentials_encrypted", "license_delivered_at", "license_expires_at",
    "fulfilment_credentials_encrypted", "fulfilment_note", "delivered_at", "expires_at", "replacements",
)  # fmt: skip


def order_summary(order_row, items: list[dict]) -> dict:
    """One row of GET /orders (no credentials); `items` are order_summary_item()s or order_detail_item()s."""
    order_id, number, status, total, currency, created_at, customer_id, name, phone = order_row
    return {
        "id": order_id,
        "orderNumber": format_order_number(number),
        "status": status,
        "totalAmount": total,
        "currencyCode": currency,
        "createdAt": created_at,
        "user": {"id": customer_id, "name": name, "phone": phone},
        "items": items,
    }


def order_summary_item(item_row) -> dict:
    item_id, variation_id, price_paid, status = item_row
    return {"id": item_id, "variationId": variation_id, "pricePaid": price_paid, "status": status}


def order_detail(order_row, detail_row, item_rows) -> dict:
    """GET /orders/:id and every order.* event: the summary's keys (same order), then the detail's."""
    data = order_summary(order_row, [order_detail_item(row) for row in item_rows])
    notes, updated_at, completed_at, refunded_at, cancelled_at = detail_row
    data["notes"] = notes
    data["updatedAt"] = updated_at
    data["completedAt"] = completed_at
    data["refundedAt"] = refunded_at
    data["cancelledAt"] = cancelled_at
    return data


def order_detail_item(item_row) -> dict:
    (
        item_id,
        product_id,
        product_name,
        variation_id,
        sku,
        price_paid,
        status,
        instructions,
        license_id,
        license_credentials,
        license_delivered_at,
        license_expires_at,
        fulfilment_credentials,
        fulfilment_note,
        delivered_at,
        expires_at,
        replacements,
    ) = item_row
    license = None
    if license_id is not None:
        license = {
            "id": license_id,
            "credentials": decrypt(license_credentials),
            "deliveredAt": license_delivered_at,
            "expiresAt": license_expires_at,
        }
    fulfilment = None  # what the owner entered when fulfilling a SERVICE / non-stock item by hand
    if license_id is None and status != _PENDING and delivered_at is not None:
        fulfilment = {
            "credentials": decrypt(fulfilment_credentials) if fulfilment_credentials else None,
            "note": fulfilment_note or None,
            "deliveredAt": delivered_at,
            "expiresAt": expires_at,
        }
    return {
        "id": item_id,
        "productId": product_id,
        "productName": product_name,
        "variationId": variation_id,
        "sku": sku,
        "pricePaid": price_paid,
        "status": status,
        "postSaleInstructions": instructions,
        "license": license,
        "fulfilment": fulfilment,
        "replacements": replacements,
    }


def item_replacement(replacement) -> dict:
    """One entry of an item's `replacements` (never the old credentials). ORDER_DETAIL builds the
    same object in SQL (json_build_object, same keys and formats)."""
    return {
        "id": format_id(replacement.pk),
        "replacedAt": format_datetime(replacement.replaced_at),
        "reason": replacement.reason,
        "previousLicenseId": format_id(replacement.old_license_id),
        "licenseId": format_id(replacement.new_license_id),
    }


def order_placed(order: Order, *, new_balance) -> dict:
    """The answer of POST /orders (the order itself is GET /orders/:id)."""
    return {
        "orderId": format_id(order.pk),
        "orderNumber": format_order_number(order.number),
        "status": order.status,
        "totalAmount": format_amount(order.total_amount),
        "newBalance": format_amount(new_balance),
    }


def order_refunded(order: Order, *, refunded_amount, new_balance) -> dict:
    """The answer of POST /orders/:id/refund and /cancel."""
    return {
        "orderId": format_id(order.pk),
        "orderNumber": format_order_number(order.number),
        "status": order.status,
        "refundedAmount": format_amount(refunded_amount),
        "newBalance": format_amount(new_balance),
    }


def license_holding(row: tuple, at) -> dict:
    """One row of GET /licenses (and the data of license.expiring / license.expired): no credentials.
    `row` has orders.selectors._LICENSE_FIELDS in order; `at` decides ACTIVE / EXPIRED."""
    (
        license_id,
        item_id,
        order_id,
        number,
        customer_id,
        customer_name,
        customer_phone,
        product_id,
        product_name,
        variation_id,
        sku,
        item_status,
        delivered_at,
        expires_at,
        renews_item_id,
        renewed_by_id,
    ) = row
    if item_status == OrderItem.Status.REFUNDED:
        state = LicenseState.REFUNDED
    elif expires_at is not None and expires_at <= at:
        state = LicenseState.EXPIRED
    else:
        state = LicenseState.ACTIVE
    return {
        "id": format_id(license_id),
        "itemId": format_id(item_id),
        "orderId": format_id(order_id),
        "orderNumber": format_order_number(number),
        "customer": {"id": format_id(customer_id), "name": customer_name, "phone": customer_phone},
        "productId": format_id(product_id),
        "productName": product_name,
        "variationId": format_id(variation_id),
        "sku": sku,
        "status": state,
        "deliveredAt": format_datetime(delivered_at),
        "expiresAt": format_datetime(expires_at),
        "renewsItemId": format_id(renews_item_id),
        "renewedByItemId": format_id(renewed_by_id),
    }
