"""Model signals of this app. Imported by IntegrationsConfig.ready().

Cached tokens (integrations/token_cache.py) are dropped on every process when a token or its store
changes through the ORM: scopes, rate limit, expiry, revocation from the admin, deletion.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from nuvlyx.core.models import Store

from .models import ApiToken
from .services import store_changed, token_changed


@receiver([post_save, post_delete], sender=ApiToken, dispatch_uid="token-cache-token")
def _token_saved(sender, instance: ApiToken, created: bool = False, **kwargs) -> None:
    if not created:
        token_changed(instance)


@receiver([post_save, post_delete], sender=Store, dispatch_uid="token-cache-store")
def _store_saved(sender, instance: Store, created: bool = False, **kwargs) -> None:
    if not created:
        store_changed(instance.pk)
