"""Give a user (a store owner) a password without a prompt: the password is read from stdin.

    printf '%s\n' "$PASSWORD" | bin/manage set_password owner@example.com

Stdin, not an argument: a password on the command line is visible to every user in `ps`.
Django's password validators apply; a refused password changes nothing.
"""

import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Set a user's password, read from the first line of stdin (no prompt)."

    def add_arguments(self, parser):
        parser.add_argument("username", help="the login (a store owner's email)")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("no password on stdin (pipe it in: printf '%s\\n' \"$PASSWORD\" | ...)")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        user.set_password(password)
        user.save(update_fields=["password"])
        self.stdout.write(f"password set for {username}")
