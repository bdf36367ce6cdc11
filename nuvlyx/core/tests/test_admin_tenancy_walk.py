"""The tenancy walk: owner B visits EVERY admin page, generated from the admin registry, with store
A's data present. No page may show A's marker or any of A's ids, and no page may answer 5xx.

Pages: the index and app lists; per registered ModelAdmin its changelist (plain, every choice of
every list filter, the raw-id popup), add page, B's change/history/delete pages, A's ones (404),
every extra URL the ModelAdmin declares (object actions, reveal, wallet forms, fulfil…) for A's and
B's objects, and the autocomplete endpoint for every relation whose target has an admin.
A new ModelAdmin or a new URL is walked without editing this file; an URL parameter the walk does
not know fails the test so it gets covered."""

import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from .admin_data import populate_store

STANDARD_URL_NAMES = {"changelist", "add", "history", "delete", "change"}


@pytest.fixture
def two_stores(db):
    return populate_store("ZQXA", slug="store-zqxa"), populate_store("BQVB", slug="store-bqvb")


def _object_of(data, model):
    if model._meta.model_name == "store":
        return data.store
    if model is type(data.owner):
        return data.owner
    return data.objects.get(model._meta.model_name)


class Walker:
    def __init__(self, client, forbidden: set[str]):
        self.client = client
        self.forbidden = {f.lower() for f in forbidden}
        self.visited: list[tuple[str, int]] = []

    def get(self, url: str, follow_redirect: bool = True):
        response = self.client.get(url)
        self.visited.append((url, response.status_code))
        assert response.status_code < 500, f"{url} answered {response.status_code}"
        body = response.content.decode(errors="replace").lower()
        leaked = sorted(f for f in self.forbidden if f in body)
        assert not leaked, (
            f"{url} shows store A's {leaked}: " + body[max(0, body.find(leaked[0] if leaked else "") - 400) :][:600]
        )
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            self.check_readable(url, response.content.decode())
        if follow_redirect and response.status_code in (301, 302) and response["Location"].startswith("/admin/"):
            self.get(response["Location"], follow_redirect=False)
        return response

    @staticmethod
    def check_readable(url: str, html: str) -> None:
        """Readable everywhere: human titles, no raw JSON, no pointers at repository files."""
        for pattern, what in (
            (r"\w object \(", "an object without a human title"),
            (r"\[(&quot;|&#x27;|\"|')\w", "raw JSON"),
            (r"docs/\w+\.md", "a pointer at a repository file"),
        ):
            found = re.search(pattern, html)
            assert found is None, f"{url} shows {what}: …{html[max(0, found.start() - 80) : found.end() + 80]}…"


def _fill(pattern: str, ma, obj, data) -> list[str]:
    """Concrete paths for a ModelAdmin URL pattern such as '<path:object_id>/do/<slug:action>/'."""
    params = re.findall(r"<(?:\w+:)?(\w+)>", pattern)
    unknown = set(params) - {"object_id", "id", "action", "item_id"}
    assert not unknown, f"The tenancy walk does not know how to fill {unknown} in {pattern}: teach it"
    if ("object_id" in params or "id" in params) and obj is None:
        return []
    actions = list(getattr(ma, "object_actions", ())) if "action" in params else [None]
    paths = []
    for action in actions:
        path = pattern
        path = re.sub(r"<(?:\w+:)?(?:object_id|id)>", str(obj.pk) if obj is not None else "", path)
        path = re.sub(r"<(?:\w+:)?action>", action or "", path)
        path = re.sub(r"<(?:\w+:)?item_id>", str(data.objects["orderitem"].pk), path)
        paths.append(path)
    return paths


def test_owner_b_never_sees_store_a_anywhere(two_stores):
    a, b = two_stores
    client = Client()
    client.force_login(b.owner)
    walk(client, a, b, forbidden={a.marker, a.store.slug, *a.ids()})


@pytest.mark.parametrize("test_mode", [True, False], ids=["test-data-on", "test-data-off"])
def test_owner_never_sees_the_other_world_of_their_store(db, test_mode):
    """Test mode: with the "Test data" switch on, the owner walks every page of the sandbox with the live
    store's data present, and never sees it; with the switch off, never the sandbox's. API tokens of
    both modes are listed (and created) on one page by design, so they are left out of this walk."""
    from nuvlyx.core.models import AdminPreference, Store
    from nuvlyx.core.sandbox import store_sandbox

    live = populate_store("LVQK", slug="tienda-uno")  # the owner's email holds the slug: no marker in it
    Store.objects.filter(pk=live.store.pk).update(name="Tienda")  # the sandbox shares the name
    live.store.refresh_from_db()
    test = populate_store("TSQJ", store=store_sandbox(store=live.store), owner=live.owner)
    AdminPreference.objects.update_or_create(user=live.owner, defaults={"test_mode": test_mode})
    shown, hidden = (test, live) if test_mode else (live, test)
    for data in (shown, hidden):
        data.objects.pop("apitoken").__class__.objects.filter(store=data.store).update(name="bot")
    client = Client()
    client.force_login(live.owner)
    banner = client.get(reverse("admin:index")).content.decode()
    assert ('id="nvl-test-banner"' in banner) is test_mode
    walk(client, hidden, shown, forbidden={hidden.marker, *(hidden.ids() - {str(hidden.store.pk)})})


