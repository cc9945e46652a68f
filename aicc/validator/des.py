"""Checks of the descriptor file (``.des``): its records and that everything is described."""

from __future__ import annotations

from aicc._table import Row
from aicc.model import Descriptor
from aicc.model import id_key
from aicc.reader import ParsedTable
from aicc.validator._context import Context
from aicc.validator._registry import check


@check("des", "DES002", "DES003", "DES004", "DES005", "DES006", "TBL012")
def records(ctx: Context) -> None:
    """DES002-DES006: each descriptor record (a repeated or root record is not checked on)."""
    parsed = ctx.table("des")
    seen: dict[str, int] = {}
    id_index = parsed.columns.get("system_id")
    for index, (descriptor, row) in enumerate(
        zip(ctx.course.descriptors, parsed.rows, strict=True)
    ):
        key = ctx.des_key_list[index]
        if key:
            ctx.check_id_text(descriptor.system_id, row, id_index, parsed.path)
        if key in seen:
            ctx.add(
                "DES004",
                f"DES record for {descriptor.system_id.strip()!r} repeats line "
                f"{parsed.rows[seen[key]].line}",
                parsed.path,
                *ctx.where(row, id_index),
            )
            continue
        seen[key] = index
        _record(ctx, index, key, descriptor, row, parsed)


def _record(
    ctx: Context, index: int, key: str, descriptor: Descriptor, row: Row, parsed: ParsedTable
) -> None:
    path, id_index = parsed.path, parsed.columns.get("system_id")
    shown = descriptor.system_id.strip()
    if key == "root":
        ctx.add("DES006", "DES record for root (ignored)", path, *ctx.where(row, id_index))
        return
    if not key:
        ctx.add(
            "DES002",
            f"DES record {index + 1} has an empty System_ID",
            path,
            *ctx.where(row, id_index),
        )
        return
    if (
        key not in ctx.element_keys
        and key not in ctx.unknown_cmp_keys
        and not ctx.objectives_unknowable
        and ctx.ids_complete
    ):
        ctx.add(
            "DES002",
            f"DES record for {shown!r}, which is not an AU, block or objective",
            path,
            *ctx.where(row, id_index),
        )
    if "title" in parsed.columns and not descriptor.title.strip():
        ctx.add("DES003", f"{shown!r} has an empty Title", path, *ctx.at(parsed, row, "title"))
    if len(descriptor.title) > 255 or len(descriptor.description) > 4096:
        ctx.add(
            "DES005",
            f"Title ({len(descriptor.title)}) or Description "
            f"({len(descriptor.description)}) of {shown!r} is too long",
            path,
            *ctx.where(row, id_index),
        )


@check("des", "DES001")
def aus_described(ctx: Context) -> None:
    """DES001: every AU has a DES record."""
    au_parsed = ctx.parsed.tables.get("au")
    if au_parsed is None or not au_parsed.usable:
        return
    for index, key in enumerate(ctx.au_key_list):
        # Once per AU ID: a duplicate AU is AU002's business.
        if key and key not in ctx.des_keys and ctx.au_keys[key] == index:
            ctx.add(
                "DES001",
                f"AU {ctx.course.aus[index].system_id.strip()!r} has no DES record",
                au_parsed.path,
                *ctx.at(au_parsed, au_parsed.rows[index], "system_id"),
            )


@check("des", "DES001")
def blocks_described(ctx: Context) -> None:
    """DES001: every block (root aside) has a DES record."""
    cst = ctx.parsed.tables.get("cst")
    if cst is None or not cst.usable:
        return
    for block, rows in zip(ctx.course.blocks, ctx.parsed.cst_block_rows, strict=True):
        key = id_key(block.system_id)
        if key == "root" or not key or key in ctx.des_keys or key in ctx.au_keys:
            continue
        if ctx.block_keys.get(key) is None:
            continue
        ctx.add(
            "DES001",
            f"block {block.system_id.strip()!r} has no DES record",
            cst.path,
            rows[0].line,
            rows[0].column(0),
        )


@check("des", "DES001")
def objectives_described(ctx: Context) -> None:
    """DES001: every objective of the .ort has a DES record (reported once per objective)."""
    ort = ctx.parsed.tables.get("ort")
    if ort is None or not ort.usable:
        return
    reported: set[str] = set()
    relations = ctx.course.objective_relations
    for relation, positions in zip(relations, ctx.parsed.ort_members, strict=True):
        for member, (row, field_index) in zip(relation.members, positions, strict=True):
            key = id_key(member)
            if key in ctx.objective_keys and key not in ctx.des_keys and key not in reported:
                reported.add(key)
                ctx.add(
                    "DES001",
                    f"objective {member.strip()!r} has no DES record",
                    ort.path,
                    *row.position(field_index),
                )
