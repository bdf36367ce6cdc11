from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from nuvlyx.core.crypto import register_encrypted_field

        # `manage.py rotate_encryption_key` re-encrypts these columns.
        register_encrypted_field("catalog.License", "credentials_encrypted")
        register_encrypted_field("orders.OrderItem", "fulfilment_credentials_encrypted")
