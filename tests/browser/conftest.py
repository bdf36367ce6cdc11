"""Browser-test fixtures: a live server with static files, an owner, Chromium, screenshots, login.

    def test_something(browser, browser_server, owner, login, go, shot):
        login(owner)                      # fills the admin login form, lands on the admin home
        go("/admin/wallets/customer/")    # opens a page of the live server, fails on a server error
        shot("customers")                 # artifacts/screenshots/<module>/<test>/02-customers.png

One Chromium per test module (`browser_language`, module-scoped, picks its Accept-Language; "es"
unless a module overrides the fixture); every test starts with no cookies on about:blank. The live
server is the suite's gunicorn (`live_server_proc`) on the test database, one per test, serving the
production app (WhiteNoise serves the admin's CSS and JS, as in production).
A failing test leaves FAILED.png and FAILED.html beside its screenshots.
"""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from conftest import BASE_DIR
from tests.browser.chromium import chromium_session, click_and_wait_for_page, console_errors, save_png

SCREENSHOTS_DIR = BASE_DIR / "artifacts" / "screenshots"
OWNER_PASSWORD = "owner-pass-1234"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.live)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


# --- the server and the owner -----------------------------------------------------------------
@pytest.fixture
def browser_server(live_server_proc):
    """gunicorn on the test database, the production app as it is (one worker is plenty)."""
    return live_server_proc(workers=1, threads=4)


@dataclass
class Owner:
    email: str
    password: str
    user: object
    store: object


@pytest.fixture
def make_owner(transactional_db):
    """make_owner(slug, name=...) → an Owner: a staff user who owns a fresh store, with a known
    password (two owners make a tenancy walk: B logs in while A's data is there)."""
    from django.contrib.auth import get_user_model

    from nuvlyx.core.services import store_create

    def _make(slug: str, *, name: str | None = None, email: str | None = None, **store_fields) -> Owner:
        email = email or f"dueno@{slug}.example"
        store = store_create(
            slug=slug, name=name or slug.title(), owner_email=email, owner_password=OWNER_PASSWORD, **store_fields
        )
        return Owner(email=email, password=OWNER_PASSWORD, user=get_user_model().objects.get(email=email), store=store)

    return _make


@pytest.fixture
def owner(make_owner) -> Owner:
    """The owner of "Tienda Andina" (a COP store), who can log in to the admin."""
    return make_owner("tienda-andina", name="Tienda Andina")


# --- the browser -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser_language() -> str:
    """Accept-Language of the module's browser; override in a module to walk in another language."""
    return "es"


@pytest.fixture(scope="module")
def _chromium(tmp_path_factory, browser_language):
    with chromium_session(tmp_path_factory.mktemp("chromium"), language=browser_language) as driver:
        yield driver


@pytest.fixture
def screenshots_dir(request) -> Path:
    """artifacts/screenshots/<test module>/<test name>/: emptied when the test starts, created by the
    first screenshot (a test that takes none leaves no folder)."""
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = SCREENSHOTS_DIR / request.module.__name__.rsplit(".", 1)[-1] / test_name
    shutil.rmtree(folder, ignore_errors=True)
    return folder


@pytest.fixture
def browser(_chromium, request, screenshots_dir):
    """The module's Chromium with no cookies, on a blank page; on failure a FAILED.png and .html."""
    _chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    _chromium.get("about:blank")
    _chromium.get_log("browser")  # drop what earlier tests logged
    yield _chromium
    if getattr(request.node, "browser_call_failed", False):
        try:
            save_png(_chromium, screenshots_dir / "FAILED.png", full_page=True)
            (screenshots_dir / "FAILED.html").write_text(_chromium.page_source)
        except Exception as exc:  # the browser itself may be what failed; keep the test's own error
            screenshots_dir.mkdir(parents=True, exist_ok=True)
            (screenshots_dir / "FAILED.txt").write_text(f"no screenshot: {exc!r}\n")


@pytest.fixture
def shot(browser, screenshots_dir):
    """shot("name", full_page=False) → saves NN-name.png (numbered in order) and returns its path."""
    counter = {"n": 0}

    def _shot(name: str, *, full_page: bool = False) -> Path:
        counter["n"] += 1
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
        return save_png(browser, screenshots_dir / f"{counter['n']:02d}-{slug}.png", full_page=full_page)

    return _shot


# Django's own error pages (DEBUG is false in tests): a page with one of these titles failed.
_ERROR_TITLES = ("Server Error (500)", "Bad Request (400)", "403 Forbidden", "Not Found")


@pytest.fixture
def go(browser, browser_server):
    """go("/admin/...") opens a page of the live server; fails on Django's 400/403/404/500 pages."""

    def _go(path: str) -> None:
        browser.get(browser_server.url + path)
        title = browser.title
        assert title not in _ERROR_TITLES, f"{path}: {title}"

    return _go


@pytest.fixture
def login(browser, browser_server, go):
    """login(owner) or login(email=..., password=...): the admin login form, then the admin home."""

    def _login(who: Owner | None = None, *, email: str | None = None, password: str | None = None) -> None:
        email = email or who.email
        password = password or who.password
        go("/admin/login/?next=/admin/")
        browser.find_element(By.NAME, "username").send_keys(email)
        browser.find_element(By.NAME, "password").send_keys(password)
        click_and_wait_for_page(browser, browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]"))
        errors = browser.find_elements(By.CSS_SELECTOR, "#login-form .errornote, .login .errornote")
        assert not errors, f"login refused: {errors[0].text}"
        assert browser.current_url == browser_server.url + "/admin/", browser.current_url
        assert not console_errors(browser)

    return _login
