from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "nuvlyx.core"
    label = "core"
    verbose_name = _("Stores")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401  (registers the system checks)
        from .crypto import register_encrypted_field
        from .sql import send_datetimes_in_utc

        connection_created.connect(send_datetimes_in_utc, dispatch_uid="nuvlyx-utc-datetimes")

        register_encrypted_field("core.Event", "payload_encrypted")


class NuvlyxAdminConfig(admin_apps.AdminConfig):
    default = False

    default_site = "nuvlyx.core.admin_site.NuvlyxAdminSite"
