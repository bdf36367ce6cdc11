from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Settings")

    def ready(self) -> None:
        from nuvlyx.core.crypto import register_encrypted_field
        from nuvlyx.core.delivery import register_channel
        from nuvlyx.core.events import register_event_handler

        from . import signals  # noqa: F401  (the token cache's invalidations)
        from .sql import ROUTE_WANTED
        from .whatsapp import CHANNEL, handle_event

        register_encrypted_field("integrations.MosendConnection", "api_key_encrypted")
        register_event_handler("whatsapp", handle_event, wants_sql=ROUTE_WANTED)
        register_channel(CHANNEL)
