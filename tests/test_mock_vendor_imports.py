"""Inside mock_vendor, modules import each other one way: no import circles (issue 11.5).

Every import counts, also those inside functions and under ``TYPE_CHECKING``: a circle
hidden in a function is still a circle a reader has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mock_vendor"


def _graph() -> dict[str, set[str]]:
    modules = {path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for name in modules:
        tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] == "mock_vendor" and len(parts) > 1:
                    found.add(parts[1])
                elif node.module == "mock_vendor":
                    found.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "mock_vendor" and len(parts) > 1:
                        found.add(parts[1])
        graph[name] = (found & modules) - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph[node]):
            if target in path:
                cycle = path[path.index(target) :]
                if min(cycle) == cycle[0]:  # report each circle once
                    cycles.append([*cycle, target])
            else:
                visit(target, [*path, target])

    for start in sorted(graph):
        visit(start, [start])
    return cycles


def test_mock_vendor_has_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def test_the_graph_sees_imports() -> None:
    graph = _graph()
    assert {"state", "auth", "catalog", "packages", "admin", "origin"} <= graph["app"]
    assert "model" in graph["sources"]
    assert "sources" in graph["state"]
