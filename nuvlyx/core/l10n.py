"""The owner's panel in the owner's language and the store's time zone.

- Language: the owner's own choice (AdminPreference, set by the header's selector through
  `set_admin_language`) wins; then the language cookie; then the browser's Accept-Language; then
  LANGUAGE_CODE ("es"). API requests are always English: the contract's messages do not change.
- Time zone: admin requests activate the store's time zone, so every admin date is local time.
  API requests stay UTC (the contract renders UTC anyway).
- `request_store(request)`: the store an admin request is about (the owner's store; for a superuser
  `?store=<slug>` or the first store), cached on the request.
"""

import zoneinfo

from django.conf import settings
from django.http import HttpResponseRedirect
from django.middleware.locale import LocaleMiddleware
from django.utils import timezone, translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from .models import AdminPreference, Store, StoreMember

API_PREFIX = "/api/"
API_LANGUAGE = "en"


def request_store(request) -> Store | None:
    """The store this admin request shows: the owner's (first membership), else for a superuser the
    `?store=` slug or the first store by name. None for anonymous users and staff without a store."""
    if hasattr(request, "_nvl_store"):
        return request._nvl_store
    store = None
    user = request.user
    if user.is_authenticated and user.is_active:
        members = list(StoreMember.objects.filter(user=user).select_related("store").order_by("created_at", "id"))
        request._nvl_store_ids = [m.store_id for m in members]  # what core.admin.user_store_ids caches
        if members:
            store = members[0].store
        if user.is_superuser:
            wanted = request.GET.get("store")
            chosen = Store.objects.filter(slug=wanted).first() if wanted else None
            store = chosen or store or Store.objects.order_by("name").first()
    request._nvl_store = store
    return store


def user_language(request) -> str | None:
    user = request.user
    if not user.is_authenticated:
        return None
    language = AdminPreference.objects.filter(user=user).values_list("language", flat=True).first()
    return language or None


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
