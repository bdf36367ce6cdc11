"""Shared builders for the WhatsApp (Mosend) tests: linked customers, the order event data, routes."""

import uuid

from integrations import whatsapp
from integrations.models import TemplateRoute
from wallets.models import Customer
from wallets.tests.factories import make_customer

API_KEY = "mos_live_Zq8TopSecretKeyXyZ9k4Q7"
SENDER = "109876543210"
CREDENTIALS = "ana.netflix@example.com / Cl4ve-Sup3r-Secreta"
CREDENTIALS_2 = "spotify-user-77 / Otra-Clave-99"


def linked_customer(store, name="Ana Gómez", phone="+573001234567", linked=True) -> Customer:
    return make_customer(store, name=name, phone=phone, linked=linked)


def connect(store, api_key=API_KEY, sender=SENDER, enabled=True):
    return whatsapp.mosend_connection_save(store=store, api_key=api_key, sender=sender, enabled=enabled)


def route(
    store, event_type="order.completed", parameters=None, template="pedido_entregado", language="es_CO", enabled=True
) -> TemplateRoute:
    if parameters is None:
        parameters = ["customer_name", "order_number", "product_name", "credentials", "expiry_date", "store_name"]
    return TemplateRoute.objects.create(
        store=store,
        event_type=event_type,
        template_name=template,
        language=language,
        parameters=parameters,
        enabled=enabled,
    )


def order_data(customer, *, number=42, two_items=False) -> dict:
    """The order as GET /orders/:id renders it (API.md), which is what order events carry."""
    items = [
        {
            "id": str(uuid.uuid4()),
            "variationId": str(uuid.uuid4()),
            "productId": str(uuid.uuid4()),
            "productName": "Netflix Premium 1 mes",
            "sku": "NFX-1M",
            "pricePaid": "15000.00",
            "status": "DELIVERED",
            "license": {
                "id": str(uuid.uuid4()),
                "credentials": CREDENTIALS,
                "deliveredAt": "2026-05-18T14:30:00.000Z",
                "expiresAt": "2026-06-18T14:30:00.000Z",
            },
            "postSaleInstructions": "No cambies la contraseña.",
        }
    ]
    if two_items:
        items.append(
            {
                "id": str(uuid.uuid4()),
                "variationId": str(uuid.uuid4()),
                "productId": str(uuid.uuid4()),
                "productName": "Spotify Familiar",
                "sku": "SPT-FAM",
                "pricePaid": "10000.00",
                "status": "DELIVERED",
                "license": {
                    "id": str(uuid.uuid4()),
                    "credentials": CREDENTIALS_2,
                    "deliveredAt": "2026-05-18T14:30:00.000Z",
                    "expiresAt": "2026-07-01T00:00:00.000Z",
                },
                "postSaleInstructions": "Acepta la invitación.",
            }
        )
    total = "25000.00" if two_items else "15000.00"
    return {
        "id": str(uuid.uuid4()),
        "orderNumber": f"ORD-{number:06d}",
        "status": "COMPLETED",
        "totalAmount": total,
        "currencyCode": "COP",
        "createdAt": "2026-05-18T14:30:00.000Z",
        "user": {"id": str(customer.pk), "name": customer.name, "phone": customer.phone},
        "items": items,
    }
