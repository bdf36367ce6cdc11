"""The owner's admin: a "Settings" section first (API tokens, WhatsApp, webhooks), then the store."""

from django.contrib import admin

SETTINGS_APPS = ("integrations", "webhooks")
ORDER = ("settings", "catalog", "wallets", "orders", "core", "auth")


class NuvlyxAdminSite(admin.AdminSite):
    site_header = "Nuvlyx"
    site_title = "Nuvlyx store admin"
    index_title = "Your store"

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
                    "name": "Settings",
                    "app_label": "settings",
                    "app_url": "",
                    "has_module_perms": True,
                    "models": settings_models,
                }
            )
        rank = {label: i for i, label in enumerate(ORDER)}
        return sorted(rest, key=lambda app: rank.get(app["app_label"], len(ORDER)))
