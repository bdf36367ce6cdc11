from django.urls import path

from .views import SandboxResetView

urlpatterns: list = [
    path("sandbox/reset", SandboxResetView.as_view(), name="sandbox-reset"),
]
