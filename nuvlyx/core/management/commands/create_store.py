from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from nuvlyx.core.models import Store
from nuvlyx.core.services import store_create


class Command(BaseCommand):
    help = "Create a store. Prints the new store's UUID as the last line of stdout."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", default="COP")
        parser.add_argument("--owner-email", default=None)
        parser.add_argument("--owner-password", default=None, help="Only for demos; omit to set it later.")

    def handle(self, *args, slug, name, currency, owner_email, owner_password, **options):
        if Store.objects.filter(slug=slug).exists():
            raise CommandError(f"a store with slug {slug!r} already exists")
        try:
            store = store_create(
                slug=slug, name=name, currency=currency.upper(), owner_email=owner_email, owner_password=owner_password
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        except IntegrityError as exc:
            raise CommandError(f"could not create the store: {exc}") from None
        self.stdout.write(str(store.pk))
