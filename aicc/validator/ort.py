"""Checks of the objectives relationship file (``.ort``)."""

from __future__ import annotations

from aicc._table import Row
from aicc.model import id_key
from aicc.validator._context import Context
from aicc.validator._context import Finding
from aicc.validator._registry import check
from aicc.validator._util import first_per_value


@check("ort", "ORT002", "ORT003", "ORT006", "TBL012")
def relations(ctx: Context) -> None:
    """ORT002 (Course_Element unknown), ORT003 (objective ID taken), ORT006 (no leading J).

    One pass in file order: the first differently-cased ID (TBL014) is the first in the file.
    """
    parsed = ctx.table("ort")
    not_j: list[Finding] = []
    collided: set[str] = set()
    for relation, row, positions in zip(
        ctx.course.objective_relations, parsed.rows, ctx.parsed.ort_members, strict=True
    ):
        element = relation.course_element
        ctx.check_id_text(element, row, 0, parsed.path)
        if id_key(element) not in ctx.structure_keys and ctx.ids_complete:
            ctx.add(
                "ORT002",
                f"Course_Element {element.strip()!r} is not an AU or a block",
                parsed.path,
                row.line,
                row.column(0),
            )
        for member, (member_row, field_index) in zip(relation.members, positions, strict=True):
            ctx.check_id_text(member, member_row, field_index, parsed.path)
            _objective(ctx, member, member_row, field_index, collided, not_j)
    ctx.aggregate(
        "ORT006",
        first_per_value(not_j),
        parsed.path,
        "objective {!r} does not start with J",
        "objectives",
    )


def _objective(
    ctx: Context,
    member: str,
    row: Row,
    field_index: int,
    collided: set[str],
    not_j: list[Finding],
) -> None:
    key = id_key(member)
    if key in ctx.structure_keys:
        if key not in collided:
            collided.add(key)
            ctx.add(
                "ORT003",
                f"objective {member.strip()!r} has the ID of an AU or block",
                ctx.table("ort").path,
                *row.position(field_index),
            )
    elif member.strip()[:1] not in ("J", "j"):
        not_j.append((member.strip(), row, field_index))


@check("ort", "ORT004")
def max_fields(ctx: Context) -> None:
    """ORT004: Max_Fields_ORT against the widest ORT row."""
    table = ctx.table("ort").table
    width = max([len(table.header), *(len(r.values) for r in table.rows)])
    declared = ctx.course.max_fields_ort
    if declared is not None and width > declared:
        ctx.add_crs_total_text(
            "ORT004",
            "Max_Fields_ORT",
            f"the ORT has {width} columns, more than Max_Fields_ORT={declared}",
            width,
        )
