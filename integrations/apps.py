from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Settings")

    def ready(self) -> None:
        from . import signals  # noqa: F401  (registers the WhatsApp event consumer, if any)
