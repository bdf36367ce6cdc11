"""The token cache's rules that a live test cannot time precisely (integrations/token_cache.py)."""

import pytest

from conftest import wait_until
from integrations.models import ApiToken
from integrations.services import _token_by_hash
from integrations.token_cache import TokenCache

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache():
    cache = TokenCache()
    wait_until(cache.enabled, timeout=10, message="the invalidation channel is subscribed")
    return cache


def test_a_read_that_raced_with_an_invalidation_is_not_cached(cache, store, make_token):
    make_token(store)
    token_hash = ApiToken.objects.get(store=store).token_hash
    loads = []

    def load_while_revoked(key):
        loads.append(key)
        token = _token_by_hash(key)
        cache.evict(key)  # the invalidation arrives while the read is in flight
        return token

    cache.get_or_load(token_hash, load_while_revoked)
    cache.get_or_load(token_hash, load_while_revoked)
    assert len(loads) == 2  # the first read was not kept
    cache.get_or_load(token_hash, lambda key: loads.append(key) or _token_by_hash(key))
    cache.get_or_load(token_hash, lambda key: loads.append(key) or _token_by_hash(key))
    assert len(loads) == 3  # an undisturbed read is kept


def test_a_store_invalidation_drops_every_token_of_that_store_only(cache, store, other_store, make_token):
    make_token(store, name="a")
    make_token(other_store, name="b")
    hashes = {t.store_id: t.token_hash for t in ApiToken.objects.all()}
    for token_hash in hashes.values():
        cache.get_or_load(token_hash, _token_by_hash)
    cache.evict(f"store:{store.pk}")
    loads = []
    for token_hash in hashes.values():
        cache.get_or_load(token_hash, lambda key: loads.append(key) or _token_by_hash(key))
    assert loads == [hashes[store.pk]]


def test_no_cache_without_redis(settings, store, make_token):
    settings.REDIS_URL = ""
    make_token(store)
    token_hash = ApiToken.objects.get(store=store).token_hash
    cache = TokenCache()
    loads = []
    for _ in range(2):
        cache.get_or_load(token_hash, lambda key: loads.append(key) or _token_by_hash(key))
    assert len(loads) == 2 and not cache.enabled()
