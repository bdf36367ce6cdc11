"""One store with a row in every table the admin shows, every name carrying a marker.

Used by the tenancy walk: owner B walks every admin page with store A's data present and must never
see A's marker or any of A's ids."""

from dataclasses import dataclass, field
from decimal import Decimal

from catalog.models import License, Variation
from catalog.services import category_create, price_tier_create, product_create
from catalog.stock import license_upload
from integrations.models import MessageLog, TemplateRoute
from integrations.services import api_token_create
from integrations.whatsapp import mosend_connection_save
from nuvlyx.core.services import store_create
from orders.models import Order, OrderItem
from orders.services import order_place
from wallets.models import LedgerEntry
from wallets.services import customer_create, wallet_recharge
from webhooks import services as webhook_services
from webhooks.models import Attempt


@dataclass
class StoreData:
    store: object
    owner: object
    marker: str
    objects: dict = field(default_factory=dict)  # model -> one object of this store

    def ids(self) -> set[str]:
        found = {str(self.store.pk)}
        for obj in self.objects.values():
            found.add(str(obj.pk))
        return found


def populate_store(marker: str, *, slug: str = "", store=None, owner=None) -> StoreData:
    """Every name starts with `marker`; the store's owner is owner-<slug>@example.com. Given `store` (a
    sandbox) and its `owner`, fills that store instead of creating one."""
    from django.contrib.auth import get_user_model

    if store is None:
        store = store_create(
            slug=slug, name=f"{marker} Store", owner_email=f"owner-{slug}@example.com", owner_password="pw-123456789"
        )
        owner = get_user_model().objects.get(username=f"owner-{slug}@example.com")
    tier = price_tier_create(store=store, name=f"{marker} Gold", level=3)
    category = category_create(store=store, name=f"{marker} Streaming")
    product = product_create(
        store=store,
        name=f"{marker} Netflix",
        kind="DIGITAL",
        category_ids=[category.pk],
        variations=[
            {
                "sku": f"{marker}-NF-1M",
                "name": f"{marker} one month",
                "price": Decimal("15000.00"),
                "duration_days": 30,
                "tier_prices": [{"tier_id": tier.pk, "price": Decimal("12000.00")}],
            }
        ],
    )
    variation = Variation.objects.get(product=product)
    license_upload(store=store, variation=variation, credentials=[f"{marker}-cred-1", f"{marker}-cred-2"])
    customer = customer_create(
        store=store,
        name=f"{marker} Ana",
        email=f"{marker.lower()}@example.com",
        phone=None,
        tier=tier,
        link_phone=False,
    )
    wallet_recharge(customer=customer, amount=Decimal("50000.00"), note=f"{marker} cash")
    placed = order_place(store=store, customer_id=customer.pk, items=[variation.pk], notes=f"{marker} note")
    token, _ = api_token_create(store=store, name=f"{marker} bot", scopes=["orders:read"])
    endpoint, _ = webhook_services.endpoint_create(
        store=store, url=f"http://127.0.0.1:9/{marker.lower()}-hooks", events=["*"], description=f"{marker} erp"
    )
    delivery = webhook_services.endpoint_send_test(endpoint=endpoint)
    attempt = Attempt.objects.create(store=store, delivery=delivery, number=1, response_status=500, error=f"{marker}")
    connection = mosend_connection_save(
        store=store, api_key=f"{marker}-mosend-key", sender="573001112233", enabled=True
    )
    route = TemplateRoute.objects.create(
        store=store,
        event_type="order.completed",
        template_name=f"{marker.lower()}_order",
        language="es",
        parameters=["customer_name", "order_number"],
    )
    message = MessageLog.objects.create(
        store=store,
        event_type="order.completed",
        customer=customer,
        route=route,
        template_name=f"{marker.lower()}_t",
        language="es",
        parameter_keys=["customer_name", "order_number"],
    )
    objects = {
        "tier": tier,
        "category": category,
        "product": product,
        "variation": variation,
        "tierprice": variation.tier_prices.get(),
        "license": License.objects.filter(variation=variation).first(),
        "customer": customer,
        "ledgerentry": LedgerEntry.objects.filter(wallet_id=customer.pk).first(),
        "order": Order.objects.get(pk=placed.order.pk),
        "orderitem": OrderItem.objects.filter(order_id=placed.order.pk).first(),
        "apitoken": token,
        "webhookendpoint": endpoint,
        "delivery": delivery,
        "attempt": attempt,
        "mosendconnection": connection,
        "templateroute": route,
        "messagelog": message,
    }
    return StoreData(store=store, owner=owner, marker=marker, objects=objects)
