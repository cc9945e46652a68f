"""The tolerant reader: a source -> :class:`aicc.model.Course` objects plus diagnostics.

:func:`read` never raises on content: every problem met while reading (package layout,
encoding, INI and table syntax, unusable headers) becomes a diagnostic, and whatever can
be read is put in the model. Declared CRS totals are kept as read. The semantic rules
(cross-file references, totals, the CST tree, logic expressions) are the validator's
(:mod:`aicc.validator`), which reuses the positions this module records.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from aicc._crs import GROUP_ALIASES
from aicc._crs import GROUP_BEHAVIOR
from aicc._crs import GROUP_COURSE
from aicc._crs import GROUP_DESCRIPTION
from aicc._crs import fill_crs
from aicc._crs import suggest
from aicc._decode import DecodedText
from aicc._decode import decode
from aicc._ini import IniFile
from aicc._ini import parse_ini
from aicc._package import DEFAULT_LIMITS
from aicc._package import CourseFiles
from aicc._package import Package
from aicc._package import Source
from aicc._package import ZipLimits
from aicc._package import load
from aicc._table import Row
from aicc._table import Table
from aicc._table import parse_table
from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Report
from aicc.errors import SourceError
from aicc.model import AU_COLUMNS
from aicc.model import CMP_COLUMNS
from aicc.model import DES_COLUMNS
from aicc.model import EXTENSIONS
from aicc.model import AssignableUnit
from aicc.model import Block
from aicc.model import CompletionRequirement
from aicc.model import Course
from aicc.model import Descriptor
from aicc.model import ObjectiveRelation
from aicc.model import Prerequisite
from aicc.model import id_key
from aicc.rules import diag

__all__ = [
    "GROUP_ALIASES",
    "GROUP_BEHAVIOR",
    "GROUP_COURSE",
    "GROUP_DESCRIPTION",
    "ParsedCourse",
    "ParsedTable",
    "parse_source",
    "read",
]

#: Known columns (normalised) of the keyed tables.
AU_KNOWN: dict[str, str] = {name.casefold(): attr for name, attr in AU_COLUMNS}
DES_KNOWN: dict[str, str] = {name.casefold(): attr for name, attr in DES_COLUMNS}
CMP_KNOWN: dict[str, str] = {name.casefold(): attr for name, attr in CMP_COLUMNS}
PRE_KNOWN: dict[str, str] = {"structure_element": "element", "prerequisite": "expression"}
# The positional fast path in _read_au needs the dataclass fields in AU_COLUMNS order.
_AU_POSITIONAL = [f.name for f in dataclasses.fields(AssignableUnit)][: len(AU_COLUMNS)] == [
    attr for _, attr in AU_COLUMNS
]
_DES_POSITIONAL = [f.name for f in dataclasses.fields(Descriptor)] == [
    attr for _, attr in DES_COLUMNS
]
AU_REQUIRED = ("System_ID", "Command_Line", "File_Name", "Core_Vendor")
DES_REQUIRED = ("System_ID", "Developer_ID", "Title")
CMP_REQUIRED = ("Structure_Element", "Requirement", "Result")
PRE_REQUIRED = ("Structure_Element", "Prerequisite")


@dataclass(slots=True)
class ParsedTable:
    """A table file with what the validator needs to point at values.

    Attributes:
        path: File path inside the source.
        table: The parsed table (header and rows).
        columns: Canonical column key (lower case) -> index of its first occurrence.
        rows: The rows that produced model records, parallel to the model list.
        usable: False when the header is unusable; the file then adds no records.
    """

    path: str
    table: Table
    columns: dict[str, int] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    usable: bool = True

    def value_position(self, row: Row, column: str) -> tuple[int, int | None]:
        """(line, column) of a named column's value in a row (column None if absent)."""
        index = self.columns.get(column.casefold())
        if index is None or index >= len(row.values):
            return row.line, None
        return row.position(index)


@dataclass(slots=True)
class ParsedCourse:
    """One course set as read, with positions for the validator.

    Attributes:
        course: The model.
        files: The course set's files.
        texts: Slot -> decoded text.
        crs: The parsed ``.crs`` (None when missing, empty or undecodable).
        tables: Slot -> parsed table, for each table file present and not empty.
        cst_members: Per block (parallel to ``course.blocks``): (row, field index) of each
            member, parallel to ``Block.members``.
        cst_block_rows: Per block: the CST rows that define it.
        ort_members: Per ORT record: (row, field index) of each member.
        package: The package the course came from.
    """

    course: Course
    files: CourseFiles
    package: Package
    texts: dict[str, DecodedText] = field(default_factory=dict)
    crs: IniFile | None = None
    tables: dict[str, ParsedTable] = field(default_factory=dict)
    cst_members: list[list[tuple[Row, int]]] = field(default_factory=list)
    cst_block_rows: list[list[Row]] = field(default_factory=list)
    ort_members: list[list[tuple[Row, int]]] = field(default_factory=list)

    def path(self, slot: str) -> str:
        """Path of a slot's file (``"<base>.<slot>"`` when the set has no such file)."""
        source_file = self.files.files.get(slot)
        return source_file.path if source_file is not None else f"{self.files.base_name}.{slot}"

    def usable(self, slot: str) -> bool:
        """True when the slot's table file is present and its header is usable."""
        parsed = self.tables.get(slot)
        return parsed is not None and parsed.usable


