"""The import rule of ARCHITECTURE.md, checked on the source: who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WINGS = ("aicc", "schemas", "mock_vendor", "connector", "conformance", "console", "cckit")
#: What each package may import of ours (besides itself).
ALLOWED: dict[str, set[str]] = {
    "aicc": set(),
    "schemas": set(),
    "mock_vendor": {"aicc", "schemas"},
    "connector": {"aicc", "schemas"},
    "conformance": {"aicc", "schemas"},
    # The admin console is a face over the connector (and aicc/schemas through it).
    "console": {"connector", "aicc", "schemas"},
    # The face names the wings' CLI modules as strings and imports them lazily; its
    # compositions (the demo) may use every wing.
    "cckit": {"aicc", "schemas", "mock_vendor", "connector", "conformance"},
}
#: Third-party imports allowed in aicc (standard library otherwise), by module: the
#: hypothesis strategies (the aicc.strategies package) and the command-line face, never
#: the library itself. Keys are paths or, ending in "/", packages.
AICC_THIRD_PARTY = {"aicc/strategies/": {"hypothesis"}, "aicc/cli.py": {"click"}}


def _allowed(relative: str) -> set[str]:
    return {
        name
        for where, names in AICC_THIRD_PARTY.items()
        for name in names
        if relative == where or (where.endswith("/") and relative.startswith(where))
    }


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("wing", WINGS)
def test_wing_imports_only_what_it_may(wing: str) -> None:
    forbidden = set(WINGS) - ALLOWED[wing] - {wing}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & forbidden)
        for path in sorted((ROOT / wing).rglob("*.py"))
        if _imports(path) & forbidden
    }
    assert offenders == {}


def test_aicc_needs_only_the_standard_library() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names) | {"__future__", "aicc"}
    offenders = {}
    for path in sorted((ROOT / "aicc").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        extra = _imports(path) - stdlib - _allowed(relative)
        if extra:
            offenders[relative] = sorted(extra)
    assert offenders == {}


@pytest.mark.parametrize("face", ["cckit", "console"])
def test_nothing_imports_a_face(face: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): face
        for wing in WINGS
        if wing != face
        for path in sorted((ROOT / wing).rglob("*.py"))
        if face in _imports(path)
    }
    assert offenders == {}


def _sqlalchemy_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "sqlalchemy")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found.add(node.module or "")
    return found


def test_no_catalog_sql_in_the_console() -> None:
    """The console renders; its queries live in connector.catalog_query. It may name the
    Engine type it passes on, nothing that builds SQL."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(_sqlalchemy_modules(path) - {"sqlalchemy.engine"})
        for path in sorted((ROOT / "console").rglob("*.py"))
        if _sqlalchemy_modules(path) - {"sqlalchemy.engine"}
    }
    assert offenders == {}
