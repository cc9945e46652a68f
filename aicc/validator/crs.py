"""Checks of the course description file (``.crs``): groups, keywords and their values."""

from __future__ import annotations

import re

from aicc._crs import DIGITS
from aicc._ini import IniEntry
from aicc._ini import IniFile
from aicc._ini import IniGroup
from aicc.model import KNOWN_LEVELS
from aicc.model import REQUIRED_BEHAVIOR_KEYWORDS
from aicc.model import REQUIRED_COURSE_KEYWORDS
from aicc.reader import GROUP_BEHAVIOR
from aicc.reader import GROUP_COURSE
from aicc.reader import GROUP_DESCRIPTION
from aicc.validator._context import Context
from aicc.validator._registry import check

_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_KNOWN_VERSIONS = frozenset({"1.0", "3.0", "3.01", "3.4", "3.5", "4.0"})
_INTEGER_KEYWORDS = (
    "Max_Fields_CST",
    "Max_Fields_ORT",
    "Total_AUs",
    "Total_Blocks",
    "Total_Objectives",
    "Total_Complex_Obj",
    "Total_Complex_Objectives",
    "Max_Normal",
)
_INTEGER_KEYS = {keyword.casefold(): keyword for keyword in _INTEGER_KEYWORDS}
_LENGTH_LIMITED = ("Course_Creator", "Course_System", "Course_Title")


def _ini(ctx: Context) -> IniFile:
    ini = ctx.parsed.crs
    assert ini is not None  # the runner calls the .crs checks only when it was read
    return ini


def _course_group(ctx: Context) -> IniGroup | None:
    return _ini(ctx).group(GROUP_COURSE)


def _behavior_group(ctx: Context) -> IniGroup | None:
    return _ini(ctx).group(GROUP_BEHAVIOR, "course behavior")


@check("crs", "CRS001", "CRS002", "CRS003")
def groups_present(ctx: Context) -> None:
    """CRS001-CRS003: the three groups of a .crs."""
    ini, path = _ini(ctx), ctx.parsed.path("crs")
    if _course_group(ctx) is None:
        ctx.add("CRS001", "[Course] group missing", path)
    if _behavior_group(ctx) is None:
        ctx.add("CRS002", "[Course_Behavior] group missing", path)
    if ini.group(GROUP_DESCRIPTION) is None:
        ctx.add("CRS003", "[Course_Description] group missing", path)


@check("crs", "CRS017")
def first_group(ctx: Context) -> None:
    """CRS017: the file starts with the [Course] group."""
    ini, path = _ini(ctx), ctx.parsed.path("crs")
    if ini.leading_text_line is not None:
        ctx.add("CRS017", "text before the first group", path, ini.leading_text_line, 1)
    elif ini.groups and ini.groups[0].key != GROUP_COURSE and _course_group(ctx) is not None:
        ctx.add(
            "CRS017",
            f"the first group is [{ini.groups[0].name}], not [Course]",
            path,
            ini.groups[0].line,
            1,
        )


def _required_groups(ctx: Context) -> list[tuple[IniGroup, tuple[str, ...]]]:
    pairs = (
        (_course_group(ctx), REQUIRED_COURSE_KEYWORDS),
        (_behavior_group(ctx), REQUIRED_BEHAVIOR_KEYWORDS),
    )
    return [(group, required) for group, required in pairs if group is not None]


@check("crs", "CRS004", "CRS005")
def required_keywords(ctx: Context) -> None:
    """CRS004 (missing) and CRS005 (empty): the required keywords of each group."""
    path = ctx.parsed.path("crs")
    for group, required in _required_groups(ctx):
        for keyword in required:
            entry = group.get(keyword)
            if entry is None:
                ctx.add(
                    "CRS004",
                    f"required keyword {keyword} missing in [{group.name}]",
                    path,
                    group.line,
                    None,
                    hint=f"Add {keyword}=... to [{group.name}].",
                )
            elif not entry.value:
                ctx.add(
                    "CRS005", f"{keyword} has an empty value", path, entry.line, entry.value_column
                )


@check("crs", "CRS006", "CRS007")
def integer_keywords(ctx: Context) -> None:
    """CRS006: counts are unsigned integers; CRS007: Max_Normal is 1-99."""
    path = ctx.parsed.path("crs")
    for group, _ in _required_groups(ctx):
        for entry in group.entries:
            canonical = _INTEGER_KEYS.get(entry.key.casefold())
            if canonical is not None and entry.value:
                _integer_value(ctx, entry, canonical, path)


