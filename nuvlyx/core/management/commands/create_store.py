from babel.numbers import is_currency
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import IntegrityError

from nuvlyx.core.models import Store, StoreMember
from nuvlyx.core.services import store_create


class Command(BaseCommand):
    help = "Create a store. Prints the new store's UUID as the last line of stdout."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", default="COP", help="an ISO 4217 code (default COP)")
        parser.add_argument("--owner-email", default=None, help="must not belong to another store yet")
        parser.add_argument("--owner-password", default=None, help="Only for demos; omit to set it later.")

    def handle(self, *args, slug, name, currency, owner_email, owner_password, **options):
        # Everything is checked before the store is written.
        if Store.objects.filter(slug=slug).exists():
            raise CommandError(f"a store with slug {slug!r} already exists")
        currency = currency.strip().upper()
        if not is_currency(currency):
            raise CommandError(f"--currency {currency!r} is not an ISO 4217 currency code (e.g. COP, USD, EUR)")
        if owner_email is not None:
            owner_email = owner_email.strip()
            try:
                validate_email(owner_email)
            except ValidationError:
                raise CommandError(f"--owner-email {owner_email!r} is not a valid email address") from None
            other = (
                StoreMember.objects.filter(user__username__iexact=owner_email)
                .select_related("store")
                .order_by("created_at")
                .first()
            )
            if other is not None:
                # The admin shows a user only their first store: a second membership would be invisible.
                raise CommandError(
                    f"{owner_email} already belongs to store {other.store.slug!r}; "
                    "use another email for this store's owner"
                )
        try:
            store = store_create(
                slug=slug, name=name, currency=currency, owner_email=owner_email, owner_password=owner_password
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        except IntegrityError as exc:
            raise CommandError(f"could not create the store: {exc}") from None
        self.stdout.write(str(store.pk))
