from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "nuvlyx.core"
    label = "core"
    verbose_name = "Stores"
