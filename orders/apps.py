from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from nuvlyx.core.crypto import register_encrypted_field

        # `manage.py rotate_encryption_key` re-encrypts these columns.
        register_encrypted_field("catalog.License", "credentials_encrypted")
        register_encrypted_field("orders.OrderItem", "fulfilment_credentials_encrypted")
