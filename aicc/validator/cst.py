"""Checks of the course structure table (``.cst``): root, blocks, members, the block graph."""

from __future__ import annotations

from aicc._table import Row
from aicc.diagnostics import Severity
from aicc.model import Block
from aicc.model import id_key
from aicc.validator._context import Context
from aicc.validator._registry import check
from aicc.validator._util import name_list
from aicc.validator._util import strongly_connected


@check("cst", "CST002")
def has_root(ctx: Context) -> None:
    """CST002: the CST has a root record."""
    parsed = ctx.table("cst")
    if ctx.block_keys.get("root") is None:
        header = parsed.table.header_row
        ctx.add(
            "CST002", "the CST has no root record", parsed.path, header.line if header else None
        )


@check("cst", "CST003", "CST006", "CST009", "CST013", "CST015", "TBL012")
def blocks(ctx: Context) -> None:
    """CST003 (empty), CST015 (root spelling), CST006, CST013, CST009: each block record."""
    path = ctx.table("cst").path
    for block, rows in zip(ctx.course.blocks, ctx.parsed.cst_block_rows, strict=True):
        first = rows[0]
        ctx.check_id_text(block.system_id, first, 0, path)
        if not id_key(block.system_id):
            ctx.add("CST003", "CST record with an empty Block", path, first.line, first.column(0))
            continue
        _block(ctx, block, rows, path)


def _block(ctx: Context, block: Block, rows: list[Row], path: str) -> None:
    key, shown, first = id_key(block.system_id), block.system_id.strip(), rows[0]
    where = (path, first.line, first.column(0))
    if key == "root" and shown != "root":
        ctx.add("CST015", f"root is written {shown!r}", *where)
    if key in ctx.au_keys:
        ctx.add("CST006", f"AU {shown!r} is used as a block", *where)
    if len(rows) > 1:
        ctx.add(
            "CST013",
            f"block {shown!r} is split over {len(rows)} records "
            "(members were joined in file order)",
            path,
            rows[1].line,
            rows[1].column(0),
        )
    if not block.members and key not in ctx.au_keys:
        ctx.add("CST009", f"block {shown!r} has no members", *where)


@check("cst", "CST003", "CST004", "CST014", "TBL012")
def members(ctx: Context) -> None:
    """CST014 (root or objective as member), CST003 (unknown), CST004 (placed twice)."""
    path = ctx.table("cst").path
    parents: dict[str, tuple[str, int]] = {}
    for block, positions in zip(ctx.course.blocks, ctx.parsed.cst_members, strict=True):
        for member, (row, field_index) in zip(block.members, positions, strict=True):
            ctx.check_id_text(member, row, field_index, path)
            _member(ctx, block, member, row.position(field_index), parents, path)


def _member(
    ctx: Context,
    block: Block,
    member: str,
    position: tuple[int, int | None],
    parents: dict[str, tuple[str, int]],
    path: str,
) -> None:
    key, shown, owner = id_key(member), member.strip(), block.system_id.strip()
    line, column = position
    if key == "root":
        ctx.add("CST014", f"root is used as a member of {owner!r}", path, line, column)
    elif key not in ctx.au_keys and key not in ctx.block_keys:
        if not ctx.parsed.usable("au"):
            return  # the AUs are unknown (no usable .au): nothing to judge
        if key in ctx.ort_objective_keys:
            ctx.add(
                "CST014", f"objective {shown!r} is used in the course structure", path, line, column
            )
        else:
            ctx.add(
                "CST003",
                f"member {shown!r} of {owner!r} is not an AU or a block with a CST record",
                path,
                line,
                column,
            )
    elif key in parents:
        parent, first_line = parents[key]
        where = (
            "again in the same block"
            if parent == id_key(block.system_id)
            else f"also a member of {ctx.display_block(parent)!r}"
        )
        ctx.add("CST004", f"{shown!r} is {where} (first at line {first_line})", path, line, column)
    else:
        parents[key] = (id_key(block.system_id), line)


def _children(ctx: Context) -> dict[str, list[str]]:
    """Block key -> keys of its members that are blocks (the block graph)."""
    children: dict[str, list[str]] = {}
    for block in ctx.course.blocks:
        key = id_key(block.system_id)
        member_keys = [m.strip().casefold() for m in block.members]
        # root as a member is CST014; keeping it out avoids a second, derived cycle.
        children.setdefault(key, []).extend(
            k for k in member_keys if k in ctx.block_keys and k != "root"
        )
    return children


