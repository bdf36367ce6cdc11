"""The owner's panel, localized (issue 13 part B): languages, local time, money and phones in the
store's format, the store's country/time zone, the login's "Email", and the dashboard home.

Everything through Django's test client against PostgreSQL; clients here are built explicitly (the
shared `client` fixture asks for English)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin import site
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from catalog.models import TierPrice, Variation
from catalog.tests.factories import make_variation
from nuvlyx.core.forms import LocalMoneyField
from nuvlyx.core.models import AdminPreference, Store, StoreMember
from nuvlyx.core.money import MoneyError, money_display, parse_local_amount
from nuvlyx.core.phones import PhoneError, parse_local_phone
from orders.models import Order
from wallets.models import Customer, Wallet
from wallets.services import wallet_recharge
from wallets.tests.factories import make_customer

NBSP = "\u00a0"
CO = SimpleNamespace(country="CO", currency="COP")
BR = SimpleNamespace(country="BR", currency="BRL")
US = SimpleNamespace(country="US", currency="USD")


def owner_of(store, email="owner@example.com"):
    user = get_user_model().objects.create_user(email, email, "pw-123-secret", is_staff=True)
    StoreMember.objects.create(store=store, user=user)
    return user


def client_for(user=None, **headers) -> Client:
    client = Client(**headers)
    if user is not None:
        client.force_login(user)
    return client


# --- money: shown ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "store,amount,shown",
    [
        (CO, "50000", "$ 50.000"),
        (CO, "50000.00", "$ 50.000"),  # cents omitted when zero
        (CO, "50000.50", "$ 50.000,50"),
        (CO, "1234567.05", "$ 1.234.567,05"),
        (CO, "-1500.25", "-$ 1.500,25"),
        (CO, "0", "$ 0"),
        (BR, "1234.5", "R$ 1.234,50"),
        (US, "50000.5", "$ 50,000.50"),
    ],
)
def test_money_display_in_the_store_format(store, amount, shown):
    assert money_display(Decimal(amount), store).replace(NBSP, " ") == shown


def test_money_display_of_nothing_is_a_dash():
    assert money_display(None, CO) == "—"


# --- money: typed -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "store,typed,value",
    [
        (CO, "50.000", "50000.00"),
        (CO, "50.000,00", "50000.00"),
        (CO, "50000", "50000.00"),
        (CO, "50000.00", "50000.00"),
        (CO, "50000,5", "50000.50"),
        (CO, "$ 50.000", "50000.00"),
        (CO, " 1.234.567,89 ", "1234567.89"),
        (CO, "1.001", "1001.00"),  # a dot and three digits is a thousands separator in es-CO
        (CO, "12,50", "12.50"),
        (CO, "1234.5", "1234.50"),  # four digits before the dot: not a group, a decimal point
        (BR, "50.000,00", "50000.00"),
        (BR, "R$ 1.234,5", "1234.50"),
        (US, "50,000.00", "50000.00"),
        (US, "50000.00", "50000.00"),
        (US, "12.50", "12.50"),  # "." is the decimal point there
    ],
)
def test_parse_local_amount_accepts(store, typed, value):
    parsed = parse_local_amount(typed, store)
    assert parsed == Decimal(value) and parsed.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "store,typed,message",
    [
        (CO, "50,000", "Ambiguous"),  # US grouping in a Colombian store: refused, not guessed
        (CO, "50.00.0", "Ambiguous"),
        (CO, "1.5", "Ambiguous"),  # "." groups thousands in es-CO: a mistyped "1.500"? refused, not 1,50
        (CO, "15.00", "Ambiguous"),
        (CO, "999.50", "Ambiguous"),
        (CO, "1,0001", "At most 2 decimal places"),
        (CO, "abc", "Enter a number"),
        (CO, "", "Enter an amount"),
        (CO, "-5", "negative"),
        (CO, "99.999.999.999", "exceed"),
        (US, "50.000,00", "Ambiguous"),
        (US, "0,001", "Ambiguous"),
        (BR, "1e3", "Enter a number"),
    ],
)
def test_parse_local_amount_refuses(store, typed, message):
    with translation.override("en"), pytest.raises(MoneyError, match=message):
        parse_local_amount(typed, store)


def test_negative_amounts_only_where_allowed():
    assert parse_local_amount("-1.500,5", CO, allow_negative=True) == Decimal("-1500.50")
    with translation.override("en"), pytest.raises(MoneyError, match="greater than zero"):
        parse_local_amount("0", CO)


# --- phones -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed,country,e164",
    [
        ("300 555 1234", "CO", "+573005551234"),
        ("(300) 555-1234", "CO", "+573005551234"),
        ("+57 300 555 1234", "BR", "+573005551234"),
        ("11 91234-5678", "BR", "+5511912345678"),
    ],
)
def test_parse_local_phone(typed, country, e164):
    assert parse_local_phone(typed, country) == e164


@pytest.mark.parametrize("typed", ["123", "300 555 12", "hello", ""])
def test_parse_local_phone_refuses(typed):
    with pytest.raises(PhoneError):
        parse_local_phone(typed, "CO")


# --- store country and time zone --------------------------------------------------------------------
def test_store_defaults_and_validation(store):
    assert (store.country, store.timezone) == ("CO", "America/Bogota")
    for field, bad in (("country", "XX"), ("country", "co"), ("timezone", "Mars/Olympus")):
        setattr(store, field, bad)
        with pytest.raises(ValidationError) as exc:
            store.full_clean()
        assert field in exc.value.message_dict
        store.refresh_from_db()


def test_owner_edits_country_and_timezone_in_the_store_page(store):
    client = client_for(owner_of(store), HTTP_ACCEPT_LANGUAGE="en")
    url = reverse("admin:core_store_change", args=[store.pk])
    data = {"name": store.name, "slug": store.slug, "currency": "COP", "country": "MX", "timezone": "Mars/Base"}
    resp = client.post(url, data)
    assert resp.status_code == 200 and "Enter an IANA time zone" in resp.content.decode()
    store.refresh_from_db()
    assert store.timezone == "America/Bogota"  # nothing changed
    resp = client.post(url, {**data, "timezone": "America/Mexico_City"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    store.refresh_from_db()
    assert (store.country, store.timezone) == ("MX", "America/Mexico_City")


# --- languages ----------------------------------------------------------------------------------------
LOGIN = "/admin/login/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "accept,expected,not_expected",
    [
        (None, "Iniciar sesión", "Log in"),  # Spanish first
        ("pt-BR,pt;q=0.9", "Acessar", "Iniciar sesión"),
        ("en-US,en;q=0.9", "Log in", "Iniciar sesión"),
        ("fr-FR", "Iniciar sesión", "Log in"),  # not offered → the default
    ],
)
def test_login_page_follows_the_browser_then_spanish(accept, expected, not_expected):
    client = Client(HTTP_ACCEPT_LANGUAGE=accept) if accept else Client()
    html = client.get(LOGIN).content.decode()
    assert expected in html and not_expected not in html


@pytest.mark.django_db
@pytest.mark.parametrize("accept,label", [("es", "Correo electrónico"), ("pt-BR", "E-mail"), ("en", "Email")])
def test_login_asks_for_email_not_username(accept, label):
    html = Client(HTTP_ACCEPT_LANGUAGE=accept).get(LOGIN).content.decode()
    assert f"{label}:</label>" in html
    assert "Username" not in html and "Nombre de usuario" not in html and 'type="email"' in html


def test_owner_logs_in_with_email(store):
    owner_of(store, "ana@tienda.co")
    client = Client()
    resp = client.post(LOGIN, {"username": "ana@tienda.co", "password": "pw-123-secret", "next": "/admin/"})
    assert resp.status_code == 302 and resp["Location"] == "/admin/"
    bad = Client().post(LOGIN, {"username": "ana@tienda.co", "password": "wrong"})
    assert "correo electrónico y la contraseña correctos" in bad.content.decode()


def test_the_owners_choice_wins_over_the_browser(store):
    user = owner_of(store)
    spanish_browser = client_for(user, HTTP_ACCEPT_LANGUAGE="es-CO,es;q=0.9")
    assert "<title>Tu tienda |" in spanish_browser.get("/admin/").content.decode()
    # the header's selector: Django's set_language, remembered for the user
    page = spanish_browser.get("/admin/").content.decode()
    assert 'name="language"' in page and reverse("set_language") in page
    resp = spanish_browser.post(reverse("set_language"), {"language": "pt-br", "next": "/admin/"})
    assert resp.status_code == 302
    assert AdminPreference.objects.get(user=user).language == "pt-br"
    # a new session without the cookie, browser still Spanish: the stored choice wins
    fresh = client_for(user, HTTP_ACCEPT_LANGUAGE="es-CO,es;q=0.9")
    html = fresh.get("/admin/").content.decode()
    assert "<title>Sua loja |" in html and "Tu tienda" not in html
    # an invalid choice changes nothing
    spanish_browser.post(reverse("set_language"), {"language": "xx", "next": "/admin/"})
    assert AdminPreference.objects.get(user=user).language == "pt-br"


def test_the_api_stays_english_and_utc(store, api_for):
    api = api_for(store)
    resp = api.get("/customers", headers={"Accept-Language": "es"})
    assert resp.status_code == 200 and "Content-Language" not in resp
    unauthenticated = Client(HTTP_ACCEPT_LANGUAGE="es").get("/api/v1/external/customers")
    body = unauthenticated.json()
    assert unauthenticated.status_code == 401 and body["message"].isascii()
    # the API keeps strict E.164: a local phone is refused there
    resp = api.post("/customers", {"name": "Local", "phone": "300 555 1234"})
    assert resp.status_code == 422


# --- local time -------------------------------------------------------------------------------------------
def test_admin_dates_are_in_the_store_time_zone(store, api_for):
    customer = make_customer(store, name="Zoe")
    Customer.objects.filter(pk=customer.pk).update(created_at=datetime(2026, 5, 18, 14, 30, tzinfo=UTC))
    client = client_for(owner_of(store))
    html = client.get(reverse("admin:wallets_customer_change", args=[customer.pk])).content.decode()
    assert "18 de mayo de 2026 a las 09:30" in html and "14:30" not in html  # Bogotá is UTC-5
    entry = wallet_recharge(customer=customer, amount=Decimal("1000.00"), note="")  # ledger rows: append-only
    html = client.get(reverse("admin:wallets_customer_change", args=[customer.pk])).content.decode()
    local, utc = entry.created_at.astimezone(ZoneInfo("America/Bogota")), entry.created_at.astimezone(UTC)
    assert local.strftime("%d/%m/%Y %H:%M") in html and utc.strftime("%d/%m/%Y %H:%M") not in html
    Store.objects.filter(pk=store.pk).update(timezone="Europe/Madrid")
    html = client.get(reverse("admin:wallets_customer_change", args=[customer.pk])).content.decode()
    assert "a las 16:30" in html  # CEST, UTC+2
    api = api_for(store)
    assert api.get(f"/customers/{customer.pk}").json()["createdAt"] == "2026-05-18T14:30:00.000Z"


# --- money in the admin: shown and typed ------------------------------------------------------------------
def test_recharge_accepts_the_local_format(store):
    customer = make_customer(store, name="Ana")
    client = client_for(owner_of(store))
    url = reverse("admin:wallets_customer_recharge", args=[customer.pk])
    resp = client.post(url, {"amount": "50,000", "note": ""})
    assert resp.status_code == 200 and "ambiguo" in resp.content.decode()
    assert Wallet.objects.get(customer=customer).balance == 0
    resp = client.post(url, {"amount": "50.000", "note": "efectivo"})
    assert resp.status_code == 302
    assert Wallet.objects.get(customer=customer).balance == Decimal("50000.00")
    listing = client.get(reverse("admin:wallets_customer_changelist")).content.decode()
    assert f"${NBSP}50.000<" in listing


def test_every_admin_money_input_is_the_localized_field(store):
    request = RequestFactory().get("/admin/")
    request.user = owner_of(store)
    variation_admin = site._registry[Variation]
    form = variation_admin.get_form(request)
    assert isinstance(form.base_fields["price"], LocalMoneyField)
    assert form.base_fields["price"].clean("12.500,50") == Decimal("12500.50")
    inline = next(i for i in variation_admin.get_inline_instances(request) if i.model is TierPrice)
    tier_field = inline.get_formset(request).form.base_fields["price"]
    assert isinstance(tier_field, LocalMoneyField) and tier_field.clean("8.500") == Decimal("8500.00")
    with pytest.raises(ValidationError):
        tier_field.clean("8,500")
    assert form.base_fields["price"].prepare_value(Decimal("10000.00")) == "10.000"


# --- local phones in the customer form ---------------------------------------------------------------------
def test_customer_form_reads_a_local_phone(store):
    client = client_for(owner_of(store))
    add = reverse("admin:wallets_customer_add")
    resp = client.post(add, {"name": "Luis", "email": "", "phone": "300 555 12", "link_phone": "on", "tier": ""})
    assert resp.status_code == 200 and "No es un teléfono válido para CO" in resp.content.decode()
    assert not Customer.objects.filter(name="Luis").exists()
    resp = client.post(add, {"name": "Luis", "email": "", "phone": "300 555 1234", "link_phone": "on", "tier": ""})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    assert Customer.objects.get(name="Luis").phone == "+573005551234"


# --- the dashboard --------------------------------------------------------------------------------------------
def place(store, customer, total, status, when):
    number = Order.objects.filter(store=store).count() + 1
    order = Order.objects.create(
        store=store, number=number, customer=customer, status=status, total_amount=Decimal(total), currency="COP"
    )
    Order.objects.filter(pk=order.pk).update(created_at=when)
    return order


def test_dashboard_numbers_in_local_days(store, other_store):
    now = datetime.now(UTC)
    bogota_midnight = (now - timedelta(hours=5)).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=5)
    ana = make_customer(store, name="Ana", balance="70000.00")
    place(store, ana, "50000.00", Order.Status.COMPLETED, bogota_midnight + timedelta(minutes=1))
    place(store, ana, "1500.50", Order.Status.PROCESSING, bogota_midnight + timedelta(minutes=2))
    place(store, ana, "99999.00", Order.Status.REFUNDED, bogota_midnight + timedelta(minutes=3))  # not a sale
    place(store, ana, "20000.00", Order.Status.COMPLETED, bogota_midnight - timedelta(minutes=1))  # yesterday
    place(store, ana, "30000.00", Order.Status.COMPLETED, bogota_midnight - timedelta(days=10))
    place(store, ana, "40000.00", Order.Status.COMPLETED, bogota_midnight - timedelta(days=40))  # too old
    low = make_variation(store, low_stock_threshold=3)  # 0 available ≤ 3
    foreign = make_customer(other_store, name="Forastero", balance="123456.00")
    place(other_store, foreign, "777777.00", Order.Status.COMPLETED, now)
    foreign_low = make_variation(other_store, low_stock_threshold=5)

    html = client_for(owner_of(store)).get("/admin/").content.decode()
    cards = html.replace(NBSP, " ")
    assert 'data-figure="sales-1"><span>Ventas · Hoy</span><strong>$ 51.500,50</strong>' in cards
    assert "<strong>$ 71.500,50</strong>" in cards  # 7 days: today + yesterday
    assert "<strong>$ 101.500,50</strong>" in cards  # 30 days
    assert 'data-figure="wallets"><span>Saldo en billeteras</span><strong>$ 70.000</strong>' in cards
    assert '<td data-status="REFUNDED">1</td>' in html and '<td data-status="COMPLETED">3</td>' in html
    assert "ORD-000001" in html and "Ana" in html
    assert "Forastero" not in html and "777.777" not in cards and "123.456" not in cards
    assert "Inventario bajo" in html and f"/admin/catalog/variation/{low.pk}/change/" in html
    assert str(foreign_low.pk) not in html and foreign_low.sku not in html
    assert 'href="/admin/orders/order/"' in html  # the model list stays reachable below the dashboard


def test_dashboard_query_count_is_fixed(store, django_assert_num_queries):
    client = client_for(owner_of(store))
    client.get("/admin/")  # warm caches (content types, sessions)
    ana = make_customer(store, name="Ana", balance="10.00")
    now = datetime.now(UTC)
    place(store, ana, "10.00", Order.Status.COMPLETED, now)
    with django_assert_num_queries(QUERIES):
        assert client.get("/admin/").status_code == 200
    for day in range(40):
        customer = make_customer(store, name=f"C{day}", balance="5.00")
        place(store, customer, f"{day + 1}.00", Order.Status.COMPLETED, now - timedelta(days=day))
        make_variation(store, low_stock_threshold=1)
    with django_assert_num_queries(QUERIES):
        assert client.get("/admin/").status_code == 200


# session, user, language preference, membership (+store); the 8 dashboard queries; the stock index's
# permission lookups (2), the app list's Mosend check (2, integrations/admin.py) and recent actions (1)
QUERIES = 17


def test_superuser_picks_the_store(store, other_store):
    admin = get_user_model().objects.create_superuser("root@example.com", "root@example.com", "pw-123-secret")
    ana = make_customer(other_store, name="Ana")
    place(other_store, ana, "4321.00", Order.Status.COMPLETED, datetime.now(UTC))
    client = client_for(admin)
    html = client.get(f"/admin/?store={other_store.slug}").content.decode().replace(NBSP, " ")
    assert "<strong>$ 4.321</strong>" in html and other_store.name in html
    html = client.get(f"/admin/?store={store.slug}").content.decode().replace(NBSP, " ")
    assert "$ 4.321" not in html
