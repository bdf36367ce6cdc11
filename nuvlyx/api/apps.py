from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "nuvlyx.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from nuvlyx.core.crypto import register_encrypted_field

        register_encrypted_field("api.IdempotencyKey", "response_body_encrypted")
