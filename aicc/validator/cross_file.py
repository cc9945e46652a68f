"""Checks across files: objective totals, the declared Level, ID spelling (run last)."""

from __future__ import annotations

from aicc.model import OPTIONAL_EXTENSIONS
from aicc.validator._context import Context
from aicc.validator._registry import check

_LEVEL_RANK = {"1": 1, "2": 2, "3": 3, "3a": 3, "3b": 4, "4": 5}
_LEVEL_NAMES = {1: "1", 2: "2", 3: "3a", 4: "3b", 5: "4"}


@check("course", "ORT005")
def objective_totals(ctx: Context) -> None:
    """ORT005: Total_Objectives / Total_Complex_Obj against the objectives found."""
    if ctx.objectives_unknowable:
        return
    course = ctx.course
    objectives = len(ctx.objective_keys)
    if course.total_objectives is not None and course.total_objectives != objectives:
        ctx.add_crs_total(
            "Total_Objectives", course.total_objectives, objectives, "ORT005", "objectives"
        )
    complex_count = len(ctx.complex_objectives)
    if course.total_complex_obj is not None and course.total_complex_obj != complex_count:
        keyword = "Total_Complex_Obj"
        if ctx.crs_position(keyword) == (None, None):
            keyword = "Total_Complex_Objectives"
        ctx.add_crs_total(
            keyword, course.total_complex_obj, complex_count, "ORT005", "complex objectives"
        )


def _needed_level(ctx: Context) -> tuple[int, list[str]]:
    """The level the features in use need, and those features."""
    course = ctx.course
    features = (
        (bool(ctx.non_root_block_keys), 2, "blocks"),
        (bool(course.prerequisites), 2, "prerequisites (.pre)"),
        (bool(course.completion_requirements), 2, "completion requirements (.cmp)"),
        (bool(course.objective_relations), 3, "objectives (.ort)"),
        (bool(ctx.complex_objectives), 4, "complex objectives (.cmp)"),
    )
    used = [(level, reason) for present, level, reason in features if present]
    return max([1, *(level for level, _ in used)]), [reason for _, reason in used]


@check("course", "LVL001", "LVL002")
def level(ctx: Context) -> None:
    """LVL001 (features above the declared Level), LVL002 (Level higher than needed)."""
    parsed = ctx.parsed
    if any(
        slot in parsed.files.files and not parsed.usable(slot)
        for slot in ("cst", *OPTIONAL_EXTENSIONS)
    ):
        return  # a file we could not read may use (or not use) higher-level features
    written = ctx.course.level.strip()
    declared = _LEVEL_RANK.get(written.casefold())
    if declared is None:
        return
    needed, reasons = _needed_level(ctx)
    if needed > declared:
        message = (
            f"Level={written} but the files use "
            + ", ".join(reasons)
            + f" (level {_LEVEL_NAMES[needed]})"
        )
        rule = "LVL001"
    elif declared > needed:
        message = f"Level={written} but the features used need only level {_LEVEL_NAMES[needed]}"
        rule = "LVL002"
    else:
        return
    ctx.add(rule, message, parsed.path("crs"), *ctx.crs_position("Level"))


@check("course", "TBL014")
def id_spelling(ctx: Context) -> None:
    """TBL014: one diagnostic per file for IDs written in another case than where defined."""
    for file, mismatches in ctx.case_mismatch.items():
        written, row, index, spelled = mismatches[0]
        more = f" ({len(mismatches)} such references in this file)" if len(mismatches) > 1 else ""
        ctx.add(
            "TBL014",
            f"{written!r} is spelled {spelled!r} where it is defined{more}",
            file,
            *ctx.where(row, index),
        )
