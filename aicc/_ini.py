"""A tolerant, position-keeping reader for the INI-like ``.crs`` file.

Groups (``[Name]``) and keywords are case-insensitive; ``;`` starts a comment line;
white space around ``=`` is insignificant and a value in double quotes is unquoted.
Free-text groups (``[Course_Description]``) are kept raw, line breaks included. The
reader only knows INI syntax; which groups and keywords exist is the business of
:mod:`aicc.reader` and :mod:`aicc.validator`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field

from aicc.diagnostics import Diagnostic
from aicc.rules import diag

__all__ = ["IniEntry", "IniFile", "IniGroup", "normalise_name", "parse_ini"]

_GROUP = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*$")


def normalise_name(name: str) -> str:
    """Comparison key of a group or keyword name: trimmed and case-folded."""
    return name.strip().casefold()


@dataclass(frozen=True, slots=True)
class IniEntry:
    """One ``keyword=value`` line.

    Attributes:
        key: The keyword as written (trimmed).
        value: The value, trimmed, surrounding double quotes removed.
        line: 1-based line number.
        key_column: 1-based column of the keyword.
        value_column: 1-based column of the value (after the ``=``, spaces skipped).
    """

    key: str
    value: str
    line: int
    key_column: int
    value_column: int


@dataclass(slots=True)
class IniGroup:
    """One ``[Group]`` and what follows it up to the next group header.

    Attributes:
        name: The group name as written (trimmed).
        line: 1-based line of the header.
        entries: Keyword lines (empty for free-text groups).
        raw_lines: Every line after the header, verbatim (used for free-text groups).
    """

    name: str
    line: int
    entries: list[IniEntry] = field(default_factory=list)
    raw_lines: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The normalised group name."""
        return normalise_name(self.name)

    def get(self, keyword: str) -> IniEntry | None:
        """The first entry with this keyword (case-insensitive), or None."""
        wanted = normalise_name(keyword)
        return next((e for e in self.entries if normalise_name(e.key) == wanted), None)

    def raw_text(self) -> str:
        """The raw lines joined with ``"\\n"``; trailing white-space-only lines dropped."""
        lines = list(self.raw_lines)
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines)


@dataclass(slots=True)
class IniFile:
    """A parsed ``.crs`` file: its groups in file order plus syntax diagnostics.

    Attributes:
        groups: Every group, duplicates included (the first one wins in :meth:`group`).
        leading_text_line: Line of the first non-blank, non-comment line before any group.
        diagnostics: ``CRS012`` (duplicates), ``CRS013`` (not keyword=value), ``CRS017``.
    """

    groups: list[IniGroup] = field(default_factory=list)
    leading_text_line: int | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def group(self, *names: str) -> IniGroup | None:
        """The first group whose name matches one of ``names`` (case-insensitive)."""
        wanted = {normalise_name(n) for n in names}
        return next((g for g in self.groups if g.key in wanted), None)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def parse_ini(text: str, file: str | None, raw_groups: frozenset[str]) -> IniFile:
    """Parse INI text (``"\\n"`` line ends) into groups with positions.

    Args:
        text: Decoded, line-end-normalised text.
        file: File name for diagnostics.
        raw_groups: Normalised names of free-text groups (kept verbatim, no keywords).

    Returns:
        The parsed file. Never raises.
    """
    parser = _IniParser(file, raw_groups)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line break does not start another line
    for index, line in enumerate(lines):
        parser.line(index + 1, line)
    return parser.result


class _IniParser:
    """The state of one parse: the groups so far and the names seen."""

    def __init__(self, file: str | None, raw_groups: frozenset[str]) -> None:
        self.file = file
        self.raw_groups = raw_groups
        self.result = IniFile()
        self.current: IniGroup | None = None
        self.raw = False
        self.seen_groups: set[str] = set()
        self.seen_keys: set[str] = set()

    def line(self, number: int, line: str) -> None:
        match = _GROUP.match(line)
        if match is not None and not (self.raw and not match.group(1)):
            self._group(number, line, match.group(1))
            return
        current = self.current
        if current is None:
            stripped = line.strip()
            unset = self.result.leading_text_line is None
            if unset and stripped and not stripped.startswith(";"):
                self.result.leading_text_line = number
            return
        current.raw_lines.append(line)
        if self.raw:
            return
        stripped = line.strip()
        if stripped and not stripped.startswith(";"):
            self._entry(current, number, line, stripped)

    def _group(self, number: int, line: str, name: str) -> None:
        current = IniGroup(name=name, line=number)
        key = current.key
        if key in self.seen_groups:
            self.result.diagnostics.append(
                diag(
                    "CRS012",
                    f"group [{name}] appears again (the first one is used)",
                    self.file,
                    number,
                    line.index("[") + 1,
                )
            )
        self.seen_groups.add(key)
        self.seen_keys = set()
        self.raw = key in self.raw_groups
        self.result.groups.append(current)
        self.current = current

    def _entry(self, current: IniGroup, number: int, line: str, stripped: str) -> None:
        key_column = len(line) - len(line.lstrip()) + 1
        key_text, equals, value_text = line.partition("=")
        key_name = key_text.strip()
        if not equals or not key_name:
            what = "has no '='" if not equals else "has no keyword before '='"
            self.result.diagnostics.append(
                diag(
                    "CRS013",
                    f"line {stripped[:60]!r} in [{current.name}] {what}",
                    self.file,
                    number,
                    key_column,
                )
            )
            if not equals:
                # A bare keyword (seen from authoring tools): keep it with an empty value.
                current.entries.append(IniEntry(key_name, "", number, key_column, len(line) + 1))
            return
        value_offset = len(key_text) + 1
        value_column = value_offset + (len(value_text) - len(value_text.lstrip())) + 1
        normalised = normalise_name(key_name)
        if normalised in self.seen_keys:
            self.result.diagnostics.append(
                diag(
                    "CRS012",
                    f"keyword {key_name} appears again in [{current.name}] "
                    "(the first value is used)",
                    self.file,
                    number,
                    key_column,
                )
            )
        self.seen_keys.add(normalised)
        current.entries.append(
            IniEntry(key_name, _unquote(value_text.strip()), number, key_column, value_column)
        )
