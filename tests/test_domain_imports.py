"""Domain code raises DomainErrors (nuvlyx/core/errors.py) and never imports the API layer.

Services, selectors and the core kernel are called by the API, the admin, Celery tasks and the
command line alike: if they imported `nuvlyx.api` (its errors, renderers or permissions), HTTP concerns
would leak into all of them. The API's one exception handler renders DomainErrors.
"""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = ("catalog", "wallets", "orders", "integrations", "webhooks")


def _domain_modules() -> list[Path]:
    paths = [ROOT / app / name for app in APPS for name in ("services.py", "selectors.py")]
    paths += [path for path in (ROOT / "nuvlyx" / "core").rglob("*.py") if "tests" not in path.parts]
    return [path for path in paths if path.exists()]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_services_selectors_and_core_never_import_the_api_layer():
    modules = _domain_modules()
    assert len(modules) >= 20  # the scan found the tree
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in _imports(path) if name.startswith("nuvlyx.api"))
        for path in modules
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_refusals_are_domain_errors():
    from integrations.services import TokenError
    from nuvlyx.core.errors import DomainError
    from webhooks.services import WebhookError

    conflict = WebhookError("Webhook endpoint is inactive")
    invalid = WebhookError("bad", field="events")
    assert isinstance(conflict, DomainError) and (conflict.status_code, conflict.code) == (409, "conflict")
    assert (invalid.status_code, invalid.code, invalid.errors) == (
        422,
        "validation_error",
        [{"field": "events", "message": "bad"}],
    )
    assert invalid.message == "Validation failed: events: bad" and invalid.detail == "bad"
    token = TokenError("at least one scope is required")
    assert isinstance(token, DomainError) and token.status_code == 422 and str(token) == token.detail
