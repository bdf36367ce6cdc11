"""Issue 13's owner walk: a new owner runs a store from the admin in a real browser, in Spanish.

One walk, one numbered screenshot per step (artifacts/screenshots/test_owner_walk/<test>/): log in;
create an API token and see it exactly once; revoke it with confirmation; a price tier, a product
with two variations and a tier price; import licenses; a customer with a local phone; recharge
"50.000"; an order placed through the real API over HTTP; refund it from the order page with a
reason; the dashboard's sales before the order, after it and after the refund. The database is
checked after every step (the data is committed: the fixtures use transactional_db).

Elements are found by id, name or URL, not by translated text (the catalogs may still be growing),
except where Django's own admin translation is meant to show (the language check on the login page).
"""

from decimal import Decimal

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.chromium import click_and_wait_for_page, console_errors, wait

REASON = "El cliente pagó dos veces por error"


def fill(browser, name: str, value: str) -> None:
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def choose(browser, name: str, value) -> None:
    Select(browser.find_element(By.NAME, name)).select_by_value(str(value))


def pick_store_if_asked(browser, store) -> None:
    """An owner of one store is not asked for it; if a page does ask, it is that store."""
    fields = browser.find_elements(By.NAME, "store")
    if fields and fields[0].tag_name == "select":
        choose(browser, "store", store.pk)


def submit(browser, selector: str = "input[name=_save]") -> None:
    click_and_wait_for_page(browser, browser.find_element(By.CSS_SELECTOR, selector))


def no_form_errors(browser) -> None:
    errors = browser.find_elements(By.CSS_SELECTOR, ".errornote, .errorlist")
    assert not errors, [e.text for e in errors]


def success_message(browser) -> str:
    found = browser.find_elements(By.CSS_SELECTOR, "ul.messagelist li.success")
    assert found, browser.find_element(By.TAG_NAME, "body").text[:2000]
    return found[0].text


def sales_today(browser, go) -> str:
    go("/admin/")
    return browser.find_element(By.CSS_SELECTOR, "[data-figure=sales-1] strong").text


def create_token(browser, go, store, name: str, mode: str = "live") -> str:
    """The add-token form (mode chosen explicitly: live or test) → the reveal page after the redirect;
    returns the secret shown there."""
    go("/admin/integrations/apitoken/add/")
    pick_store_if_asked(browser, store)
    browser.find_element(By.CSS_SELECTOR, f"input[name=mode][value={mode}]").click()
    fill(browser, "name", name)
    for box in browser.find_elements(By.CSS_SELECTOR, "input[name=scopes]"):
        if not box.is_selected():
            box.click()
    submit(browser)
    no_form_errors(browser)
    assert browser.current_url.endswith("/reveal/"), browser.current_url
    return browser.find_element(By.ID, "nvl-secret").get_attribute("value")


def fits_the_window(browser) -> bool:
    """Nothing makes the page wider than the 1366 px window (no column cut off, no sideways scroll)."""
    return browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def in_bogota(browser):
    """The owner's computer is in Colombia, like the store (the admin warns when the two differ)."""
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/Bogota"})
    yield
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})


