"""Found by a walk through the owner's panel in Spanish (2026-12-03), each fixed and pinned here."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from catalog.models import Product
from catalog.tests.factories import make_variation, stock
from integrations.models import ApiToken
from orders.models import SubscriptionSettings
from orders.services import order_place, order_refund
from tests.test_admin_l10n import client_for, owner_of
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-CO,es;q=0.9"}


@pytest.fixture
def owner(store):
    return client_for(owner_of(store), **SPANISH)


def test_wallet_and_import_forms_are_labelled_in_spanish(owner, store):
    customer = make_customer(store)
    for name in ("admin:wallets_customer_recharge", "admin:wallets_customer_adjust"):
        page = owner.get(reverse(name, args=[customer.pk])).content.decode()
        assert "Monto:" in page and "Nota:" in page and "Amount:" not in page and "Note:" not in page
    page = owner.get(reverse("admin:catalog_license_import")).content.decode()
    assert "Variación:" in page and "Archivo:" in page and "File:" not in page
    page = owner.get(reverse("admin:catalog_product_add")).content.decode()
    assert "Déjalo vacío para derivarlo del nombre." in page
    page = owner.get(reverse("admin:wallets_customer_add")).content.decode()
    assert "Como lo escriben tus clientes" in page and "E.164" not in page


def test_ledger_notes_the_system_wrote_are_in_the_owners_language(owner, store):
    variation = make_variation(store, price="5000.00")
    stock(variation, 1)
    customer = make_customer(store, balance="10000.00")
    order = order_place(store=store, customer_id=customer.pk, items=[variation.pk]).order
    order_refund(store=store, order_id=order.pk, reason="cliente arrepentido")
    page = owner.get(reverse("admin:wallets_ledgerentry_changelist")).content.decode()
    assert "Pago del pedido" in page and f"Reembolso de {order.order_number}: cliente arrepentido" in page
    assert "Order payment" not in page and "Refund of" not in page


def test_refusals_are_in_the_owners_words_and_money(owner, store):
    customer = make_customer(store, balance="171531.00")
    page = owner.post(
        reverse("admin:wallets_customer_adjust", args=[customer.pk]), {"amount": "-999.999.999", "note": "prueba"}
    ).content.decode()
    assert "Saldo insuficiente: $\xa0171.531 disponible, se necesitan $\xa0999.999.999." in page
    assert "Insufficient" not in page


def test_the_replace_button_goes_away_at_the_stores_limit(owner, store):
    SubscriptionSettings.objects.update_or_create(store=store, defaults={"max_replacements_per_item": 1})
    variation = make_variation(store, price="10.00", duration_days=30)
    stock(variation, 3)
    customer = make_customer(store, balance="100.00")
    order = order_place(store=store, customer_id=customer.pk, items=[variation.pk]).order
    item = order.items.get()
    change = reverse("admin:orders_order_change", args=[order.pk])
    replace = reverse("admin:orders_order_replace", args=[order.pk, item.pk])
    assert replace in owner.get(change).content.decode()
    assert owner.post(replace, {"reason": "no funciona"}).status_code == 302
    page = owner.get(change).content.decode()
    assert replace not in page and "el máximo que permite tu tienda" in page
    refused = owner.post(replace, {"reason": "otra vez"}, follow=True).content.decode()
    assert "Este ítem ya se reemplazó 1 vez/veces, el máximo que permite tu tienda." in refused


def test_view_on_site_with_a_malformed_id_is_a_404_not_a_500(owner):
    content_type = ContentType.objects.get_for_model(Product)
    assert owner.get(f"/admin/r/{content_type.pk}/2/").status_code == 404


def test_a_missing_admin_page_is_the_admins_own_404_in_spanish(owner):
    response = owner.get("/admin/catalog/product/00000000-0000-4000-8000-000000000000/change/")
    assert response.status_code in (302, 404)  # Django redirects a missing change page to the list…
    response = owner.get("/admin/nowhere/at/all/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Página no encontrada" in page and 'lang="es"' in page and reverse("admin:index") in page
    assert "/admin/nowhere/at/all/" not in page  # the language switcher goes home, not back here


def test_token_form_refuses_a_past_expiry_and_zero_requests_per_minute(owner, store):
    add = reverse("admin:integrations_apitoken_add")
    base = {"mode": "live", "name": "bot", "scopes": ["products:read"]}
    past = (store.created_at - timedelta(days=1)).strftime("%d/%m/%Y")
    page = owner.post(add, {**base, "expires_at_0": past, "expires_at_1": "10:00"}).content.decode()
    assert "Elige un momento en el futuro" in page
    page = owner.post(add, {**base, "rate_limit_per_minute": "0"}).content.decode()
    assert "Al menos 1 solicitud por minuto" in page
    assert not ApiToken.objects.filter(name="bot").exists()


def test_license_import_offers_only_variations_sold_from_stock(owner, store):
    stocked = make_variation(store)
    service = make_variation(store, depends_on_stock=False)
    url = reverse("admin:catalog_license_import")
    page = owner.get(url).content.decode()
    assert f'value="{stocked.pk}"' in page and f'value="{service.pk}"' not in page
    forged = owner.post(url, {"variation": str(service.pk), "pasted": "svc-cred-1"}).content.decode()
    assert "Escoja una opción válida" in forged
    assert service.licenses.count() == 0 and stocked.licenses.count() == 0
