"""Issue 17's admin walk in a real browser, in Spanish: flip the "Test data" switch, see the banner on every
page, create a test token (mode chosen on the add form), check it over HTTP, and flip back.

Screenshots: artifacts/screenshots/test_test_mode/<test>/."""

import pytest
import requests
from selenium.webdriver.common.by import By

from tests.browser.chromium import click_and_wait_for_page, console_errors
from tests.browser.test_owner_walk import create_token


def flip_switch(browser) -> None:
    click_and_wait_for_page(browser, browser.find_element(By.ID, "nvl-test-switch"))


def banner(browser):
    found = browser.find_elements(By.ID, "nvl-test-banner")
    return found[0] if found else None


@pytest.mark.django_db(transaction=True)
def test_owner_flips_to_test_data_sees_the_banner_and_creates_a_test_token(
    browser, browser_server, owner, login, go, shot
):
    from integrations.models import ApiToken
    from nuvlyx.core.models import Store
    from wallets.models import Customer

    store = owner.store
    Customer.objects.create(store=store, name="Cliente Real")
    login(owner)
    switch = browser.find_element(By.ID, "nvl-test-switch")
    assert switch.get_attribute("aria-checked") == "false" and banner(browser) is None
    shot("live-dashboard-switch-off")

    # 1. The switch: the sandbox appears, with a banner
    flip_switch(browser)
    sandbox = Store.objects.get(sandbox_of=store)
    assert browser.find_element(By.ID, "nvl-test-switch").get_attribute("aria-checked") == "true"
    assert banner(browser) is not None and banner(browser).is_displayed()
    assert "DATOS DE PRUEBA" in banner(browser).text
    shot("test-data-dashboard-banner", full_page=True)

    # 2. On every page: the customers list is the sandbox's (empty), never the live one
    go("/admin/wallets/customer/")
    assert banner(browser) is not None and "Cliente Real" not in browser.page_source
    shot("test-data-customers")

    # 3. A test token from the same page, the mode chosen explicitly
    secret = create_token(browser, go, store, "Bot de pruebas", mode="test")
    assert secret.startswith("nvl_test_")
    token = ApiToken.objects.get(name="Bot de pruebas")
    assert token.store == sandbox and secret.startswith(token.prefix)
    assert banner(browser) is not None
    shot("test-token-shown-once")
    me = requests.get(
        f"{browser_server.url}/api/v1/external/me", headers={"Authorization": f"Bearer {secret}"}, timeout=10
    )
    assert me.status_code == 200 and me.json()["livemode"] is False and me.json()["store"]["id"] == str(sandbox.pk)

    go("/admin/integrations/apitoken/add/")
    shot("token-add-form-mode", full_page=True)

    # 4. Back to live data: no banner, the live customers
    go("/admin/")
    flip_switch(browser)
    assert banner(browser) is None
    go("/admin/wallets/customer/")
    assert "Cliente Real" in browser.page_source
    shot("live-again-customers")
    assert console_errors(browser) == []