def _integer_value(ctx: Context, entry: IniEntry, canonical: str, path: str) -> None:
    if not DIGITS.fullmatch(entry.value):
        ctx.add(
            "CRS006",
            f"{entry.key}={entry.value[:40]!r} is not an unsigned integer (of at most 18 digits)",
            path,
            entry.line,
            entry.value_column,
        )
    elif canonical == "Max_Normal" and not 1 <= int(entry.value) <= 99:
        ctx.add(
            "CRS007",
            f"Max_Normal={entry.value} is outside 1-99",
            path,
            entry.line,
            entry.value_column,
        )


def _course_entry(ctx: Context, keyword: str) -> IniEntry | None:
    group = _course_group(ctx)
    return None if group is None else group.get(keyword)


@check("crs", "CRS008")
def level_value(ctx: Context) -> None:
    """CRS008: Level is one of the known levels."""
    level = _course_entry(ctx, "Level")
    if level is not None and level.value and level.value.casefold() not in KNOWN_LEVELS:
        ctx.add(
            "CRS008",
            f"Level={level.value!r} is not one of 1, 2, 3, 3a, 3b, 4",
            ctx.parsed.path("crs"),
            level.line,
            level.value_column,
        )


def _version_problem(value: str) -> str | None:
    if not _VERSION.fullmatch(value):
        return f"Version={value!r} is not a version number"
    if value == "1.0":
        return "Version=1.0 is probably the course revision, not a CMI001 version"
    if value not in _KNOWN_VERSIONS and not re.fullmatch(r"2\.[0-9]+", value):
        return f"Version={value} is not a known CMI001 version (2.x, 3.0-3.5, 4.0)"
    return None


@check("crs", "CRS009")
def version_value(ctx: Context) -> None:
    """CRS009: Version is a known CMI001 version."""
    version = _course_entry(ctx, "Version")
    if version is None or not version.value:
        return
    problem = _version_problem(version.value)
    if problem is not None:
        ctx.add("CRS009", problem, ctx.parsed.path("crs"), version.line, version.value_column)


@check("crs", "CRS018")
def course_id_value(ctx: Context) -> None:
    """CRS018: Course_ID has no white space and at most 255 characters."""
    course_id = _course_entry(ctx, "Course_ID")
    if course_id is None or not course_id.value:
        return
    value = course_id.value
    if any(c.isspace() for c in value) or len(value) > 255:
        ctx.add(
            "CRS018",
            f"Course_ID {value[:40]!r} contains white space or is longer than 255",
            ctx.parsed.path("crs"),
            course_id.line,
            course_id.value_column,
        )


@check("crs", "CRS019")
def text_lengths(ctx: Context) -> None:
    """CRS019: creator, system and title have at most 255 characters."""
    for keyword in _LENGTH_LIMITED:
        entry = _course_entry(ctx, keyword)
        if entry is not None and len(entry.value) > 255:
            ctx.add(
                "CRS019",
                f"{keyword} has {len(entry.value)} characters (limit 255)",
                ctx.parsed.path("crs"),
                entry.line,
                entry.value_column,
            )


@check("crs", "CRS015", "CRS016", "CRS022")
def description(ctx: Context) -> None:
    """CRS016 (empty), CRS015 (too long), CRS022 (keyword-like lines): the description."""
    group = _ini(ctx).group(GROUP_DESCRIPTION)
    if group is None:
        return
    path, text = ctx.parsed.path("crs"), ctx.course.description
    if not text.strip():
        ctx.add("CRS016", "the course description is empty", path, group.line)
    if len(text) > 4096:
        ctx.add(
            "CRS015",
            f"the description has {len(text)} characters (limit 4096)",
            path,
            group.line,
        )
    for offset, line in enumerate(group.raw_lines):
        if "=" in line or line.lstrip().startswith("["):
            ctx.add(
                "CRS022",
                f"description line {line.strip()[:40]!r} contains '=' or looks like a group header",
                path,
                group.line + 1 + offset,
                None,
            )
            break


@check("crs", "CRS020", "CRS021")
def objective_keywords(ctx: Context) -> None:
    """CRS020/CRS021: the keywords an .ort or complex objectives in the .cmp require."""
    group = _course_group(ctx)
    if group is None:
        return
    path = ctx.parsed.path("crs")
    if "ort" in ctx.parsed.files.files:
        max_fields_ort = group.get("Max_Fields_ORT")
        if max_fields_ort is None or not max_fields_ort.value:
            ctx.add(
                "CRS020",
                "an .ort file is present but Max_Fields_ORT is missing or empty",
                path,
                group.line,
            )
        if group.get("Total_Objectives") is None:
            ctx.add(
                "CRS021",
                "an .ort file is present but Total_Objectives is missing",
                path,
                group.line,
            )
    if (
        ctx.complex_objectives
        and group.get("Total_Complex_Obj") is None
        and group.get("Total_Complex_Objectives") is None
    ):
        ctx.add(
            "CRS021",
            "the .cmp file sets objectives but Total_Complex_Obj is missing",
            path,
            group.line,
        )