def test_owner_walk_in_spanish(browser, browser_server, owner, in_bogota, login, go, shot):
    from catalog.models import License, PriceTier, Product, TierPrice
    from integrations.models import ApiToken
    from orders.models import Order
    from wallets.models import Customer, LedgerEntry

    store = owner.store

    # 1. Log in: the form asks for the email, in Spanish.
    go("/admin/login/?next=/admin/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang").startswith("es")
    assert browser.find_element(By.NAME, "username").get_attribute("type") == "email"
    shot("login")
    login(owner)
    shot("dashboard-new-store", full_page=True)
    sales_before = sales_today(browser, go)

    # 2. An API token, seen exactly once.
    secret = create_token(browser, go, store, "Tienda web")
    token = ApiToken.objects.get(store=store, name="Tienda web")
    assert secret.startswith("nvl_live_") and secret.startswith(token.prefix)
    assert ApiToken.objects.filter(store=store).count() == 1
    shot("token-created-shown-once")
    browser.refresh()
    assert not browser.find_elements(By.ID, "nvl-secret")
    assert secret not in browser.page_source
    assert ApiToken.objects.filter(store=store).count() == 1  # the reload created nothing
    shot("token-reload-shows-nothing")

    # 3. Revoke it: the button on the token's page → a confirmation page → confirm.
    go(f"/admin/integrations/apitoken/{token.pk}/change/")
    submit(browser, "a.nvl-object-action[href$='/do/revoke/']")
    assert browser.current_url.endswith(f"/{token.pk}/do/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is None  # nothing happens before the confirmation
    shot("token-revoke-confirm")
    submit(browser, "form input[type=submit]")
    token.refresh_from_db()
    assert token.revoked_at is not None
    success_message(browser)
    shot("token-revoked")

    # 4. A price tier, then a product with two variations, then a tier price on one of them.
    go("/admin/catalog/pricetier/add/")
    pick_store_if_asked(browser, store)
    fill(browser, "name", "Mayorista")
    fill(browser, "level", "1")
    submit(browser)
    no_form_errors(browser)
    tier = PriceTier.objects.get(store=store, name="Mayorista")

    go("/admin/catalog/product/add/")
    pick_store_if_asked(browser, store)
    fill(browser, "name", "Netflix Premium")
    choose(browser, "kind", "DIGITAL")
    choose(browser, "status", "ACTIVE")
    browser.find_element(By.CSS_SELECTOR, "#variations-group .add-row a").click()
    wait(browser).until(lambda b: b.find_elements(By.NAME, "variations-1-sku"))
    for row, (sku, name, price, days) in enumerate(
        [("NF-1M", "1 mes", "15.000", "30"), ("NF-3M", "3 meses", "40.000", "90")]
    ):
        fill(browser, f"variations-{row}-sku", sku)
        fill(browser, f"variations-{row}-name", name)
        fill(browser, f"variations-{row}-price", price)
        fill(browser, f"variations-{row}-duration_days", days)
    assert fits_the_window(browser), "the Variations inline is wider than the window"
    shot("product-two-variations", full_page=True)
    submit(browser)
    no_form_errors(browser)
    product = Product.objects.get(store=store, name="Netflix Premium")
    variations = {v.sku: v for v in product.variations.all()}
    assert set(variations) == {"NF-1M", "NF-3M"}
    assert variations["NF-1M"].price == Decimal("15000.00")
    assert variations["NF-3M"].price == Decimal("40000.00")
    monthly = variations["NF-1M"]

    go(f"/admin/catalog/variation/{monthly.pk}/change/")
    tier_select = browser.find_element(By.CSS_SELECTOR, "select[name$='-0-tier']")
    prefix = tier_select.get_attribute("name").removesuffix("-0-tier")
    choose(browser, tier_select.get_attribute("name"), tier.pk)
    fill(browser, f"{prefix}-0-price", "12.000")
    shot("variation-tier-price", full_page=True)
    submit(browser)
    no_form_errors(browser)
    assert TierPrice.objects.get(variation=monthly, tier=tier).price == Decimal("12000.00")

    # 5. Import licenses for the monthly variation.
    go("/admin/catalog/license/import/")
    choose(browser, "variation", monthly.pk)
    fill(browser, "pasted", "cuenta1@correo.co:clave1\ncuenta2@correo.co:clave2\n\ncuenta3@correo.co:clave3")
    shot("licenses-import")
    submit(browser, "form input[type=submit]")
    success_message(browser)
    assert License.objects.filter(variation=monthly, status=License.Status.AVAILABLE).count() == 3
    monthly.refresh_from_db()
    assert monthly.stock_available == 3
    shot("licenses-imported")

    # 6. A customer with a local phone number.
    go("/admin/wallets/customer/add/")
    pick_store_if_asked(browser, store)
    fill(browser, "name", "Valentina Ríos")
    fill(browser, "email", "valentina@correo.co")
    fill(browser, "phone", "300 555 1234")
    submit(browser)
    no_form_errors(browser)
    customer = Customer.objects.get(store=store, name="Valentina Ríos")
    assert customer.phone == "+573005551234"

    # 7. Recharge "50.000" (the store's own way of writing fifty thousand pesos).
    go(f"/admin/wallets/customer/{customer.pk}/recharge/")
    fill(browser, "amount", "50.000")
    fill(browser, "note", "Transferencia Bancolombia")
    shot("recharge-form")
    submit(browser, "form input[type=submit]")
    success_message(browser)
    customer.wallet.refresh_from_db()
    assert customer.wallet.balance == Decimal("50000.00")
    shot("customer-after-recharge", full_page=True)

    # 8. An order through the real API over HTTP, with a fresh token made in the admin.
    api_secret = create_token(browser, go, store, "Bot de WhatsApp")
    response = requests.post(
        f"{browser_server.url}/api/v1/external/orders",
        json={"customerPhone": "+573005551234", "items": [{"variationId": str(monthly.pk)}]},
        headers={"Authorization": f"Bearer {api_secret}", "Idempotency-Key": "walk-order-1"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    order = Order.objects.get(pk=response.json()["orderId"])
    assert order.status == Order.Status.COMPLETED
    assert order.total_amount == Decimal("15000.00")  # Valentina has no tier: the list price
    customer.wallet.refresh_from_db()
    assert customer.wallet.balance == Decimal("35000.00")
    sales_after_order = sales_today(browser, go)
    assert sales_after_order != sales_before, sales_after_order
    shot("dashboard-after-order", full_page=True)

    # 9. Refund it from the order's page, with a reason.
    go(f"/admin/orders/order/{order.pk}/change/")
    shot("order-page")
    submit(browser, "a.nvl-object-action[href$='/do/refund/']")
    fill(browser, "reason", REASON)
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED  # nothing happens before the confirmation
    shot("order-refund-confirm")
    submit(browser, "form input[type=submit]")
    success_message(browser)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    refund = LedgerEntry.objects.get(wallet=customer.wallet, kind=LedgerEntry.Kind.REFUND)
    assert refund.amount == Decimal("15000.00")
    assert REASON in refund.note
    customer.wallet.refresh_from_db()
    assert customer.wallet.balance == Decimal("50000.00")
    shot("order-refunded")

    # 10. The dashboard after the refund: today's sales no longer count the refunded order.
    sales_after_refund = sales_today(browser, go)
    assert sales_after_refund != sales_after_order, sales_after_refund
    assert sales_after_refund == sales_before
    shot("dashboard-after-refund", full_page=True)
    assert not console_errors(browser)
