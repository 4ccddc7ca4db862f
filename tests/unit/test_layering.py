"""Imports run downward: the API on top, Lago's objects below it, the pure core at the bottom.

Read from the source with ast (every import, also inside functions and TYPE_CHECKING
blocks), so an arrow that runs upward fails here rather than as an import cycle later.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

BXB = Path(__file__).resolve().parents[2] / "bxb"

# The modules that start the app may import it; nothing else outside bxb/api may.
STARTS_THE_API = {"bxb.core.stack", "bxb.core.cli"}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path) -> list[tuple[int, list[str]]]:
    """Each import statement's line and the modules it may load, relative ones resolved.

    `from bxb import api` loads bxb.api: every imported name counts as a module too.
    """
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: list[tuple[int, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, [alias.name]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, [base, *(f"{base}.{a.name}" for a in node.names)]))
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(
    root: Path,
    importers: str,
    forbidden: Callable[[str], bool],
    exempt: frozenset[str] = frozenset(),
) -> list[str]:
    """`module:line imports what` for each import by a module of the package `importers`
    (but `exempt` ones and their submodules) that loads a module `forbidden` says no to."""
    found = []
    for path in sorted(root.parent.joinpath(*importers.split(".")).rglob("*.py")):
        importer = module_name(path, root)
        if any(_within(importer, skipped) for skipped in exempt):
            continue
        for line, modules in imports(path, root):
            bad = [module for module in modules if forbidden(module)]
            if bad:
                found.append(f"{importer}:{line} imports {bad[0]}")
    return found


def api_importers(root: Path) -> list[str]:
    """Imports of bxb.api outside it and outside what starts it."""
    exempt = frozenset({"bxb.api", *STARTS_THE_API})
    return violations(root, "bxb", lambda module: _within(module, "bxb.api"), exempt)


def imports_outside(root: Path, package: str, allowed: set[str]) -> list[str]:
    """Imports of bxb modules by `package` that are not within `allowed`."""

    def forbidden(module: str) -> bool:
        inside_bxb = _within(module, "bxb") and module != "bxb"
        return inside_bxb and not any(_within(module, ok) for ok in allowed)

    return violations(root, package, forbidden)


def test_only_what_starts_the_api_imports_it() -> None:
    assert api_importers(BXB) == []


def test_lago_objects_sit_below_the_api() -> None:
    below = {"bxb.billing", "bxb.events", "bxb.lago_objects", "bxb.ledger", "bxb.models"}
    assert imports_outside(BXB, "bxb.lago_objects", below) == []


def test_the_pure_core_imports_only_itself() -> None:
    assert imports_outside(BXB, "bxb.billing", {"bxb.billing"}) == []


def test_the_checks_see_upward_imports(tmp_path: Path) -> None:
    """Each check reports the import forms it must catch (a check that cannot fail proves
    nothing)."""
    root = tmp_path / "bxb"
    for package in ("api", "billing", "core", "ledger", "lago_objects"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "ledger" / "notices.py").write_text(
        "def emit():\n    from bxb.api.invoices import invoice_object\n"
    )
    (root / "ledger" / "other.py").write_text("from bxb import api\n")
    (root / "lago_objects" / "invoices.py").write_text("import bxb.api.serialization\n")
    (root / "billing" / "charges.py").write_text("from ..models import Charge\n")
    (root / "billing" / "money.py").write_text("from . import charges\n")
    # Allowed: the API's own imports, and what starts the app.
    (root / "api" / "customers.py").write_text("from bxb.api.deps import OrgDep\n")
    (root / "core" / "stack.py").write_text("from bxb.api.app import create_app\n")

    assert api_importers(root) == [
        "bxb.lago_objects.invoices:1 imports bxb.api.serialization",
        "bxb.ledger.notices:2 imports bxb.api.invoices",
        "bxb.ledger.other:1 imports bxb.api",
    ]
    assert imports_outside(root, "bxb.billing", {"bxb.billing"}) == [
        "bxb.billing.charges:1 imports bxb.models",
    ]
    below = {"bxb.models"}
    assert imports_outside(root, "bxb.lago_objects", below) == [
        "bxb.lago_objects.invoices:1 imports bxb.api.serialization"
    ]
