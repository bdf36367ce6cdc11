from django.core.management.base import BaseCommand, CommandError

from integrations.models import ApiToken
from integrations.services import api_token_revoke


class Command(BaseCommand):
    help = "Revoke the API token whose display prefix (e.g. nvl_live_AbCd1234) is given."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        matches = list(ApiToken.objects.filter(prefix=prefix)[:2])
        if not matches:
            raise CommandError(f"no token with prefix {prefix!r}")
        if len(matches) > 1:
            raise CommandError(f"prefix {prefix!r} matches several tokens; revoke them in the admin")
        token = matches[0]
        if token.revoked_at is not None:
            raise CommandError(f"token {prefix} was already revoked at {token.revoked_at.isoformat()}")
        api_token_revoke(token=token)
        self.stdout.write(f"revoked {token.prefix} ({token.name}) of store {token.store.slug}")
