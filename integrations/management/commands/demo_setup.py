"""Idempotent demo setup for `make run`: a demo store, an owner login, the demo token.

The demo token is created once and printed again on every run: its plaintext is kept encrypted
(NUVLYX_ENCRYPTION_KEYS) in var/demo-token, never in clear. If that file is gone or no longer
names a live token (a new database, a revoked token), a new token replaces the old ones.
It lives in integrations, the top of the app layers (the tokens are its own, the demo catalog is
catalog's), so core imports no app above it.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from catalog.demo import seed_demo_catalog
from integrations.models import ApiToken
from integrations.services import api_token_create, api_token_revoke
from integrations.tokens import hash_token
from nuvlyx.core.crypto import DecryptionError, decrypt, encrypt
from nuvlyx.core.management.arguments import bounded_int
from nuvlyx.core.models import Store, StoreMember
from nuvlyx.core.scopes import SCOPES
from nuvlyx.core.services import store_create

DEMO_SLUG = "demo"
OWNER_EMAIL = "owner@demo.nuvlyx.local"
OWNER_PASSWORD = "nuvlyx-demo"  # demo only; printed so a newcomer can log in


def _token_file():  # read at call time: settings may point VAR_DIR elsewhere
    return settings.VAR_DIR / "demo-token"


class Command(BaseCommand):
    help = "Create (once) the demo store, owner and API token, and print them."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=bounded_int(1, 65535), default=8000, help="the port the banner shows")
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="run even with DEBUG=false (it creates a staff login with a published password and an "
            "all-scopes token)",
        )

    def handle(self, *args, port, allow_production, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "demo_setup creates a staff login with a published password and an all-scopes API token; "
                "it runs only with DEBUG=true (as `make run` sets it), or with --allow-production"
            )
        store = Store.objects.filter(slug=DEMO_SLUG).first()
        if store is not None and not StoreMember.objects.filter(store=store, user__username=OWNER_EMAIL).exists():
            # not the demo store (someone else's, or its owner was deleted): no demo token on it
            raise CommandError(
                f"a store with slug {DEMO_SLUG!r} exists but the demo owner {OWNER_EMAIL} is not its member; "
                "it is not the demo store (rename or delete it, or use another database)"
            )
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
        plaintext = self._saved_token(store)
        if plaintext is None:
            for old in ApiToken.objects.filter(store=store, name="demo", revoked_at__isnull=True):
                api_token_revoke(token=old)
            _, plaintext = api_token_create(store=store, name="demo", scopes=list(SCOPES), created_by=user)
            _token_file().parent.mkdir(parents=True, exist_ok=True)
            _token_file().write_text(encrypt(plaintext))
            note = "new"
        else:
            note = "the same as last time"
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Nuvlyx demo is ready.",
                    f"  admin:     {base}/admin/",
                    f"  login:     {OWNER_EMAIL} / {OWNER_PASSWORD}",
                    f"  API docs:  {base}/api/v1/external/docs",
                    f"  API token: {plaintext}   ({note})",
                    f"  try:       curl -H 'Authorization: Bearer {plaintext}' {base}/api/v1/external/products",
                    "",
                ]
            )
        )

    def _saved_token(self, store) -> str | None:
        try:
            plaintext = decrypt(_token_file().read_text().strip())
        except (FileNotFoundError, DecryptionError):
            return None
        live = ApiToken.objects.filter(
            store=store, name="demo", token_hash=hash_token(plaintext), revoked_at__isnull=True
        ).exists()
        return plaintext if live else None

    def _seed_catalog(self, store) -> None:
        seed_demo_catalog(store)