def read(source: Source, *, limits: ZipLimits | None = None) -> Report:
    """Read AICC course structure files tolerantly.

    Args:
        source: A folder or zip path, zip bytes, or a mapping of file names to bytes.
        limits: Zip safety caps (default :data:`aicc._package.DEFAULT_LIMITS`).

    Returns:
        A report with one course per course set found and the read-level diagnostics
        (package, encoding, syntax, headers). Content is never a reason to raise.

    Raises:
        SourceError: The path does not exist or cannot be opened.
    """
    try:
        parsed, diagnostics = parse_source(source, limits=limits)
    except SourceError:
        raise
    except Exception as exc:
        # Never a traceback on any input: a bug in the reader is reported as PKG999.
        return Report([], [diag("PKG999", f"internal reader error: {type(exc).__name__}: {exc}")])
    return Report(courses=[p.course for p in parsed], diagnostics=diagnostics)


def parse_source(
    source: Source, *, limits: ZipLimits | None = None
) -> tuple[list[ParsedCourse], list[Diagnostic]]:
    """Read a source into parsed courses and read-level diagnostics.

    Raises:
        SourceError: The path does not exist or cannot be opened.
    """
    package = load(source, limits or DEFAULT_LIMITS)
    diagnostics = list(package.diagnostics)
    parsed = []
    for course_files in package.sets:
        course = _read_set(course_files, package, diagnostics)
        parsed.append(course)
    return parsed, diagnostics


def _read_set(files: CourseFiles, package: Package, out: list[Diagnostic]) -> ParsedCourse:
    course = Course(
        base_name=files.base_name,
        level="",
        version="",
        max_normal=None,
    )
    parsed = ParsedCourse(course=course, files=files, package=package)
    for slot in EXTENSIONS:
        source_file = files.files.get(slot)
        if source_file is None:
            continue
        decoded = decode(source_file.data, source_file.path)
        out.extend(decoded.diagnostics)
        if not decoded.text.strip():
            out.append(
                diag(
                    "PKG008",
                    f"{source_file.name} is empty"
                    + (
                        f" ({len(source_file.data)} bytes of white space)"
                        if source_file.data
                        else ""
                    ),
                    source_file.path,
                )
            )
            continue
        parsed.texts[slot] = decoded
        if slot == "crs":
            parsed.crs = parse_ini(decoded.text, source_file.path, frozenset({GROUP_DESCRIPTION}))
            out.extend(parsed.crs.diagnostics)
            fill_crs(parsed.course, parsed.crs, source_file.path, out)
        else:
            table = parse_table(decoded.text, source_file.path)
            out.extend(table.diagnostics)
            parsed.tables[slot] = _TABLE_READERS[slot](parsed, table, source_file.path, out)
    return parsed


# --------------------------------------------------------------------------- tables


def _header_columns(
    table: Table,
    path: str,
    known: dict[str, str],
    required: tuple[str, ...],
    out: list[Diagnostic],
    *,
    canonical: tuple[str, ...],
    repeated: frozenset[str] = frozenset(),
    unknown_rule: str = "TBL011",
    missing_rule: str = "TBL002",
) -> tuple[dict[str, int], bool]:
    """Map header names to indexes; report TBL001-TBL004/TBL011. Returns (columns, usable)."""
    header_row = table.header_row
    if header_row is None:
        out.append(diag("TBL001", "the file has no header row", path, 1, None))
        return {}, False
    columns, deferred, recognised = _map_header(
        table, header_row, path, known, canonical, repeated, unknown_rule
    )
    if not recognised:
        # Not a header at all (TBL001): its cells are data, so the header findings
        # (unknown, empty or repeated column names) are not reported.
        first = table.header[0] if table.header else ""
        out.append(
            diag(
                "TBL001",
                f"the first record ({first[:40]!r}, ...) is not a header: "
                f"no known column name such as {required[0]}",
                path,
                header_row.line,
                1,
            )
        )
        return columns, False
    out.extend(deferred)
    out.extend(
        diag(
            missing_rule,
            f"required column {name} is missing",
            path,
            header_row.line,
            None,
            hint=f"Add a {name} column to the header row.",
        )
        for name in required
        if name.casefold() not in columns
    )
    return columns, True


