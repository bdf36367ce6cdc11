"""Issue 13: the owner's panel is complete in Spanish (es) and Brazilian Portuguese (pt-BR).

1. `manage.py makemessages` (our override: nuvlyx/core/management/commands/makemessages.py, which
   holds the scope) runs on a copy of the source tree in tmp_path, so the committed catalogs are
   never touched; every msgid it finds must be translated, not fuzzy, with the same placeholders.
2. The admin home and every changelist, rendered for an owner in es and pt-br, shows the Spanish /
   Portuguese menu and column labels and none of the English ones.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.contrib.admin import site
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from catalog.tests.factories import make_tier, make_variation, set_tier_price, stock
from nuvlyx.core.models import StoreMember
from orders.services import order_place
from wallets.tests.factories import make_customer
from webhooks.services import endpoint_create

ROOT = Path(settings.BASE_DIR)
LOCALES = ["es", "pt_BR"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\{?\w*\}?\}")
# Not copied: the virtualenv, build output and other bulky trees (the command ignores them anyway).
NOT_COPIED = shutil.ignore_patterns(".*", "__pycache__", "var", "artifacts", "node_modules", "clients", "bench", "*.mo")


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def fresh_catalogs(tmp_path_factory) -> dict:
    """makemessages on a copy of the tree: {locale: [babel Message, ...]}."""
    copy = tmp_path_factory.mktemp("src") / "nuvlyx"
    shutil.copytree(ROOT, copy, ignore=NOT_COPIED)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", *(f"-l{loc}" for loc in LOCALES)],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    catalogs = {}
    for loc in LOCALES:
        with open(copy / "locale" / loc / "LC_MESSAGES" / "django.po", "rb") as po:
            catalogs[loc] = [m for m in read_po(po, locale=loc) if m.id]
    return catalogs


def test_makemessages_scope_finds_the_owner_strings_and_not_the_apis(fresh_catalogs):
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in fresh_catalogs["es"]}
    assert {"Orders", "Customers and wallets", "Refund", "Recharge wallet", "Settings"} <= ids
    assert len(ids) > 250
    # API error messages stay English and out of the catalogs (nuvlyx/api/errors.py).
    api_errors = (ROOT / "nuvlyx" / "api" / "errors.py").read_text()
    assert not [i for i in ids if len(i) > 12 and f'"{i}"' in api_errors]


@pytest.mark.parametrize("loc", LOCALES)
def test_every_owner_string_is_translated(fresh_catalogs, loc):
    untranslated, fuzzy, wrong_placeholders = [], [], []
    for m in fresh_catalogs[loc]:
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        if not all(strings):
            untranslated.append(ids[0])
        if m.fuzzy:
            fuzzy.append(ids[0])
        for s in filter(None, strings):
            if placeholders(s) != placeholders(ids[-1]) and placeholders(s) != placeholders(ids[0]):
                wrong_placeholders.append((ids[0], s))
    problems = {"untranslated": untranslated, "fuzzy": fuzzy, "placeholders differ": wrong_placeholders}
    assert problems == {"untranslated": [], "fuzzy": [], "placeholders differ": []}, loc


def test_the_placeholder_check_can_fail():
    assert placeholders("%(n)s orders for {}") != placeholders("%(count)s pedidos para {}")
    assert placeholders("Parameter {{%(n)s}}") == placeholders("Parámetro {{%(n)s}}")


# --- the rendered admin --------------------------------------------------------------------------
# Labels that are the same word in every language (product names, acronyms, our own brand).
SAME_IN_EVERY_LANGUAGE = {"", "ID", "Id", "SKU", "URL", "Email", "Webhooks", "WhatsApp (Mosend)", "Endpoint", "Total"}
SAME_IN = {"es": {"Error"}, "pt-br": {"Status"}}  # the right word happens to be the English one
KEY_WORDS = {
    "es": ["Pedidos", "Clientes", "Clientes y billeteras", "Movimientos", "Configuración", "Catálogo e inventario"],
    "pt-br": ["Pedidos", "Clientes", "Clientes e carteiras", "Lançamentos", "Configurações", "Catálogo e estoque"],
}


@pytest.fixture
def owner_with_data(store):
    """An owner whose store has a row in every list (a changelist without rows has no columns)."""
    user = get_user_model().objects.create_user(
        "dueno@example.com", "dueno@example.com", "pw-123-secret", is_staff=True
    )
    StoreMember.objects.create(store=store, user=user)
    variation = make_variation(store, price="15000.00", low_stock_threshold=5)
    stock(variation, 3)
    tier = make_tier(store, level=2, name="Oro")
    set_tier_price(variation, tier, "12000.00")
    customer = make_customer(store, balance="50000.00", phone="+573001234567", tier=tier, name="Ana 1")
    order_place(store=store, customer_id=customer.id, items=[variation.id])
    endpoint, _secret = endpoint_create(store=store, url="https://hooks.example.com/n", events=["*"])
    from webhooks.services import endpoint_send_test

    endpoint_send_test(endpoint=endpoint)
    return user


def menu(user, language: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The admin's app list as the owner sees it: [(app name, [(model name, changelist url)])]."""
    request = RequestFactory().get("/admin/")
    request.user = user
    with translation.override(language):
        return [
            (str(app["name"]), [(str(m["name"]), m["admin_url"]) for m in app["models"] if m.get("admin_url")])
            for app in site.get_app_list(request)
        ]