@check("cst", "CST005", "CST007")
def block_graph(ctx: Context) -> None:
    """CST005 (cycles) and CST007 (blocks not reachable from root)."""
    children = _children(ctx)
    in_cycle = _report_cycles(ctx, children)
    if ctx.block_keys.get("root") is not None:
        _report_unreachable(ctx, children, in_cycle)


def _report_cycles(ctx: Context, graph: dict[str, list[str]]) -> set[str]:
    """Report each cycle (strongly connected part) once; return the keys in cycles."""
    in_cycle: set[str] = set()
    for component in strongly_connected(graph):
        if len(component) == 1:
            only = next(iter(component))
            if only not in graph.get(only, ()):
                continue
        in_cycle |= component
        names = [ctx.display(k) for k in sorted(component)]
        first = min(component, key=lambda k: ctx.block_keys.get(k, 0))
        index = ctx.block_keys.get(first)
        row = ctx.parsed.cst_block_rows[index][0] if index is not None else None
        ctx.add(
            "CST005",
            "cycle in the course structure: " + name_list(names, " -> "),
            ctx.table("cst").path,
            row.line if row else None,
            row.column(0) if row else None,
        )
    return in_cycle


def _reachable(children: dict[str, list[str]]) -> set[str]:
    reachable: set[str] = set()
    stack = ["root"]
    while stack:
        key = stack.pop()
        if key in reachable:
            continue
        reachable.add(key)
        stack.extend(children.get(key, ()))
    return reachable


def _report_unreachable(ctx: Context, children: dict[str, list[str]], in_cycle: set[str]) -> None:
    reachable = _reachable(children)
    course = ctx.course
    for block, rows in zip(course.blocks, ctx.parsed.cst_block_rows, strict=True):
        key = id_key(block.system_id)
        if not key or key in reachable or key in in_cycle or key in ctx.au_keys:
            continue
        index = ctx.block_keys.get(key)
        if index is not None and course.blocks[index] is block:
            ctx.add(
                "CST007",
                f"block {block.system_id.strip()!r} is not reachable from root",
                ctx.table("cst").path,
                rows[0].line,
                rows[0].column(0),
            )


@check("cst", "CST008")
def aus_placed(ctx: Context) -> None:
    """CST008: every AU is a member of a block."""
    au_parsed = ctx.parsed.tables.get("au")
    if au_parsed is None or not au_parsed.usable:
        return
    placed = {
        key
        for block in ctx.course.blocks
        for key in (id_key(m) for m in block.members)
        if key != "root" and (key in ctx.au_keys or key in ctx.block_keys)
    }
    for index, key in enumerate(ctx.au_key_list):
        if key and key not in placed and ctx.au_keys[key] == index:
            ctx.add(
                "CST008",
                f"AU {ctx.course.aus[index].system_id.strip()!r} is not placed in the course "
                "structure",
                au_parsed.path,
                *ctx.at(au_parsed, au_parsed.rows[index], "system_id"),
            )


@check("cst", "CST010", "CST011")
def max_fields(ctx: Context) -> None:
    """CST010/CST011: Max_Fields_CST against the widest CST row."""
    table = ctx.table("cst").table
    width = len(table.header)
    declared = ctx.course.max_fields_cst
    if declared is None:
        return
    widest = max([width, *(len(r.values) for r in table.rows)])
    if widest > declared:
        ctx.add_crs_total_text(
            "CST010",
            "Max_Fields_CST",
            f"the CST has {widest} columns, more than Max_Fields_CST={declared}",
            widest,
        )
    elif declared > width:
        ctx.add_crs_total_text(
            "CST011",
            "Max_Fields_CST",
            f"Max_Fields_CST={declared} but the CST has {width} columns",
            width,
        )


@check("cst", "CST012")
def total_blocks(ctx: Context) -> None:
    """CST012: Total_Blocks counts the blocks other than root."""
    # An AU written in the Block column is CST006, not a block to count.
    blocks = len(ctx.non_root_block_keys - set(ctx.au_keys))
    declared = ctx.course.total_blocks
    if declared is not None and declared != blocks:
        severity = Severity.WARNING if declared == blocks + 1 else None
        noun = "blocks other than root" + (" (root counted?)" if severity else "")
        ctx.add_crs_total("Total_Blocks", declared, blocks, "CST012", noun, severity=severity)