def walk(client, a, b, *, forbidden: set[str]) -> None:
    """Owner of `b` (logged in on `client`) walks every admin page; nothing of `a` may show."""
    walker = Walker(client, forbidden)

    walker.get(reverse("admin:index"))
    for app_label in {m._meta.app_label for m in admin.site._registry}:
        walker.get(reverse("admin:app_list", args=[app_label]))

    checked_models = 0
    for model, ma in admin.site._registry.items():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        base = reverse(f"admin:{info}_changelist")
        visible = ma.has_view_permission(_request_for(b.owner))

        listing = walker.get(base)
        if visible and listing.status_code == 200:
            checked_models += 1
            cl = listing.context_data["cl"]
            for spec in cl.filter_specs:
                for choice in spec.choices(cl):
                    walker.get(base + choice["query_string"])
            walker.get(f"{base}?_to_field={model._meta.pk.attname}&_popup=1")
            walker.get(f"{base}?q={a.marker[1:3]}")  # a part of A's names, not the marker itself
        walker.get(reverse(f"admin:{info}_add"))

        mine, theirs = _object_of(b, model), _object_of(a, model)
        if model._meta.model_name == "store" and a.store.pk not in forbidden:
            theirs = None  # a store and its sandbox: the store rows are not what is being hidden
        for view in ("change", "history", "delete"):
            if mine is not None:
                walker.get(reverse(f"admin:{info}_{view}", args=[mine.pk]))
            if theirs is not None:
                response = walker.get(reverse(f"admin:{info}_{view}", args=[theirs.pk]))
                assert response.status_code in ((404,) if visible else (403, 404)), (
                    f"{view} of store A's {model.__name__}"
                )
            if mine is not None and visible and view == "change":
                page = client.get(reverse(f"admin:{info}_change", args=[mine.pk]))
                assert page.status_code == 200, f"owner B cannot open their own {model.__name__}"

        for pattern in ma.get_urls():
            name = (pattern.name or "").removeprefix(f"{info}_")
            if name in STANDARD_URL_NAMES or not pattern.name:
                continue
            for path in _fill(str(pattern.pattern), ma, theirs, a):
                response = walker.get(base + path)
                if re.search(r"<(?:\w+:)?(?:object_id|id)>", str(pattern.pattern)):
                    assert response.status_code in (403, 404), f"{base + path} for store A's object"
            for path in _fill(str(pattern.pattern), ma, mine, b):
                walker.get(base + path)

        # autocomplete for every relation of this model whose target has an admin
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and field.related_model in admin.site._registry):
                continue
            for term in ("", a.marker[1:3], b.marker[1:3]):
                walker.get(
                    reverse("admin:autocomplete")
                    + f"?app_label={model._meta.app_label}&model_name={model._meta.model_name}"
                    f"&field_name={field.name}&term={term}"
                )

    assert checked_models >= 12, "the walk saw too few admin pages: is owner B still an owner?"
    # The walk can fail: B's own data is on B's pages (the same pages that must not show A's).
    customers = client.get(reverse("admin:wallets_customer_changelist")).content.decode()
    assert b.marker in customers


def _request_for(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_customers_by_tier_filter_lists_only_the_owners_tiers(two_stores):
    a, b = two_stores
    client = Client()
    client.force_login(b.owner)
    page = client.get(reverse("admin:wallets_customer_changelist")).content.decode()
    assert f"{b.marker} Gold" in page
    assert f"{a.marker} Gold" not in page and str(a.objects["tier"].pk) not in page


def test_other_stores_object_is_404_not_a_redirect_naming_it(two_stores):
    a, b = two_stores
    client = Client()
    client.force_login(b.owner)
    order = a.objects["order"]
    for view in ("change", "history", "delete"):
        assert client.get(reverse(f"admin:orders_order_{view}", args=[order.pk])).status_code == 404
    refund = reverse("admin:orders_order_object_action", args=[order.pk, "refund"])
    assert client.post(refund, {"reason": "mine now"}).status_code == 404
    order.refresh_from_db()
    assert order.status == "COMPLETED"


def test_autocomplete_answers_with_the_owners_rows_only(two_stores):
    _, b = two_stores
    client = Client()
    client.force_login(b.owner)
    url = reverse("admin:autocomplete") + "?app_label=catalog&model_name=product&field_name=categories&term="
    response = client.get(url)
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {str(b.objects["category"].pk)}


def test_raw_id_widget_never_prints_another_stores_object(two_stores):
    from django.contrib.admin import ModelAdmin

    from nuvlyx.core.admin import StoreScopedAdminMixin
    from wallets.models import Customer

    a, b = two_stores

    class RawIdCustomerAdmin(StoreScopedAdminMixin, ModelAdmin):
        raw_id_fields = ("tier",)

    ma = RawIdCustomerAdmin(Customer, admin.site)
    field = ma.formfield_for_foreignkey(Customer._meta.get_field("tier"), _request_for(b.owner))
    widget = getattr(field.widget, "widget", field.widget)
    theirs = widget.render("tier", str(a.objects["tier"].pk))
    mine = widget.render("tier", str(b.objects["tier"].pk))
    assert a.marker not in theirs
    assert b.marker in mine  # the widget still labels the owner's own tier
