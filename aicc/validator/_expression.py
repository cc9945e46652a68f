"""Logic expressions of the ``.pre`` and ``.cmp`` files: parse one and report its problems."""

from __future__ import annotations

import html
import re

from aicc import logic
from aicc._table import Row
from aicc.errors import LogicStatusError
from aicc.errors import LogicSyntaxError
from aicc.reader import ParsedTable
from aicc.validator._context import Context
from aicc.validator._util import walk

__all__ = ["parse_expression"]

_ESCAPE = re.compile(r"&(?:amp|lt|gt|quot|apos|#[0-9]+);", re.IGNORECASE)


def parse_expression(
    ctx: Context,
    text: str,
    parsed: ParsedTable,
    row: Row,
    column_name: str,
    rules: tuple[str, str],
) -> logic.Expr | None:
    """Parse a logic expression; report escapes, syntax, mixing and set counts.

    Args:
        rules: The rule of a syntax error and the rule of a bad status value.

    Returns:
        The expression, or None when it does not parse (reported).
    """
    line, column = ctx.at(parsed, row, column_name)
    index = parsed.columns.get(column_name.casefold())
    offset = 1 if index is not None and index < len(row.values) and row.is_quoted(index) else 0
    if _ESCAPE.search(text):
        ctx.add(
            "PRE011",
            f"expression {text[:60]!r} contains escapes such as &amp;",
            parsed.path,
            line,
            column,
        )
        text = html.unescape(text)
    at = None if column is None else column + offset
    try:
        expr = logic.parse(text)
        mixed = logic.find_mixed_and_or(text) if "&" in text and "|" in text else None
    except (LogicStatusError, LogicSyntaxError) as exc:
        rule = rules[1] if isinstance(exc, LogicStatusError) else rules[0]
        where = None if at is None else at + exc.position
        ctx.add(rule, f"{exc.message} in {text[:60]!r}", parsed.path, line, where)
        return None
    except (ValueError, RecursionError) as exc:
        # The parser raises only LogicSyntaxError by contract; anything else it lets
        # through (e.g. int() of a non-ASCII digit) still means "does not parse".
        ctx.add(rules[0], f"{exc} in {text[:60]!r}"[:200], parsed.path, line, column)
        return None
    if mixed is not None:
        ctx.add(
            "PRE008",
            f"& and | mixed without parentheses in {text[:60]!r}",
            parsed.path,
            line,
            None if at is None else at + mixed,
        )
    _set_counts(ctx, expr, parsed.path, line, column)
    return expr


def _set_counts(ctx: Context, expr: logic.Expr, path: str, line: int, column: int | None) -> None:
    """PRE010: the count of each set expression is between 1 and its number of members."""
    for node in walk(expr):
        if isinstance(node, logic.SetExpr) and not 1 <= node.count <= len(node.members):
            ctx.add(
                "PRE010",
                f"set count {node.count} in {str(node)!r} is not between 1 and {len(node.members)}",
                path,
                line,
                column,
            )
