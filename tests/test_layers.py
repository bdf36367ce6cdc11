"""Imports point one way: core ← api ← catalog ← wallets ← orders ← {webhooks, integrations}.

Every import of every module of the app packages (tests and migrations aside), at module level or
inside a function, read with ast: a package may import the layers below it, never its own layer's
other packages nor a layer above. Webhooks and integrations sit on top as peers: they consume events
(nuvlyx.core.events) and import neither each other nor anything above them.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "nuvlyx.core": 0,
    "nuvlyx.api": 1,
    "catalog": 2,
    "wallets": 3,
    "orders": 4,
    "webhooks": 5,
    "integrations": 5,
}


def _package(module: str) -> str | None:
    for name in sorted(LAYERS, key=len, reverse=True):
        if module == name or module.startswith(name + "."):
            return name
    return None


def _imported(path: Path, module: str):
    """(line, absolute module name) of every import in the file; relative ones resolved."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                is_package = path.name == "__init__.py"
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # `from nuvlyx import api` names a package too
                yield node.lineno, f"{target}.{alias.name}"


def _modules():
    for package in LAYERS:
        for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            yield path, ".".join(parts), package


def violations() -> list[str]:
    found = []
    for path, module, package in _modules():
        for line, target in _imported(path, module):
            other = _package(target)
            if other is not None and other != package and LAYERS[other] >= LAYERS[package]:
                found.append(f"{path.relative_to(ROOT)}:{line}: {package} imports {target}")
    return sorted(set(found))


def test_imports_point_down_the_layers():
    assert violations() == []


def test_the_check_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    """The test can fail: a lazy import upward (the old way around a cycle) is caught."""
    fake = tmp_path / "catalog"
    fake.mkdir()
    (fake / "sneaky.py").write_text("def f():\n    from wallets.selectors import customer_get\n")
    (fake / "api").mkdir()
    (fake / "api" / "views.py").write_text("from ..selectors import x\nfrom orders import services\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert violations() == [
        "catalog/api/views.py:2: catalog imports orders",
        "catalog/api/views.py:2: catalog imports orders.services",
        "catalog/sneaky.py:2: catalog imports wallets.selectors",
        "catalog/sneaky.py:2: catalog imports wallets.selectors.customer_get",
    ]
