"""What every check shares: the parsed course, its ID indexes and the diagnostics so far.

The indexes are computed once per course (comprehensions over precomputed keys: they
run once per AU on big courses); checks read them and report through :meth:`Context.add`.
"""

from __future__ import annotations

from aicc._table import Row
from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Severity
from aicc.model import Course
from aicc.model import id_key
from aicc.model import is_root
from aicc.reader import ParsedCourse
from aicc.reader import ParsedTable
from aicc.rules import diag
from aicc.validator._util import first_index

__all__ = ["Context", "Finding"]

#: A finding to aggregate or summarise later: (value as written, row, field index).
Finding = tuple[str, Row, int | None]


class Context:
    """One parsed course being checked: indexes of its IDs and the diagnostics found."""

    def __init__(self, parsed: ParsedCourse) -> None:
        self.parsed = parsed
        self.course = parsed.course
        self.out: list[Diagnostic] = []
        self._index_structure(parsed.course)
        self._index_objectives(parsed)
        # References can only be judged when the AU and CST files were both read: a
        # missing or unreadable file would make every reference to it look unknown.
        self.ids_complete = parsed.usable("au") and parsed.usable("cst")
        # An .ort or .cmp that could not be used may define objectives we cannot see:
        # then a DES record for an unknown ID is not reported as an orphan, nor levels.
        self.objectives_unknowable = any(
            slot in parsed.tables and not parsed.tables[slot].usable for slot in ("ort", "cmp")
        ) or any(
            slot in parsed.files.files and slot not in parsed.tables for slot in ("ort", "cmp")
        )
        self._index_spelling(parsed.course)
        self.case_mismatch: dict[str, list[tuple[str, Row, int | None, str]]] = {}
        # Caches of values found good (big courses repeat scores and times).
        self.decimals: dict[str, float | None] = {}
        self.good_timespans: set[str] = set()

    def _index_structure(self, course: Course) -> None:
        self.au_key_list = [au.system_id.strip().casefold() for au in course.aus]
        self.au_keys: dict[str, int] = first_index(self.au_key_list)
        # Blocks with a CST record (root included, kept apart).
        self.block_keys: dict[str, int] = {}
        for index, block in enumerate(course.blocks):
            self.block_keys.setdefault(id_key(block.system_id), index)
        self.non_root_block_keys = {k for k in self.block_keys if k != "root" and k}
        self.structure_keys = set(self.au_keys) | set(self.block_keys)
        self.des_key_list = [d.system_id.strip().casefold() for d in course.descriptors]
        self.des_keys: dict[str, int] = first_index(self.des_key_list)

    def _index_objectives(self, parsed: ParsedCourse) -> None:
        course = parsed.course
        structure = self.structure_keys
        self.ort_objective_keys: dict[str, str] = {}
        for relation in course.objective_relations:
            for member in relation.members:
                self.ort_objective_keys.setdefault(id_key(member), member)
        # Complex objectives: CMP elements that are neither AU nor block (reference §4).
        self.complex_keys: dict[str, str] = {}
        for requirement in course.completion_requirements:
            key = id_key(requirement.element)
            if key and key not in structure:
                self.complex_keys.setdefault(key, requirement.element)
        objective_keys = (set(self.ort_objective_keys) | set(self.complex_keys)) - structure
        # Complex objectives with neither an ORT entry nor a DES record are unknown
        # elements (CMP002), e.g. a misspelt AU ID, rather than undescribed objectives.
        self.unknown_cmp_keys: set[str] = set()
        if parsed.usable("des"):
            self.unknown_cmp_keys = {
                k
                for k in self.complex_keys
                if k not in self.ort_objective_keys and k not in self.des_keys
            }
        self.objective_keys = objective_keys - self.unknown_cmp_keys
        self.element_keys = set(self.au_keys) | self.non_root_block_keys | self.objective_keys

    def _index_spelling(self, course: Course) -> None:
        # Spelling of each ID where it is defined, for case-mismatch warnings.
        self.spelling: dict[str, str] = {
            key: course.aus[index].system_id.strip() for key, index in self.au_keys.items()
        }
        for block in course.blocks:
            if not is_root(block.system_id):
                self.spelling.setdefault(id_key(block.system_id), block.system_id.strip())
        for key, spelled in self.ort_objective_keys.items():
            self.spelling.setdefault(key, spelled.strip())
        self.exact_ids = set(self.spelling.values())

    @property
    def complex_objectives(self) -> set[str]:
        """Keys of the complex objectives that are known (not CMP002's unknown elements)."""
        return self.complex_keys.keys() - self.unknown_cmp_keys

    # ------------------------------------------------------------------ reporting

    def add(
        self,
        rule: str,
        message: str,
        file: str | None,
        line: int | None = None,
        column: int | None = None,
        *,
        hint: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        """Report a diagnostic of a catalogue rule."""
        self.out.append(diag(rule, message, file, line, column, hint=hint, severity=severity))

    def table(self, slot: str) -> ParsedTable:
        """The parsed table of a slot (checks of a slot only run when it is usable)."""
        return self.parsed.tables[slot]

    @staticmethod
    def at(parsed: ParsedTable, row: Row, column: str) -> tuple[int, int | None]:
        """(line, column) of a named column's value in a row."""
        return parsed.value_position(row, column)

    @staticmethod
    def where(row: Row, index: int | None) -> tuple[int, int | None]:
        """(line, column) of field ``index`` of a row (column None without an index)."""
        if index is None or index >= len(row.values):
            return row.line, None
        return row.position(index)

    def check_id_text(self, value: str, row: Row, index: int | None, file: str) -> None:
        """TBL012 (spaces inside a quoted ID); collects TBL014 (case differs from definition).

        Positions are only computed when something is reported: this runs per ID.
        """
        if value in self.exact_ids:
            return  # the common case: spelled exactly as defined, no spaces
        stripped = value.strip()
        if stripped != value and index is not None and row.is_quoted(index):
            self.add(
                "TBL012",
                f"ID {value!r} has leading or trailing spaces",
                file,
                *self.where(row, index),
            )
        spelled = self.spelling.get(stripped.casefold())
        if spelled is not None and spelled != stripped:
            self.case_mismatch.setdefault(file, []).append((stripped, row, index, spelled))

    def aggregate(
        self, rule: str, items: list[Finding], path: str, template: str, noun: str
    ) -> None:
        """One diagnostic for many similar findings (first one located, count given)."""
        if not items:
            return
        value, row, index = items[0]
        line, column = self.where(row, index)
        more = f" ({len(items)} {noun} in all)" if len(items) > 1 else ""
        self.add(rule, template.format(value[:60]) + more, path, line, column)

    def crs_position(self, keyword: str) -> tuple[int | None, int | None]:
        """(line, value column) of a keyword in the .crs, in any group."""
        ini = self.parsed.crs
        if ini is None:
            return None, None
        for group in ini.groups:
            entry = group.get(keyword)
            if entry is not None:
                return entry.line, entry.value_column
        return None, None

    def add_crs_total(
        self,
        keyword: str,
        declared: int,
        actual: int,
        rule: str,
        noun: str,
        severity: Severity | None = None,
    ) -> None:
        """A count keyword of the .crs that disagrees with the files (hint: the fix)."""
        line, column = self.crs_position(keyword)
        self.add(
            rule,
            f"{keyword}={declared} but there are {actual} {noun}",
            self.parsed.path("crs"),
            line,
            column,
            hint=f"Set {keyword}={actual}.",
            severity=severity,
        )

    def add_crs_total_text(self, rule: str, keyword: str, message: str, fix: int) -> None:
        """Like :meth:`add_crs_total` with a message of its own."""
        line, column = self.crs_position(keyword)
        self.add(rule, message, self.parsed.path("crs"), line, column, hint=f"Set {keyword}={fix}.")

    def display(self, key: str) -> str:
        """An ID key spelled as where it is defined."""
        return self.spelling.get(key, key)

    def display_block(self, key: str) -> str:
        """A block key spelled as in its CST record."""
        index = self.block_keys.get(key)
        return self.course.blocks[index].system_id.strip() if index is not None else key
