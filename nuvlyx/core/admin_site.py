"""The owner's admin: a dashboard home, a "Settings" section first (API tokens, WhatsApp, webhooks),
then the store; the login asks for an email; every title translatable."""

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from .l10n import request_store

SETTINGS_APPS = ("integrations", "webhooks")
ORDER = ("settings", "catalog", "wallets", "orders", "core", "auth")


class EmailAuthenticationForm(AdminAuthenticationForm):
    """Owners sign in with their email (their username is their email: create_store --owner-email)."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter the correct email and password for a staff account. "
            "Note that both fields may be case-sensitive."
        ),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Email")
        self.fields["username"].widget = forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})


class NuvlyxAdminSite(admin.AdminSite):
    site_header = "Nuvlyx"
    site_title = _("Nuvlyx store admin")
    index_title = _("Your store")
    login_form = EmailAuthenticationForm
    index_template = "admin/nuvlyx_index.html"
    dashboard = "nuvlyx.dashboard.store_dashboard"  # a selector over every app (project level)

    def each_context(self, request):
        from .l10n import admin_test_mode

        context = super().each_context(request)
        store = request_store(request) if request.user.is_authenticated else None
        context["nvl_store"] = store
        context["nvl_test_mode"] = store is not None and store.sandbox_of_id is not None and admin_test_mode(request)
        return context

    def index(self, request, extra_context=None):
        store = request_store(request)
        context = {"dashboard": import_string(self.dashboard)(store=store) if store is not None else None}
        if request.user.is_superuser:
            from .models import Store

            context["dashboard_stores"] = Store.objects.order_by("name").values_list("slug", "name")[:200]
        return super().index(request, {**context, **(extra_context or {})})

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        settings_models = []
        rest = []
        for app in apps:
            if app["app_label"] in SETTINGS_APPS:
                settings_models.extend(app["models"])
            else:
                rest.append(app)
        if settings_models:
            rest.append(
                {
                    "name": _("Settings"),
                    "app_label": "settings",
                    "app_url": "",
                    "has_module_perms": True,
                    "models": settings_models,
                }
            )
        rank = {label: i for i, label in enumerate(ORDER)}
        return sorted(rest, key=lambda app: rank.get(app["app_label"], len(ORDER)))
