"""`makemessages` with the owner's-panel scope built in (issue 13): what owners read is translated,
the API (its error messages, its docs page) stays English, and tests, clients and the benchmark hold
no owner-facing text. So `manage.py makemessages -l es -l pt_BR` needs no flags, and the catalog test
(tests/test_translations.py) runs exactly the same command. See docs/translations.md."""

from django.core.management.commands import makemessages

# Matched (fnmatch) against each file's and directory's name and path, like --ignore.
OUT_OF_SCOPE = [
    "api",  # */api/ packages and templates/api/: the API stays English (API.md)
    "tests",
    "test_*.py",
    "conftest.py",
    "clients",
    "bench",
    "deploy",
    "docs",
    "var",
    "artifacts",
    "node_modules",
]


class Command(makemessages.Command):
    def handle(self, *args, **options):
        options["ignore_patterns"] = [*options.get("ignore_patterns", []), *OUT_OF_SCOPE]
        return super().handle(*args, **options)
