from django.contrib import admin
from django.http import Http404
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from nuvlyx.api.middleware import json_error, json_response
from nuvlyx.core.l10n import set_admin_language, set_admin_test_mode


def no_view_on_site(request, *args, **kwargs):
    """The admin's "view on site" redirect (admin/r/<content type>/<id>/): no model of ours has a public
    page, and Django's view answered an id that is not a UUID with a 500."""
    raise Http404


urlpatterns = [
    re_path(r"^admin/r/", no_view_on_site),
    path("admin/language/", set_admin_language, name="set_language"),  # the header's language selector
    path("admin/test-mode/", set_admin_test_mode, name="set_test_mode"),  # the header's "Test data" switch
    path("admin/", admin.site.urls),
    path("api/v1/external/", include("nuvlyx.api.urls")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error(404, "Route not found", "not_found")
    if request.path.startswith("/admin/"):
        # Inside the owner's panel: its header, menu and language, "Page not found" translated.
        from django.contrib.admin import site
        from django.template.response import TemplateResponse

        # nvl_next: the language switcher returns to the admin's home, not to the path that was not found
        context = {**site.each_context(request), "title": _("Page not found"), "nvl_next": "/admin/"}
        return TemplateResponse(request, "admin/404.html", context, status=404).render()
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        from nuvlyx.api.errors import internal_error_body

        return json_response(internal_error_body(), 500)
    from django.views.defaults import server_error

    return server_error(request)


def handler400(request, exception=None):
    """Bad requests Django refuses before any view (a Host not in ALLOWED_HOSTS, ...): JSON."""
    return json_error(400, "Bad request", "bad_request")
