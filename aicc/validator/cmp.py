"""Checks of the completion requirements file (``.cmp``)."""

from __future__ import annotations

from aicc import logic
from aicc._table import Row
from aicc.model import CompletionRequirement
from aicc.model import id_key
from aicc.validator._context import Context
from aicc.validator._expression import parse_expression
from aicc.validator._registry import check

_BOOLEAN_LIKE = frozenset({"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"})


def _records(ctx: Context) -> zip[tuple[CompletionRequirement, Row]]:
    return zip(ctx.course.completion_requirements, ctx.table("cmp").rows, strict=True)


@check("cmp", "CMP002", "CMP003", "PRE008", "PRE010", "PRE011", "TBL012")
def requirements(ctx: Context) -> None:
    """CMP002 (unknown element), CMP003 (expression does not parse or names unknown IDs)."""
    parsed = ctx.table("cmp")
    for requirement, row in _records(ctx):
        element = requirement.element
        key = id_key(element)
        if key:
            ctx.check_id_text(element, row, parsed.columns.get("structure_element"), parsed.path)
        if not key or (key in ctx.unknown_cmp_keys and ctx.ids_complete):
            ctx.add(
                "CMP002",
                f"CMP element {element.strip()!r} is not an AU, block or described objective",
                parsed.path,
                *ctx.at(parsed, row, "structure_element"),
            )
        expr = parse_expression(
            ctx, requirement.requirement, parsed, row, "requirement", ("CMP003", "CMP003")
        )
        if expr is not None:
            _references(ctx, element, expr, row)


def _references(ctx: Context, element: str, expr: logic.Expr, row: Row) -> None:
    parsed = ctx.table("cmp")
    for name in sorted(expr.references()):
        if id_key(name) not in ctx.element_keys and ctx.ids_complete:
            ctx.add(
                "CMP003",
                f"{name!r} in the requirement of {element.strip()!r} is not an AU, "
                "block or objective",
                parsed.path,
                *ctx.at(parsed, row, "requirement"),
            )


@check("cmp", "CMP004")
def results(ctx: Context) -> None:
    """CMP004: Result is a status value."""
    parsed = ctx.table("cmp")
    for requirement, row in _records(ctx):
        if logic.normalize_status(requirement.result) is None:
            ctx.add(
                "CMP004",
                f"Result {requirement.result!r} is not a status value",
                parsed.path,
                *ctx.at(parsed, row, "result"),
            )


@check("cmp", "CMP005")
def next_and_return(ctx: Context) -> None:
    """CMP005: Next names an AU or block; Return is boolean-like."""
    parsed = ctx.table("cmp")
    for requirement, row in _records(ctx):
        next_id = requirement.next.strip()
        if next_id and id_key(next_id) not in ctx.structure_keys and ctx.ids_complete:
            ctx.add(
                "CMP005",
                f"Next {next_id!r} is not an AU or a block",
                parsed.path,
                *ctx.at(parsed, row, "next"),
            )
        return_value = requirement.return_.strip()
        if return_value and return_value.casefold() not in _BOOLEAN_LIKE:
            ctx.add(
                "CMP005",
                f"Return {return_value!r} is not true/false",
                parsed.path,
                *ctx.at(parsed, row, "return"),
            )
