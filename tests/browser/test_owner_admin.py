"""A store owner in a real browser: log in, the admin home, the customers list, the add-product page.

The first walk on the browser infrastructure (tests/browser/conftest.py); the full owner walk of
issue 13 grows from here. Each step leaves a screenshot under artifacts/screenshots/.
"""

from selenium.webdriver.common.by import By

from tests.browser.chromium import console_errors
from wallets.tests.factories import make_customer


def styled(browser) -> bool:
    """The admin's stylesheet applied: its header has a background colour (unstyled HTML has none)."""
    colour = browser.execute_script("return getComputedStyle(document.getElementById('header')).backgroundColor")
    return colour not in ("", "transparent", "rgba(0, 0, 0, 0)")


def test_owner_logs_in_and_opens_home_customers_and_add_product(
    browser, browser_server, owner, make_owner, login, go, shot
):
    make_customer(owner.store, name="Valentina Ríos", email="valentina@example.com")
    make_customer(make_owner("otra-tienda").store, name="Cliente Ajeno")  # another store's customer

    go("/admin/login/")
    assert browser.find_element(By.NAME, "username").is_displayed()
    assert styled(browser), "the login page has no CSS: /static/ is not served"
    shot("login")

    login(owner)
    assert styled(browser)
    assert browser.find_element(By.ID, "user-tools").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "a[href='/admin/wallets/customer/']")
    shot("home")

    go("/admin/wallets/customer/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert [row.text for row in rows if "Valentina Ríos" in row.text], [row.text for row in rows]
    assert "Cliente Ajeno" not in browser.find_element(By.ID, "changelist").text
    assert styled(browser)
    assert not console_errors(browser)
    shot("customers")

    go("/admin/catalog/product/add/")
    form = browser.find_element(By.ID, "product_form")
    assert form.find_element(By.NAME, "name").is_displayed()
    assert styled(browser)
    # The admin's JavaScript ran: Django's admin/js files define `django.jQuery` on every change form.
    assert browser.execute_script("return typeof django !== 'undefined' && typeof django.jQuery === 'function'")
    assert not console_errors(browser)
    shot("add-product", full_page=True)
