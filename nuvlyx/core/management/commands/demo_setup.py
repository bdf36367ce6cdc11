"""Idempotent demo setup for `make run`: a demo store, an owner login, a fresh demo token."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from integrations.models import ApiToken
from integrations.services import api_token_create, api_token_revoke
from nuvlyx.api.permissions import SCOPES
from nuvlyx.core.models import Store
from nuvlyx.core.services import store_create

DEMO_SLUG = "demo"
OWNER_EMAIL = "owner@demo.nuvlyx.local"
OWNER_PASSWORD = "nuvlyx-demo"  # demo only; printed so a newcomer can log in


class Command(BaseCommand):
    help = "Create (once) the demo store and owner, and print a fresh demo API token."

    def handle(self, *args, **options):
        store = Store.objects.filter(slug=DEMO_SLUG).first()
        if store is None:
            store = store_create(
                slug=DEMO_SLUG,
                name="Demo Store",
                currency="COP",
                owner_email=OWNER_EMAIL,
                owner_password=OWNER_PASSWORD,
            )
            self._seed_catalog(store)
        user = get_user_model().objects.get(username=OWNER_EMAIL)
        for old in ApiToken.objects.filter(store=store, name="demo", revoked_at__isnull=True):
            api_token_revoke(token=old)
        _, plaintext = api_token_create(store=store, name="demo", scopes=list(SCOPES), created_by=user)
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Nuvlyx demo is ready.",
                    "  admin:     http://127.0.0.1:8000/admin/",
                    f"  login:     {OWNER_EMAIL} / {OWNER_PASSWORD}",
                    "  API docs:  http://127.0.0.1:8000/api/v1/external/docs",
                    f"  API token: {plaintext}",
                    "  try:      curl -H 'Authorization: Bearer <token>' http://127.0.0.1:8000/api/v1/external/products",
                    "",
                ]
            )
        )

    def _seed_catalog(self, store) -> None:
        try:
            from catalog.demo import seed_demo_catalog
        except ImportError:
            return
        seed_demo_catalog(store)