def _map_header(
    table: Table,
    header_row: Row,
    path: str,
    known: dict[str, str],
    canonical: tuple[str, ...],
    repeated: frozenset[str],
    unknown_rule: str,
) -> tuple[dict[str, int], list[Diagnostic], bool]:
    """(column key -> first index, findings to report if it is a header, any known name)."""
    columns: dict[str, int] = {}
    deferred: list[Diagnostic] = []
    recognised = False
    for index, name in enumerate(table.header):
        key = name.strip().casefold()
        line, column = header_row.position(index)
        if not key:
            deferred.append(diag("TBL004", f"column {index + 1} has no name", path, line, column))
            continue
        recognised = recognised or key in known
        if key in columns:
            if key not in repeated:
                deferred.append(
                    diag(
                        "TBL003",
                        f"column {name} appears more than once (the first one is used)",
                        path,
                        line,
                        column,
                    )
                )
            continue
        columns[key] = index
        if key not in known:
            hint = suggest(name, list(canonical), "Did you mean") or "Remove the column."
            deferred.append(
                diag(unknown_rule, f"unknown column {name}", path, line, column, hint=hint)
            )
    return columns, deferred, recognised


def _read_au(parsed: ParsedCourse, table: Table, path: str, out: list[Diagnostic]) -> ParsedTable:
    columns, usable = _header_columns(
        table, path, AU_KNOWN, AU_REQUIRED, out, canonical=tuple(n for n, _ in AU_COLUMNS)
    )
    # Without a System_ID column no record can be identified: the file adds nothing.
    usable = usable and "system_id" in columns
    result = ParsedTable(path, table, columns, usable=usable)
    if not usable:
        return result
    _fill_aus(parsed.course.aus, table, columns)
    result.rows.extend(table.rows)
    return result


def _fill_aus(aus: list[AssignableUnit], table: Table, columns: dict[str, int]) -> None:
    """One AU per row, by the header's columns (unknown columns go to ``extra``)."""
    known = [(attr, columns[key]) for key, attr in AU_KNOWN.items() if key in columns]
    extras = [
        (table.header[index].strip(), index)
        for key, index in columns.items()
        if key not in AU_KNOWN and key
    ]
    # Fast path (10,000-AU courses): every canonical column present, rows of full width,
    # no extra columns -> build each AU positionally from one itemgetter call.
    order = [columns.get(name.casefold()) for name, _ in AU_COLUMNS]
    full = [index for index in order if index is not None]
    positional = _AU_POSITIONAL and len(full) == len(order) and not extras
    getter = operator.itemgetter(*full) if positional else None
    needed = max(full, default=0) + 1
    for row in table.rows:
        values = row.values
        width = len(values)
        if getter is not None and width >= needed:
            aus.append(AssignableUnit(*getter(values)))
            continue
        unit = AssignableUnit(system_id="")
        for attr, index in known:
            if index < width:
                setattr(unit, attr, values[index])
        for name, index in extras:
            if index < width and values[index]:
                unit.extra[name] = values[index]
        aus.append(unit)


def _read_des(parsed: ParsedCourse, table: Table, path: str, out: list[Diagnostic]) -> ParsedTable:
    columns, usable = _header_columns(
        table, path, DES_KNOWN, DES_REQUIRED, out, canonical=tuple(n for n, _ in DES_COLUMNS)
    )
    usable = usable and "system_id" in columns
    result = ParsedTable(path, table, columns, usable=usable)
    if not usable:
        return result
    known = [(attr, columns[key]) for key, attr in DES_KNOWN.items() if key in columns]
    descriptors = parsed.course.descriptors
    # Fast path as in _read_au: all four columns, positional construction.
    order = [columns.get(name.casefold()) for name, _ in DES_COLUMNS]
    full = [index for index in order if index is not None]
    getter = operator.itemgetter(*full) if _DES_POSITIONAL and len(full) == len(order) else None
    needed = max(full, default=0) + 1
    for row in table.rows:
        if getter is not None and len(row.values) >= needed:
            descriptors.append(Descriptor(*getter(row.values)))
            continue
        descriptor = Descriptor(system_id="")
        values = row.values
        width = len(values)
        for attr, index in known:
            if index < width:
                setattr(descriptor, attr, values[index])
        descriptors.append(descriptor)
    result.rows.extend(table.rows)
    return result


