from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from integrations.models import ApiToken
from integrations.services import TokenError, api_token_create
from nuvlyx.core.management.arguments import PG_INTEGER_MAX, bounded_int
from nuvlyx.core.models import Store
from nuvlyx.core.scopes import SCOPES
from nuvlyx.core.timeutil import now

MAX_EXPIRES_IN_DAYS = 36500  # a hundred years; omitting the option means "never"


class Command(BaseCommand):
    help = "Create an API token for a store. Prints only the token on stdout (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--scopes", help="comma-separated: " + ",".join(SCOPES))
        group.add_argument("--all-scopes", action="store_true")
        parser.add_argument(
            "--expires-in-days",
            type=bounded_int(1, MAX_EXPIRES_IN_DAYS),
            default=None,
            help=f"1..{MAX_EXPIRES_IN_DAYS}; omit for a token that does not expire",
        )
        parser.add_argument(
            "--rate-limit",
            type=bounded_int(1, PG_INTEGER_MAX),
            default=None,
            help="requests per minute for this token",
        )
        parser.add_argument(
            "--test",
            action="store_true",
            help="an nvl_test_ token of the store's sandbox (test mode; the sandbox is created on first use)",
        )

    def handle(self, *args, slug, name, scopes, all_scopes, expires_in_days, rate_limit, test, **options):
        store = Store.objects.filter(slug=slug).first()
        if store is None:
            raise CommandError(f"unknown store {slug!r}")
        max_name = ApiToken._meta.get_field("name").max_length
        if max_name is not None and len(name.strip()) > max_name:
            raise CommandError(f"--name is {len(name.strip())} characters long; the most is {max_name}")
        scope_list = list(SCOPES) if all_scopes else [s.strip() for s in scopes.split(",") if s.strip()]
        expires_at = now() + timedelta(days=expires_in_days) if expires_in_days else None
        try:
            _, plaintext = api_token_create(
                store=store,
                name=name,
                scopes=scope_list,
                expires_at=expires_at,
                rate_limit_per_minute=rate_limit,
                livemode=False if test else None,
            )
        except TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(plaintext)
