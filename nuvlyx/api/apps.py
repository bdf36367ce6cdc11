from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "nuvlyx.api"
    label = "api"
    verbose_name = "API"
