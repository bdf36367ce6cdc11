from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Settings"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (registers the WhatsApp event consumer, if any)
