"""The owner's pages for subscriptions: Replace (warranty) on an order's item, settings, the reminders log."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import License
from catalog.tests.factories import make_variation, stock
from nuvlyx.core.timeutil import now
from orders.models import LicenseReminder, OrderItem, OrderItemReplacement, SubscriptionSettings
from orders.reminders import reminders_run
from orders.services import order_place
from wallets.models import LedgerEntry
from wallets.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def login(store, language="en"):
    from django.contrib.auth import get_user_model

    from nuvlyx.core.models import StoreMember

    user = get_user_model().objects.create_user(username=f"owner-{store.slug}@x.test", password="pw", is_staff=True)
    StoreMember.objects.create(store=store, user=user)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def item(store):
    variation = make_variation(store, price="10.00", duration_days=30)
    stock(variation, 2, prefix="admin-secret")
    customer = make_customer(store, balance="100.00")
    order = order_place(store=store, customer_id=customer.pk, items=[variation.pk]).order
    return order.items.get()


def test_replace_button_confirmation_and_service(store, item):
    owner = login(store)
    page = owner.get(reverse("admin:orders_order_change", args=[item.order_id]))
    url = reverse("admin:orders_order_replace", args=[item.order_id, item.pk])
    assert url.encode() in page.content

    confirm = owner.get(url)
    assert confirm.status_code == 200
    assert b"never returns to stock" in confirm.content and b"0 of 3" in confirm.content
    assert OrderItemReplacement.objects.count() == 0  # GET changes nothing

    assert owner.post(url, {"reason": ""}).status_code == 200  # a reason is required
    entries = LedgerEntry.objects.count()
    done = owner.post(url, {"reason": "La cuenta no abre"}, follow=True)

    assert done.status_code == 200
    [replacement] = OrderItemReplacement.objects.all()
    assert replacement.reason == "La cuenta no abre"
    assert License.objects.get(pk=item.license_id).status == License.Status.REPLACED
    assert OrderItem.objects.get(pk=item.pk).license_id == replacement.new_license_id
    assert LedgerEntry.objects.count() == entries
    assert b"replaced with a new license" in done.content


def test_replace_out_of_stock_shows_the_error_and_changes_nothing(store, item):
    owner = login(store)
    url = reverse("admin:orders_order_replace", args=[item.order_id, item.pk])
    assert owner.post(url, {"reason": "x"}).status_code == 302
    response = owner.post(url, {"reason": "again"}, follow=True)
    assert b"Out of stock" in response.content
    assert OrderItemReplacement.objects.count() == 1


def test_another_stores_owner_gets_404(store, other_store, item):
    intruder = login(other_store)
    url = reverse("admin:orders_order_replace", args=[item.order_id, item.pk])
    assert intruder.get(url).status_code == 404
    assert intruder.post(url, {"reason": "x"}).status_code == 404
    assert OrderItemReplacement.objects.count() == 0


def test_subscription_settings_page_in_spanish(store):
    owner = login(store, language="es")
    add = owner.get(reverse("admin:orders_subscriptionsettings_add"))
    assert add.status_code == 200
    assert "Días de recordatorio".encode() in add.content
    response = owner.post(
        reverse("admin:orders_subscriptionsettings_add"), {"reminder_days": "7,2,0", "max_replacements_per_item": "5"}
    )
    assert response.status_code == 302, response.content[:2000]
    settings = SubscriptionSettings.objects.get(store=store)
    assert (settings.reminder_days, settings.max_replacements_per_item) == ([7, 2, 0], 5)
    again = owner.get(reverse("admin:orders_subscriptionsettings_add"))  # one per store: edit it instead
    assert again.status_code == 302
    assert again["Location"] == reverse("admin:orders_subscriptionsettings_change", args=[store.pk])
    change = owner.get(again["Location"])
    assert change.status_code == 200 and b"7,2,0" in change.content


def test_reminders_log_shows_sent_and_skipped_to_the_owner_only(store, other_store, item):
    expires = now() - timedelta(days=3)
    OrderItem.objects.filter(pk=item.pk).update(expires_at=expires, delivered_at=expires - timedelta(days=30))
    reminders_run()
    assert LicenseReminder.objects.filter(status="SKIPPED").count() == 4

    page = login(store).get(reverse("admin:orders_licensereminder_changelist"), {"status__exact": "SKIPPED"})
    assert page.status_code == 200
    assert page.content.count(item.order.order_number.encode()) >= 4
    other = login(other_store).get(reverse("admin:orders_licensereminder_changelist"))
    assert item.order.order_number.encode() not in other.content
