"""Writes for stores and their members (used by commands and the demo setup)."""

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Store, StoreMember


@transaction.atomic
def store_create(
    *, slug: str, name: str, currency: str = "COP", owner_email: str | None = None, owner_password: str | None = None
) -> Store:
    store = Store(slug=slug, name=name, currency=currency)
    store.full_clean()
    store.save()
    if owner_email:
        User = get_user_model()
        user = User.objects.filter(username=owner_email).first()
        if user is None:
            user = User.objects.create_user(username=owner_email, email=owner_email, password=owner_password)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        StoreMember.objects.get_or_create(store=store, user=user, defaults={"role": StoreMember.Role.OWNER})
    return store
