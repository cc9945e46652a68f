"""Defect injection: the registry of defects and helpers that edit canonical writer output."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from aicc.model import AssignableUnit
from aicc.model import Course
from aicc.model import Descriptor
from aicc.strategies._valid import LEVELS

Files = dict[str, bytes]
_Inject = Callable[[st.DrawFn, Course], Files]


@dataclass(frozen=True, slots=True)
class _Defect:
    rule: str
    levels: tuple[str, ...]
    inject: _Inject


_DEFECTS: list[_Defect] = []
_ALL = LEVELS
_WITH_OBJECTIVES = ("3a", "3b")
_WITH_STRUCTURE = ("2", "3a", "3b")


def _defect(rule: str, levels: tuple[str, ...] = _ALL) -> Callable[[_Inject], _Inject]:
    def register(inject: _Inject) -> _Inject:
        _DEFECTS.append(_Defect(rule, levels, inject))
        return inject

    return register


def _name(course: Course, ext: str) -> str:
    return f"{course.base_name}.{ext}"


# Generated IDs are a letter A, B or J plus at most 6 characters: these never collide.
_UNKNOWN = "Zunknown"
_EXTRA_AU = "AExtra_01"


def _add_au(course: Course, system_id: str) -> None:
    """Add a valid AU (record, DES, root member) under ``system_id``."""
    course.aus.append(AssignableUnit(system_id, file_name=f"{system_id}.html"))
    course.descriptors.append(Descriptor(system_id, title=f"Title of {system_id}"))
    root = course.root
    assert root is not None  # generated courses always have one
    root.members.append(system_id)


def _two_aus(course: Course) -> tuple[str, str]:
    if len(course.aus) < 2:
        _add_au(course, _EXTRA_AU)
    return course.aus[0].system_id, course.aus[1].system_id


# -- text-level helpers on canonical writer output


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8").split("\r\n")[:-1]


def _join(lines: Iterable[str]) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


def _set_keyword(files: Files, course: Course, keyword: str, value: str | None) -> Files:
    """Replace (``None``: remove) a CRS keyword line of canonical writer output."""
    name = _name(course, "crs")
    lines = _lines(files[name])
    prefix = keyword.casefold() + "="
    index = next(i for i, line in enumerate(lines) if line.casefold().startswith(prefix))
    if value is None:
        del lines[index]
    else:
        lines[index] = f"{keyword}={value}"
    files[name] = _join(lines)
    return files


def _rows(data: bytes) -> list[list[str]]:
    return [
        [v.replace('""', '"') for v in re.findall(r'"((?:[^"]|"")*)"', line)]
        for line in _lines(data)
    ]


def _table(rows: Iterable[Sequence[str]]) -> bytes:
    return _join(",".join('"' + v.replace('"', '""') + '"' for v in row) for row in rows)


def _column_index(rows: list[list[str]], column: str) -> int:
    return [h.casefold() for h in rows[0]].index(column.casefold())
