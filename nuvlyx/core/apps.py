from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    name = "nuvlyx.core"
    label = "core"
    verbose_name = "Stores"

    def ready(self) -> None:
        from .crypto import register_encrypted_field

        register_encrypted_field("core.Event", "payload_encrypted")


class NuvlyxAdminConfig(admin_apps.AdminConfig):
    default = False

    default_site = "nuvlyx.core.admin_site.NuvlyxAdminSite"