def _membership_columns(
    table: Table, path: str, first: str, rule: str, out: list[Diagnostic]
) -> tuple[dict[str, int], bool]:
    """Header check of CST/ORT: ``first`` then ``Member`` repeated."""
    header_row = table.header_row
    if header_row is None:
        out.append(diag("TBL001", "the file has no header row", path, 1, None))
        return {}, False
    keys = [name.strip().casefold() for name in table.header]
    if first.casefold() not in keys and "member" not in keys:
        out.append(
            diag(
                "TBL001",
                f"the first record ({table.header[0][:40]!r}, ...) is not a header: "
                f"expected {first}, Member, ...",
                path,
                header_row.line,
                1,
            )
        )
        return {}, False
    for index, key in enumerate(keys):
        line, column = header_row.position(index)
        expected = first.casefold() if index == 0 else "member"
        if not key:
            out.append(diag("TBL004", f"column {index + 1} has no name", path, line, column))
        elif key != expected:
            out.append(
                diag(
                    rule,
                    f"column {index + 1} is {table.header[index]!r}, expected "
                    f"{first if index == 0 else 'Member'}",
                    path,
                    line,
                    column,
                )
            )
    if len(keys) < 2:
        out.append(
            diag(rule, f"the header has no Member column after {first}", path, header_row.line, 1)
        )
    return {first.casefold(): 0, "member": 1}, True


def _read_cst(parsed: ParsedCourse, table: Table, path: str, out: list[Diagnostic]) -> ParsedTable:
    columns, usable = _membership_columns(table, path, "Block", "CST001", out)
    result = ParsedTable(path, table, columns, usable=usable)
    if not usable:
        return result
    course = parsed.course
    by_key: dict[str, int] = {}
    for row in table.rows:
        values = row.values
        block_id = values[0] if values else ""
        key = id_key(block_id)
        index = by_key.get(key)
        if index is None:
            index = len(course.blocks)
            by_key[key] = index
            course.blocks.append(Block(system_id=block_id))
            parsed.cst_members.append([])
            parsed.cst_block_rows.append([])
        block = course.blocks[index]
        parsed.cst_block_rows[index].append(row)
        positions = parsed.cst_members[index]
        for field_index in range(1, len(values)):
            member = values[field_index]
            if member.strip():
                block.members.append(member)
                positions.append((row, field_index))
        result.rows.append(row)
    return result


def _read_ort(parsed: ParsedCourse, table: Table, path: str, out: list[Diagnostic]) -> ParsedTable:
    columns, usable = _membership_columns(table, path, "Course_Element", "ORT001", out)
    result = ParsedTable(path, table, columns, usable=usable)
    if not usable:
        return result
    for row in table.rows:
        values = row.values
        relation = ObjectiveRelation(course_element=values[0] if values else "")
        positions: list[tuple[Row, int]] = []
        for field_index in range(1, len(values)):
            member = values[field_index]
            if member.strip():
                relation.members.append(member)
                positions.append((row, field_index))
        parsed.course.objective_relations.append(relation)
        parsed.ort_members.append(positions)
        result.rows.append(row)
    return result


def _read_pre(parsed: ParsedCourse, table: Table, path: str, out: list[Diagnostic]) -> ParsedTable:
    columns, usable = _header_columns(
        table,
        path,
        PRE_KNOWN,
        PRE_REQUIRED,
        out,
        canonical=PRE_REQUIRED,
        unknown_rule="PRE001",
        missing_rule="PRE001",
    )
    usable = usable and all(name.casefold() in columns for name in PRE_REQUIRED)
    result = ParsedTable(path, table, columns, usable=usable)
    if not usable:
        return result
    element_index = columns["structure_element"]
    expression_index = columns["prerequisite"]
    for row in table.rows:
        parsed.course.prerequisites.append(
            Prerequisite(element=row.get(element_index), expression=row.get(expression_index))
        )
        result.rows.append(row)
    return result


def _read_cmp(parsed: ParsedCourse, table: Table, path: str, out: list[Diagnostic]) -> ParsedTable:
    columns, usable = _header_columns(
        table,
        path,
        CMP_KNOWN,
        CMP_REQUIRED,
        out,
        canonical=tuple(n for n, _ in CMP_COLUMNS),
        unknown_rule="CMP006",
        missing_rule="CMP001",
    )
    usable = usable and all(name.casefold() in columns for name in CMP_REQUIRED)
    result = ParsedTable(path, table, columns, usable=usable)
    if not usable:
        return result
    known = [(attr, columns[key]) for key, attr in CMP_KNOWN.items() if key in columns]
    for row in table.rows:
        requirement = CompletionRequirement(element="", requirement="")
        for attr, index in known:
            setattr(requirement, attr, row.get(index))
        parsed.course.completion_requirements.append(requirement)
        result.rows.append(row)
    return result


_TABLE_READERS: dict[str, Callable[[ParsedCourse, Table, str, list[Diagnostic]], ParsedTable]] = {
    "au": _read_au,
    "des": _read_des,
    "cst": _read_cst,
    "ort": _read_ort,
    "pre": _read_pre,
    "cmp": _read_cmp,
}
