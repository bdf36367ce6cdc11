"""Test mode: every live store has a sandbox, a second Store linked by `sandbox_of`.

Tenancy is by store, so the sandbox is just another tenant: its own catalog, customers, wallets,
licenses, orders, webhooks and WhatsApp routes, reached by `nvl_test_` tokens and by the admin's
"Test data" switch. Members are those of the live store (no StoreMember rows of its own): the admin
maps a member's stores to their sandboxes while the switch is on (core.admin.user_store_ids).
"""

from django.db import IntegrityError, transaction

from .models import Store

SLUG_SUFFIX = "--sandbox"


class SandboxError(ValueError):
    pass


def live_store_of(store: Store) -> Store:
    """The live store of a sandbox (the store itself when it is live)."""
    if store.sandbox_of_id is None:
        return store
    return Store.objects.get(pk=store.sandbox_of_id)


def sandbox_slug(live: Store) -> str:
    return f"{live.slug[: 60 - len(SLUG_SUFFIX)]}{SLUG_SUFFIX}"


@transaction.atomic
def store_sandbox(*, store: Store) -> Store:
    """The sandbox of a live store, created on first use (the first test token, the first switch to
    test data). Same name, currency, country and time zone as the live store. Safe under concurrency:
    the live store row is locked, so two first uses create one sandbox."""
    if store.sandbox_of_id is not None:
        raise SandboxError("a sandbox has no sandbox of its own")
    existing = Store.objects.filter(sandbox_of_id=store.pk).first()
    if existing is not None:
        return existing
    live = Store.objects.select_for_update().get(pk=store.pk)
    existing = Store.objects.filter(sandbox_of_id=live.pk).first()
    if existing is not None:
        return existing
    sandbox = Store(
        sandbox_of=live,
        slug=sandbox_slug(live),
        name=live.name,
        currency=live.currency,
        country=live.country,
        timezone=live.timezone,
    )
    try:
        with transaction.atomic():
            sandbox.save()
    except IntegrityError:  # the slug is taken by an unrelated store: fall back to its id
        sandbox.slug = f"sandbox-{live.pk.hex}"[:60]
        sandbox.save()
    return sandbox


def sandbox_ids_of(store_ids: list) -> list:
    """The sandbox ids of these live stores (only those that already have one), in the same order."""
    found = dict(Store.objects.filter(sandbox_of_id__in=store_ids).values_list("sandbox_of_id", "pk"))
    return [found[store_id] for store_id in store_ids if store_id in found]
