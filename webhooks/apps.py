from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Settings · Webhooks")

    def ready(self) -> None:
        from nuvlyx.core.crypto import register_encrypted_field
        from nuvlyx.core.delivery import register_channel
        from nuvlyx.core.events import register_event_handler

        from .services import CHANNEL, fan_out
        from .sql import ENDPOINT_WANTED

        register_encrypted_field("webhooks.WebhookEndpoint", "secret_encrypted")
        register_event_handler("webhooks", fan_out, wants_sql=ENDPOINT_WANTED)
        register_channel(CHANNEL)
