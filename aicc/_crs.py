"""Reading the course description file (``.crs``) into the model.

The INI syntax is :mod:`aicc._ini`'s; this module knows the groups and keywords of
CMI001, their aliases, and which keywords are counts.
"""

from __future__ import annotations

import difflib
import re

from aicc._ini import IniEntry
from aicc._ini import IniFile
from aicc._ini import IniGroup
from aicc._ini import normalise_name
from aicc.diagnostics import Diagnostic
from aicc.model import BEHAVIOR_KEYWORDS
from aicc.model import COURSE_KEYWORDS
from aicc.model import Course
from aicc.rules import diag

#: Normalised names of the CRS groups, with accepted alias spellings.
GROUP_COURSE = "course"
GROUP_BEHAVIOR = "course_behavior"
GROUP_DESCRIPTION = "course_description"
GROUP_ALIASES: dict[str, str] = {"course behavior": GROUP_BEHAVIOR}
#: Keyword aliases (normalised) -> canonical keyword.
KEYWORD_ALIASES: dict[str, str] = {"total_complex_objectives": "Total_Complex_Obj"}
#: CRS integer keywords (model attribute names).
INTEGER_ATTRIBUTES = frozenset(
    {
        "max_fields_cst",
        "max_fields_ort",
        "total_aus",
        "total_blocks",
        "total_objectives",
        "total_complex_obj",
        "max_normal",
    }
)
# At most 18 digits: larger counts are nonsense, and int() refuses very long digit strings.
DIGITS = re.compile(r"[0-9]{1,18}")


_COURSE_ATTRS: dict[str, str] = {name.casefold(): attr for name, attr in COURSE_KEYWORDS}
_BEHAVIOR_ATTRS: dict[str, str] = {name.casefold(): attr for name, attr in BEHAVIOR_KEYWORDS}


def fill_crs(course: Course, ini: IniFile, path: str, out: list[Diagnostic]) -> None:
    """Put the .crs keywords into the model (CRS010, CRS011, CRS014 on the way)."""
    for group in ini.groups:
        if group.key == GROUP_DESCRIPTION:
            if course.description == "" and group is ini.group(GROUP_DESCRIPTION):
                course.description = group.raw_text()
            continue
        attrs = _group_attrs(group, path, out)
        # Only the first group of a name counts (CRS012 is reported by the INI reader).
        if attrs is not None and ini.group(group.name) is group:
            _fill_group(course, group, attrs, path, out)


def _group_attrs(group: IniGroup, path: str, out: list[Diagnostic]) -> dict[str, str] | None:
    """Keyword -> model attribute of a known group (CRS011 for an unknown one)."""
    canonical = GROUP_ALIASES.get(group.key, group.key)
    if canonical == GROUP_COURSE:
        return _COURSE_ATTRS
    if canonical == GROUP_BEHAVIOR:
        return _BEHAVIOR_ATTRS
    out.append(
        diag(
            "CRS011",
            f"unknown group [{group.name}]",
            path,
            group.line,
            None,
            hint=suggest(group.name, ["Course", "Course_Behavior", "Course_Description"], "Use"),
        )
    )
    return None


def _fill_group(
    course: Course, group: IniGroup, attrs: dict[str, str], path: str, out: list[Diagnostic]
) -> None:
    if GROUP_ALIASES.get(group.key, group.key) != group.key:
        out.append(
            diag(
                "CRS014",
                f"group [{group.name}] is an alias of [Course_Behavior]",
                path,
                group.line,
                None,
                hint="Write [Course_Behavior].",
            )
        )
    seen: set[str] = set()
    for entry in group.entries:
        name = _keyword(entry, group, attrs, path, out)
        if name is None or name in seen:
            continue
        seen.add(name)
        attr = attrs[name]
        if attr in INTEGER_ATTRIBUTES:
            setattr(course, attr, int(entry.value) if DIGITS.fullmatch(entry.value) else None)
        else:
            setattr(course, attr, entry.value)


def _keyword(
    entry: IniEntry, group: IniGroup, attrs: dict[str, str], path: str, out: list[Diagnostic]
) -> str | None:
    """The canonical key of an entry's keyword (CRS014 for an alias), or None (CRS010)."""
    name = normalise_name(entry.key)
    alias_of = KEYWORD_ALIASES.get(name)
    if alias_of is not None and alias_of.casefold() in attrs:
        out.append(
            diag(
                "CRS014",
                f"keyword {entry.key} is an alias of {alias_of}",
                path,
                entry.line,
                entry.key_column,
                hint=f"Write {alias_of}.",
            )
        )
        name = alias_of.casefold()
    if name in attrs:
        return name
    known = [k for k, _ in (COURSE_KEYWORDS if attrs is _COURSE_ATTRS else BEHAVIOR_KEYWORDS)]
    out.append(
        diag(
            "CRS010",
            f"unknown keyword {entry.key} in [{group.name}]",
            path,
            entry.line,
            entry.key_column,
            hint=suggest(entry.key, known, "Did you mean"),
        )
    )
    return None


def suggest(value: str, known: list[str], lead: str) -> str | None:
    """``"<lead> <closest known name>?"``, or None when no name is close."""
    matches = difflib.get_close_matches(value.casefold(), [k.casefold() for k in known], 1, 0.75)
    if not matches:
        return None
    spelled = next(k for k in known if k.casefold() == matches[0])
    return f"{lead} {spelled}?"
