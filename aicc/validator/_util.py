"""Small helpers of the checks: indexes, lists, paths and graphs."""

from __future__ import annotations

from collections.abc import Iterator

from aicc import logic
from aicc._table import Row

__all__ = [
    "first_index",
    "first_per_value",
    "name_list",
    "normpath",
    "strongly_connected",
    "walk",
]


def name_list(names: list[str], separator: str, limit: int = 10) -> str:
    """Join names, cut after ``limit`` (cycles can run through thousands of elements)."""
    shown = separator.join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


def first_index(keys: list[str]) -> dict[str, int]:
    """Key -> index of its first occurrence."""
    return {key: index for index, key in reversed(list(enumerate(keys)))}


def first_per_value(
    items: list[tuple[str, Row, int | None]],
) -> list[tuple[str, Row, int | None]]:
    """The first item of each value (compared case-insensitively), in order."""
    seen: set[str] = set()
    result = []
    for item in items:
        key = item[0].casefold()
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def normpath(path: str) -> str:
    """A relative path with ``.``, ``..``, empty parts and backslashes resolved."""
    parts: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def walk(expr: logic.Expr) -> Iterator[logic.Expr]:
    """Every node of a logic expression (depth first, iterative)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, logic.Not):
            stack.append(node.operand)
        elif isinstance(node, logic.And | logic.Or):
            stack.extend(node.operands)


class _Tarjan:
    """Tarjan's algorithm, iterative (deep structures must not hit the recursion limit)."""

    def __init__(self, graph: dict[str, list[str]]) -> None:
        self.graph = graph
        self.index_of: dict[str, int] = {}
        self.low: dict[str, int] = {}
        self.on_stack: set[str] = set()
        self.stack: list[str] = []
        self.result: list[set[str]] = []

    def visit(self, node: str) -> Iterator[str]:
        self.index_of[node] = self.low[node] = len(self.index_of)
        self.stack.append(node)
        self.on_stack.add(node)
        return iter(self.graph.get(node, ()))

    def run(self, start: str) -> None:
        work: list[tuple[str, Iterator[str]]] = [(start, self.visit(start))]
        while work:
            node, successors = work[-1]
            pushed = self.advance(node, successors)
            if pushed is not None:
                work.append((pushed, self.visit(pushed)))
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                self.low[parent] = min(self.low[parent], self.low[node])
            if self.low[node] == self.index_of[node]:
                self.pop_component(node)

    def advance(self, node: str, successors: Iterator[str]) -> str | None:
        """The next unvisited successor of ``node``, updating its low link on the way."""
        for succ in successors:
            if succ not in self.index_of:
                return succ
            if succ in self.on_stack:
                self.low[node] = min(self.low[node], self.index_of[succ])
        return None

    def pop_component(self, node: str) -> None:
        component: set[str] = set()
        while True:
            member = self.stack.pop()
            self.on_stack.discard(member)
            component.add(member)
            if member == node:
                break
        self.result.append(component)


def strongly_connected(graph: dict[str, list[str]]) -> list[set[str]]:
    """The strongly connected components of a graph, in Tarjan's order."""
    tarjan = _Tarjan(graph)
    for start in graph:
        if start not in tarjan.index_of:
            tarjan.run(start)
    return tarjan.result
