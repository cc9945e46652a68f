"""Diagnostics and the report returned by :func:`aicc.read` and :func:`aicc.validate`.

A :class:`Diagnostic` names one finding: the rule it breaks (an ID from
:mod:`aicc.rules`), how bad it is, where it is (file, line, column) and what to do about
it. A :class:`Report` bundles the courses that were read with every diagnostic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from aicc.model import Course

__all__ = ["Diagnostic", "Report", "Severity"]


class Severity(StrEnum):
    """How serious a diagnostic is; the value is the lower-case word used in output."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for errors, 1 for warnings, 2 for infos (sort key: worst first)."""
        return _RANK[self]


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding of the reader or the validator.

    Attributes:
        rule: Rule ID from :mod:`aicc.rules`, e.g. ``"CST002"``.
        severity: Error, warning or info (after any ``strict`` promotion).
        message: What is wrong, naming the offending value.
        file: File name inside the source (``"course.au"``), or ``None`` for the package.
        line: 1-based line number, when meaningful.
        column: 1-based column number, when meaningful.
        hint: How to fix it, or ``None``.
    """

    rule: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None

    def location(self) -> str:
        """``file:line:col`` with the parts that are known (``<package>`` without a file)."""
        where = self.file if self.file is not None else "<package>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def format(self, *, with_hint: bool = False) -> str:
        """One line, ``file:line:col: severity RULE message`` (plus the hint on request)."""
        text = f"{self.location()}: {self.severity.value} {self.rule} {self.message}"
        if with_hint and self.hint:
            text += f" (hint: {self.hint})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping: rule, severity, file, line, column, message, hint."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
        }

    def sort_key(self) -> tuple[str, int, int, int, str]:
        """Order by file, line, column, then worst severity first, then rule."""
        return (
            self.file or "",
            self.line or 0,
            self.column or 0,
            self.severity.rank,
            self.rule,
        )


@dataclass(slots=True)
class Report:
    """What :func:`aicc.read` / :func:`aicc.validate` found.

    Attributes:
        courses: One course per course file set found (may be empty).
        diagnostics: Every finding, in file/line order.
    """

    courses: list[Course] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when no diagnostic is an error."""
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics with severity error."""
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        """The diagnostics with severity warning."""
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    @property
    def infos(self) -> list[Diagnostic]:
        """The diagnostics with severity info."""
        return [d for d in self.diagnostics if d.severity is Severity.INFO]

    def by_rule(self) -> dict[str, list[Diagnostic]]:
        """Diagnostics grouped by rule ID (rules in order of first appearance)."""
        grouped: dict[str, list[Diagnostic]] = {}
        for diagnostic in self.diagnostics:
            grouped.setdefault(diagnostic.rule, []).append(diagnostic)
        return grouped

    def rules(self, severity: Severity | None = None) -> set[str]:
        """The set of rule IDs reported (optionally only those of one severity)."""
        return {d.rule for d in self.diagnostics if severity is None or d.severity is severity}

    def summary(self) -> str:
        """``"N error(s), N warning(s), N info(s)"``."""
        return (
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s), "
            f"{len(self.infos)} info(s)"
        )

    def to_dict(self, path: str | None = None) -> dict[str, Any]:
        """JSON-ready mapping in the shape of ``cckit aicc validate --format json``.

        Args:
            path: The PATH argument this report is for (``None`` leaves it ``None``).

        Returns:
            ``{"path", "valid", "courses": [...], "diagnostics": [...]}``.
        """
        return {
            "path": path,
            "valid": self.valid,
            "courses": [_course_summary(course) for course in self.courses],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        """Append diagnostics."""
        self.diagnostics.extend(diagnostics)


def _course_summary(course: Course) -> dict[str, Any]:
    """The short form of a course used in JSON output."""
    return {
        "course_id": course.course_id,
        "title": course.course_title,
        "level": course.level,
        "aus": len(course.aus),
        "blocks": len(course.non_root_blocks),
        "objectives": len(course.objectives),
    }
