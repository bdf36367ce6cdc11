"""The owner's admin pages: orders (credentials only on the detail page), fulfil, refund, license stock."""

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import License, Product
from catalog.tests.factories import make_variation, stock
from orders.models import Order, OrderItem
from orders.services import order_place
from wallets.models import LedgerEntry, Wallet
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(store):
    from django.contrib.auth import get_user_model

    from nuvlyx.core.models import StoreMember

    user = get_user_model().objects.create_user(username="owner@acme.test", password="pw", is_staff=True)
    StoreMember.objects.create(store=store, user=user)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def sold(store):
    variation = make_variation(store, price="10.00")
    creds = stock(variation, 2, prefix="admin-secret")
    customer = make_customer(store, balance="100.00")
    order = order_place(store=store, customer_id=customer.pk, items=[variation.pk]).order
    return order, creds, variation


def test_order_list_hides_credentials_detail_shows_them(owner, sold):
    order, _creds, _ = sold
    listing = owner.get(reverse("admin:orders_order_changelist"))
    assert listing.status_code == 200
    assert order.order_number.encode() in listing.content
    assert b"admin-secret" not in listing.content
    detail = owner.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert detail.status_code == 200
    delivered = OrderItem.objects.get(order=order).license
    from nuvlyx.core.crypto import decrypt

    assert decrypt(delivered.credentials_encrypted).encode() in detail.content
    filtered = owner.get(reverse("admin:orders_order_changelist"), {"status__exact": "REFUNDED"})
    assert order.order_number.encode() not in filtered.content


def test_license_pages_never_show_credentials(owner, sold):
    _, _creds, variation = sold
    listing = owner.get(reverse("admin:catalog_license_changelist"), {"variation": str(variation.pk)})
    assert listing.status_code == 200
    assert b"admin-secret" not in listing.content
    lic = License.objects.first()
    detail = owner.get(reverse("admin:catalog_license_change", args=[lic.pk]))
    assert detail.status_code == 200 and b"admin-secret" not in detail.content


def test_import_form_paste_and_file(owner, store):
    from django.core.files.uploadedfile import SimpleUploadedFile

    variation = make_variation(store)
    url = reverse("admin:catalog_license_import")
    assert owner.get(url).status_code == 200
    response = owner.post(
        url,
        {
            "variation": str(variation.pk),
            "pasted": "p1\np2\n\np1\n",
            "file": SimpleUploadedFile("k.txt", b"f1\nf2\np2\n"),
        },
    )
    assert response.status_code == 302
    variation.refresh_from_db()
    assert variation.stock_available == 4 == License.objects.filter(variation=variation).count()


def test_import_form_refuses_other_store_variation(owner, other_store):
    foreign = make_variation(other_store)
    response = owner.post(reverse("admin:catalog_license_import"), {"variation": str(foreign.pk), "pasted": "x"})
    assert response.status_code == 200  # form error: not a valid choice
    assert License.objects.count() == 0


def test_fulfil_service_item_and_refund_action(owner, store):
    service = make_variation(store, kind=Product.Kind.SERVICE, depends_on_stock=False, price="30.00")
    customer = make_customer(store, balance="30.00")
    order = order_place(store=store, customer_id=customer.pk, items=[service.pk]).order
    item = OrderItem.objects.get(order=order)
    detail = owner.get(reverse("admin:orders_order_change", args=[order.pk]))
    fulfil_url = reverse("admin:orders_order_fulfil", args=[order.pk, item.pk])
    assert fulfil_url.encode() in detail.content
    assert owner.post(fulfil_url, {"credentials": "", "note": ""}).status_code == 200  # needs one of them
    response = owner.post(fulfil_url, {"credentials": "acct: s3cret-service", "note": "enjoy"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "COMPLETED"
    assert b"s3cret-service" in owner.get(reverse("admin:orders_order_change", args=[order.pk])).content
    assert b"s3cret-service" not in owner.get(reverse("admin:orders_order_changelist")).content

    # Refund is a button on the order's page leading to a confirmation page; there is no bulk refund.
    refund_url = reverse("admin:orders_order_object_action", args=[order.pk, "refund"])
    assert refund_url.encode() in owner.get(reverse("admin:orders_order_change", args=[order.pk])).content
    listing = owner.get(reverse("admin:orders_order_changelist"))
    assert b"refund_orders" not in listing.content
    owner.post(reverse("admin:orders_order_changelist"), {"action": "refund_orders", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == "COMPLETED"
    confirm = owner.get(refund_url)
    from nuvlyx.core.money import money_display

    assert confirm.status_code == 200 and money_display("30.00", store).encode() in confirm.content
    order.refresh_from_db()
    assert order.status == "COMPLETED"  # GET only explains what will happen
    assert owner.post(refund_url, {"reason": ""}).status_code == 200  # the reason is required
    response = owner.post(refund_url, {"reason": "Customer could not log in"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "REFUNDED"
    assert Wallet.objects.get(customer=customer).balance == 30
    entry = LedgerEntry.objects.get(wallet_id=customer.pk, kind="REFUND")
    assert entry.note == f"Refund of {order.order_number}: Customer could not log in" and entry.actor_user_id


def test_other_store_orders_are_invisible(owner, other_store):
    variation = make_variation(other_store, depends_on_stock=False, price="1.00")
    customer = make_customer(other_store, balance="1.00")
    order = order_place(store=other_store, customer_id=customer.pk, items=[variation.pk]).order
    assert order.order_number.encode() not in owner.get(reverse("admin:orders_order_changelist")).content
    assert owner.get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 404
    item = OrderItem.objects.get(order=order)
    assert owner.get(reverse("admin:orders_order_fulfil", args=[order.pk, item.pk])).status_code == 404
    assert Order.objects.get(pk=order.pk).status == "PROCESSING"