def headers(html: str) -> list[str]:
    """The changelist's column titles."""
    table = html.split('id="result_list"', 1)[-1].split("</thead>", 1)[0]
    cells = re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in cells]


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("language", ["es", "pt-br"])
def test_admin_home_and_changelists_are_translated(owner_with_data, language):
    user = owner_with_data
    english = menu(user, "en")
    local = menu(user, language)
    assert len(local) == len(english) and len(english) >= 4

    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    home = client.get(reverse("admin:index"))
    assert home.status_code == 200
    text = visible_text(home.content.decode())
    for word in KEY_WORDS[language]:
        assert word in text

    same = SAME_IN_EVERY_LANGUAGE | SAME_IN[language]
    english_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    english_client.force_login(user)
    left_in_english = []
    for (en_app, en_models), (app, models) in zip(english, local, strict=True):
        if app == en_app and app not in same:
            left_in_english.append(app)
        for (en_name, url), (name, _same_url) in zip(en_models, models, strict=True):
            assert name in text
            if name == en_name and name not in same:
                left_in_english.append(name)
            # The changelist's column titles, compared with the English page's.
            en_page, page = english_client.get(url), client.get(url)
            assert page.status_code == en_page.status_code == 200, url
            en_cols, cols = headers(en_page.content.decode()), headers(page.content.decode())
            assert len(cols) == len(en_cols) > 1, url
            left_in_english += [f"{url}: {c}" for c, e in zip(cols, en_cols, strict=True) if c == e and c not in same]
    assert left_in_english == [], "\n".join(left_in_english)


WORDS = re.compile(r"[A-Z][A-Za-z ()'-]*[a-z][A-Za-z ()'-]*")  # a label, not data (event names, URLs, SKUs)


def labels(html: str) -> list[str]:
    """A change form's field labels and fieldset titles."""
    found = re.findall(r"<label[^>]*>(.*?)</label>|<h2[^>]*>(.*?)</h2>", html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", a or b)).strip().rstrip(":") for a, b in found]


@pytest.mark.parametrize("language", ["es", "pt-br"])
def test_change_forms_are_translated(owner_with_data, language):
    """Every object page the owner can open (the first row of each list) and every add page."""
    user = owner_with_data
    same = SAME_IN_EVERY_LANGUAGE | SAME_IN[language]
    english, local = Client(HTTP_ACCEPT_LANGUAGE="en"), Client(HTTP_ACCEPT_LANGUAGE=language)
    english.force_login(user)
    local.force_login(user)
    left_in_english, pages = [], 0
    for _app, models in menu(user, "en"):
        for _name, changelist in models:
            listing = english.get(changelist).content.decode()
            first = re.search(r'<th class="field-[^"]*"><a href="([^"]+)"', listing)
            for url in filter(None, [first and first.group(1), changelist + "add/"]):
                en_page = english.get(url)
                if en_page.status_code != 200:  # no add permission (read-only lists)
                    continue
                page = local.get(url)
                assert page.status_code == 200, url
                pages += 1
                en_labels, local_labels = labels(en_page.content.decode()), labels(page.content.decode())
                assert len(en_labels) == len(local_labels), url
                left_in_english += [
                    f"{url}: {c}"
                    for c, e in zip(local_labels, en_labels, strict=True)
                    if c == e and c not in same and WORDS.fullmatch(c) and c != user.store_memberships.get().store.name
                ]
    assert pages >= 10
    assert left_in_english == [], "\n".join(left_in_english)
