"""The owner's panel in the owner's language and the store's time zone.

- Language: the owner's own choice (AdminPreference, set by the header's selector through
  `set_admin_language`) wins; then the language cookie; then the browser's Accept-Language; then
  LANGUAGE_CODE ("es"). API requests are always English: the contract's messages do not change.
- Time zone: admin requests activate the store's time zone, so every admin date is local time.
  API requests stay UTC (the contract renders UTC anyway).
- `request_store(request)`: the store an admin request is about (the owner's store; for a superuser
  `?store=<slug>` or the first store), cached on the request. While the owner's "Test data" switch is
  on (AdminPreference.test_mode, `set_admin_test_mode`), it is that store's sandbox instead, and so
  are the store ids every admin page is scoped to (core.admin.user_store_ids).
"""

import zoneinfo

from django.conf import settings
from django.http import HttpResponseRedirect
from django.middleware.locale import LocaleMiddleware
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from .models import AdminPreference, Store, StoreMember

API_PREFIX = "/api/"
API_LANGUAGE = "en"


def request_store(request) -> Store | None:
    """The store this admin request shows: the owner's (first membership), else for a superuser the
    `?store=` slug or the first store by name; its sandbox while the "Test data" switch is on. None for
    anonymous users and staff without a store."""
    if hasattr(request, "_nvl_store"):
        return request._nvl_store
    store = None
    user = request.user
    if user.is_authenticated and user.is_active:
        members = list(StoreMember.objects.filter(user=user).select_related("store").order_by("created_at", "id"))
        request._nvl_store_ids = world_store_ids(request, [m.store_id for m in members])
        if members:
            store = members[0].store
        if user.is_superuser:
            wanted = request.GET.get("store")
            chosen = Store.objects.filter(slug=wanted).first() if wanted else None
            store = chosen or store or Store.objects.order_by("name").first()
        if store is not None and admin_test_mode(request):
            store = Store.objects.filter(sandbox_of_id=store.sandbox_of_id or store.pk).first() or store
    request._nvl_store = store
    return store


def world_store_ids(request, member_store_ids: list) -> list:
    """A member's stores as the admin shows them: the live ones, or their sandboxes in test mode."""
    if not member_store_ids or not admin_test_mode(request):
        return member_store_ids
    from .sandbox import sandbox_ids_of

    return sandbox_ids_of(member_store_ids)


def _admin_preference(request) -> tuple[str, bool]:
    """(language, test_mode) of the signed-in user, read once per request."""
    cached = getattr(request, "_nvl_preference", None)
    if cached is None:
        row = None
        if request.user.is_authenticated:
            row = AdminPreference.objects.filter(user=request.user).values_list("language", "test_mode").first()
        cached = request._nvl_preference = row or ("", False)
    return cached


def admin_test_mode(request) -> bool:
    """Is the owner's "Test data" switch on (the admin shows the sandbox)?"""
    return _admin_preference(request)[1]


def user_language(request) -> str | None:
    return _admin_preference(request)[0] or None


class OwnerLocaleMiddleware(LocaleMiddleware):
    """LocaleMiddleware (cookie, Accept-Language) with the owner's stored choice first and the store's
    time zone on admin pages. Placed after AuthenticationMiddleware (it reads request.user)."""

    def process_request(self, request):
        if request.path.startswith(API_PREFIX):
            translation.activate(API_LANGUAGE)
            request.LANGUAGE_CODE = API_LANGUAGE
            timezone.deactivate()
            return
        language = user_language(request) or translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        store = request_store(request) if request.path.startswith("/admin/") else None
        if store is not None:
            timezone.activate(zoneinfo.ZoneInfo(store.timezone))
        else:
            timezone.deactivate()

    def process_response(self, request, response):
        timezone.deactivate()
        if request.path.startswith(API_PREFIX):
            return response  # no Content-Language / Vary: Accept-Language on the API
        return super().process_response(request, response)


@require_POST
def set_admin_language(request):
    """Django's set_language (cookie + redirect) that also remembers the choice for the owner."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if (
        isinstance(response, HttpResponseRedirect)
        and request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
    ):
        AdminPreference.objects.update_or_create(user=request.user, defaults={"language": language})
    return response


@require_POST
def set_admin_test_mode(request):
    """The header's "Test data" switch: remembered for the user; switching on creates the sandbox of
    the store on first use. Back to the dashboard: the page shown may not exist in the other world."""
    from .sandbox import live_store_of, store_sandbox

    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return HttpResponseRedirect(reverse("admin:login"))
    enabled = request.POST.get("test_mode") == "1"
    store = request_store(request)
    if enabled and store is not None:
        store_sandbox(store=live_store_of(store))
        for live in Store.objects.filter(members__user=user, sandbox_of__isnull=True).exclude(sandbox__isnull=False):
            store_sandbox(store=live)  # every store of the member has its sandbox while the switch is on
    AdminPreference.objects.update_or_create(user=user, defaults={"test_mode": enabled and store is not None})
    return HttpResponseRedirect(reverse("admin:index"))
