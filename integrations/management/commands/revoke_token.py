from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations import token_cache, tokens
from integrations.models import ApiToken
from integrations.services import api_token_revoke


def _shown(value: str) -> str:
    """What a message may show of the argument: at most a display prefix, never the secret after it."""
    if len(value) <= tokens.DISPLAY_PREFIX_LENGTH:
        return value
    return value[: tokens.DISPLAY_PREFIX_LENGTH] + "…"


class Command(BaseCommand):
    help = (
        "Revoke an API token, given its display prefix (e.g. nvl_live_AbCd1234, shown in the admin) or the "
        "whole token. Messages never show more of it than the display prefix."
    )

    def add_arguments(self, parser):
        parser.add_argument("prefix", metavar="PREFIX_OR_TOKEN")

    def handle(self, *args, prefix, **options):
        value = prefix.strip()
        shown = _shown(value)
        if len(value) > tokens.DISPLAY_PREFIX_LENGTH:
            # A whole token: found by its hash, as authentication does (a mistyped one matches nothing,
            # rather than revoking whichever token shares its first characters).
            if not value.isascii():
                raise CommandError(f"{shown!r} is not a token or a display prefix")
            matches = list(ApiToken.objects.filter(token_hash=tokens.hash_token(value))[:1])
            if not matches:
                raise CommandError(f"no token matches the token starting {shown!r} (check it, or give its prefix)")
        else:
            matches = list(ApiToken.objects.filter(prefix=value)[:2])
            if not matches:
                raise CommandError(f"no token with prefix {shown!r}")
            if len(matches) > 1:
                raise CommandError(f"prefix {shown!r} matches several tokens; revoke them in the admin")
        token = matches[0]
        if token.revoked_at is not None:
            # perhaps revoked by hand in SQL (never published; docs/scaling.md): announce it again
            self._announce(token)
            raise CommandError(f"token {token.prefix} was already revoked at {token.revoked_at.isoformat()}")
        api_token_revoke(token=token)
        self.stdout.write(f"revoked {token.prefix} ({token.name}) of store {token.store.slug}")
        self._announce(token)

    def _announce(self, token: ApiToken) -> None:
        """api_token_revoke published the change (best effort); publish once more to learn whether
        running web processes heard it. The revocation itself is committed either way."""
        if settings.TOKEN_CACHE_SECONDS > 0 and not token_cache.publish(token.token_hash):
            reason = "REDIS_URL is not set" if not settings.REDIS_URL else "Redis could not be reached"
            self.stderr.write(
                f"warning: the revocation is saved, but it could not be announced to running web processes "
                f"({reason}): a server that has this token cached may accept it for up to "
                f"{settings.TOKEN_CACHE_SECONDS:g} seconds unless restarted."
            )
