from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Settings · Webhooks")

    def ready(self) -> None:
        from nuvlyx.core.crypto import register_encrypted_field
        from nuvlyx.core.delivery import register_channel
        from nuvlyx.core.events import register_event_handler

        from .selectors import store_wants
        from .services import CHANNEL, fan_out

        register_encrypted_field("webhooks.WebhookEndpoint", "secret_encrypted")
        register_event_handler("webhooks", fan_out, wants=store_wants)
        register_channel(CHANNEL)
