"""Checks of the prerequisites file (``.pre``): elements, expressions, cycles."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from aicc import logic
from aicc._table import Row
from aicc.model import Prerequisite
from aicc.model import id_key
from aicc.validator._context import Context
from aicc.validator._expression import parse_expression
from aicc.validator._registry import check
from aicc.validator._util import name_list
from aicc.validator._util import strongly_connected


@dataclass(slots=True)
class _Seen:
    """What one pass over the records collects: first lines and the prerequisite graph."""

    lines: dict[str, int] = field(default_factory=dict)
    graph: dict[str, set[str]] = field(default_factory=dict)


@check(
    "pre",
    "PRE002",
    "PRE003",
    "PRE004",
    "PRE005",
    "PRE006",
    "PRE007",
    "PRE008",
    "PRE009",
    "PRE010",
    "PRE011",
    "TBL012",
)
def prerequisites(ctx: Context) -> None:
    """Each record's element (PRE002, PRE007) and expression (PRE003-PRE005, PRE008-PRE011),
    then cycles (PRE006). One pass in file order, so the first differently-cased ID
    (TBL014) is the first in the file."""
    parsed = ctx.table("pre")
    seen = _Seen()
    for prerequisite, row in zip(ctx.course.prerequisites, parsed.rows, strict=True):
        _element(ctx, prerequisite.element, row, seen.lines)
        expr = parse_expression(
            ctx, prerequisite.expression, parsed, row, "prerequisite", ("PRE003", "PRE009")
        )
        if expr is not None:
            _references(ctx, prerequisite, expr, row, seen.graph)
    _cycles(ctx, seen)


def _element(ctx: Context, element: str, row: Row, seen: dict[str, int]) -> None:
    """PRE002 (not an AU or a block), PRE007 (a second record for it)."""
    parsed = ctx.table("pre")
    line, column = ctx.at(parsed, row, "structure_element")
    key = id_key(element)
    ctx.check_id_text(element, row, parsed.columns.get("structure_element"), parsed.path)
    if key == "root" or (
        ctx.ids_complete and key not in ctx.au_keys and key not in ctx.non_root_block_keys
    ):
        what = "root" if key == "root" else f"{element.strip()!r}"
        ctx.add(
            "PRE002",
            f"prerequisite for {what}, which is "
            + ("the top block" if key == "root" else "not an AU or a block"),
            parsed.path,
            line,
            column,
        )
    elif key in seen:
        ctx.add(
            "PRE007",
            f"second PRE record for {element.strip()!r} (first at line {seen[key]})",
            parsed.path,
            line,
            column,
        )
    else:
        seen[key] = line


def _references(
    ctx: Context,
    prerequisite: Prerequisite,
    expr: logic.Expr,
    row: Row,
    graph: dict[str, set[str]],
) -> None:
    """PRE004 (unknown reference), PRE005 (requires itself); adds the record to the graph."""
    parsed = ctx.table("pre")
    element = prerequisite.element
    key = id_key(element)
    eline, ecolumn = ctx.at(parsed, row, "prerequisite")
    references = sorted(expr.references())
    for name in references:
        ref_key = id_key(name)
        if ref_key not in ctx.element_keys and ctx.ids_complete:
            ctx.add(
                "PRE004",
                f"{name!r} in the prerequisite of {element.strip()!r} is not an AU, "
                "block or objective",
                parsed.path,
                eline,
                ecolumn,
            )
            continue
        spelled = ctx.spelling.get(ref_key)
        if spelled is not None and spelled != name:
            ctx.case_mismatch.setdefault(parsed.path, []).append(
                (name, row, parsed.columns.get("prerequisite"), spelled)
            )
    ref_keys = {id_key(n) for n in references}
    if key and key in ref_keys:
        ctx.add("PRE005", f"{element.strip()!r} requires itself", parsed.path, eline, ecolumn)
    if key:
        graph.setdefault(key, set()).update(
            k for k in ref_keys if k != key and (k in ctx.au_keys or k in ctx.block_keys)
        )


def _cycles(ctx: Context, seen: _Seen) -> None:
    """PRE006: elements that require each other, one diagnostic per cycle."""
    adjacency = {k: sorted(v) for k, v in seen.graph.items()}
    for component in strongly_connected(adjacency):
        if len(component) < 2:
            continue
        names = [ctx.display(k) for k in sorted(component)]
        first_line = min(seen.lines.get(k, 0) for k in component) or None
        ctx.add(
            "PRE006",
            "prerequisite cycle: " + name_list(names, ", ") + " require each other",
            ctx.table("pre").path,
            first_line,
            None,
        )
