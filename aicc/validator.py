"""The validator: :func:`validate` = :func:`aicc.reader.read` + every rule of the catalogue.

Rules are documented in ``docs/aicc-rules.md`` and listed in :mod:`aicc.rules`. The
validator never raises on content: an internal failure becomes a ``PKG999`` error
diagnostic instead of a traceback. Only a source that cannot be opened at all raises
:class:`aicc.errors.SourceError`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aicc import logic
from aicc._ini import IniGroup
from aicc._package import AICC_EXTENSIONS
from aicc._package import Source
from aicc._package import ZipLimits
from aicc._table import Row
from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Report
from aicc.diagnostics import Severity
from aicc.errors import LogicStatusError
from aicc.errors import LogicSyntaxError
from aicc.errors import SourceError
from aicc.model import KNOWN_LEVELS
from aicc.model import id_key
from aicc.model import is_root
from aicc.reader import GROUP_BEHAVIOR
from aicc.reader import GROUP_COURSE
from aicc.reader import GROUP_DESCRIPTION
from aicc.reader import ParsedCourse
from aicc.reader import ParsedTable
from aicc.reader import parse_source
from aicc.rules import RULES
from aicc.rules import diag

if TYPE_CHECKING:
    from aicc.model import AssignableUnit
    from aicc.model import Course

__all__ = ["validate"]

_COUNT = re.compile(r"[0-9]{1,18}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_TIMESPAN = re.compile(r"([0-9]{2,4}):([0-5][0-9]):([0-5][0-9])(?:\.[0-9]{1,2})?")
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_KNOWN_VERSIONS = frozenset({"1.0", "3.0", "3.01", "3.4", "3.5", "4.0"})
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_AICC_PARAM = re.compile(r"(?:^|[?&])aicc_(?:sid|url)=", re.IGNORECASE)
_WEB_LAUNCH_BAD = re.compile(r"[\s\"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})|[^\x00-\x7f]")
_ESCAPE = re.compile(r"&(?:amp|lt|gt|quot|apos|#[0-9]+);", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOT_IDENTIFIER = re.compile(r"[\s\x00-\x1f\x7f]")
_TIME_LIMIT_ACTIONS = frozenset(
    {"exit,message", "exit,no message", "continue,message", "continue,no message"}
)
_TIME_LIMIT_SHORT = frozenset({"e,m", "e,n", "c,m", "c,n"})
_BOOLEAN_LIKE = frozenset({"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"})
_LEVEL_RANK = {"1": 1, "2": 2, "3": 3, "3a": 3, "3b": 4, "4": 5}
_REQUIRED_COURSE = (
    "Course_Creator",
    "Course_ID",
    "Course_System",
    "Course_Title",
    "Level",
    "Max_Fields_CST",
    "Total_AUs",
    "Total_Blocks",
    "Version",
)
_INTEGER_KEYWORDS = (
    "Max_Fields_CST",
    "Max_Fields_ORT",
    "Total_AUs",
    "Total_Blocks",
    "Total_Objectives",
    "Total_Complex_Obj",
    "Total_Complex_Objectives",
)


def validate(source: Source, strict: bool = False, *, limits: ZipLimits | None = None) -> Report:
    """Read a source and check every rule of the catalogue.

    Args:
        source: A folder or zip path, zip bytes, or a mapping of file names to bytes.
        strict: Promote the interoperability warnings (rules marked promotable in
            :mod:`aicc.rules`, listed in ``docs/aicc-rules.md``) to errors.
        limits: Zip safety caps.

    Returns:
        The report: courses read and every diagnostic, sorted by file and position.

    Raises:
        SourceError: The path does not exist or cannot be opened (never for content).
    """
    courses: list[Course] = []
    diagnostics: list[Diagnostic] = []
    try:
        parsed, read_diagnostics = parse_source(source, limits=limits)
        diagnostics.extend(read_diagnostics)
    except SourceError:
        raise
    except Exception as exc:
        # Never a traceback on any input: a bug in the reader is reported as PKG999.
        return Report([], [_internal_error(exc)])
    for course in parsed:
        courses.append(course.course)
        try:
            diagnostics.extend(_CourseChecker(course).run())
        except Exception as exc:
            diagnostics.append(_internal_error(exc, course.path("crs")))
    if strict:
        diagnostics = [_promote(d) for d in diagnostics]
    diagnostics.sort(key=Diagnostic.sort_key)
    return Report(courses, diagnostics)


def _internal_error(exc: BaseException, file: str | None = None) -> Diagnostic:
    return diag(
        "PKG999",
        f"internal validator error: {type(exc).__name__}: {exc}"[:300],
        file,
    )


def _promote(diagnostic: Diagnostic) -> Diagnostic:
    rule = RULES.get(diagnostic.rule)
    if rule is not None and rule.promotable and diagnostic.severity is Severity.WARNING:
        return Diagnostic(
            diagnostic.rule,
            Severity.ERROR,
            diagnostic.message,
            diagnostic.file,
            diagnostic.line,
            diagnostic.column,
            diagnostic.hint,
        )
    return diagnostic


def _walk(expr: logic.Expr) -> Iterator[logic.Expr]:
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, logic.Not):
            stack.append(node.operand)
        elif isinstance(node, logic.And | logic.Or):
            stack.extend(node.operands)


class _CourseChecker:
    """Runs every rule over one parsed course."""

    def __init__(self, parsed: ParsedCourse) -> None:
        self.p = parsed
        self.c = parsed.course
        self.out: list[Diagnostic] = []
        course = self.c
        # Comprehensions over precomputed keys: these run once per AU on big courses.
        self.au_key_list = [au.system_id.strip().casefold() for au in course.aus]
        self.au_keys: dict[str, int] = _first_index(self.au_key_list)
        # Blocks with a CST record (root included, kept apart).
        self.block_keys: dict[str, int] = {}
        for index, block in enumerate(course.blocks):
            self.block_keys.setdefault(id_key(block.system_id), index)
        self.non_root_block_keys = {k for k in self.block_keys if k != "root" and k}
        self.ort_objective_keys: dict[str, str] = {}
        for relation in course.objective_relations:
            for member in relation.members:
                self.ort_objective_keys.setdefault(id_key(member), member)
        self.des_key_list = [d.system_id.strip().casefold() for d in course.descriptors]
        self.des_keys: dict[str, int] = _first_index(self.des_key_list)
        structure = set(self.au_keys) | set(self.block_keys)
        # Complex objectives: CMP elements that are neither AU nor block (reference §4).
        self.complex_keys: dict[str, str] = {}
        for requirement in course.completion_requirements:
            key = id_key(requirement.element)
            if key and key not in structure:
                self.complex_keys.setdefault(key, requirement.element)
        self.objective_keys = (set(self.ort_objective_keys) | set(self.complex_keys)) - structure
        # Complex objectives with neither an ORT entry nor a DES record are unknown
        # elements (CMP002), e.g. a misspelt AU ID, rather than undescribed objectives.
        self.unknown_cmp_keys = (
            {
                k
                for k in self.complex_keys
                if k not in self.ort_objective_keys and k not in self.des_keys
            }
            if parsed.usable("des")
            else set()
        )
        self.objective_keys -= self.unknown_cmp_keys
        self.element_keys = set(self.au_keys) | self.non_root_block_keys | self.objective_keys
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
        self.case_mismatch: dict[str, list[tuple[str, Row, int | None, str]]] = {}
        self.decimals: dict[str, float | None] = {}
        self.good_timespans: set[str] = set()

    # ------------------------------------------------------------------ helpers

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
        self.out.append(diag(rule, message, file, line, column, hint=hint, severity=severity))

    def at(self, parsed: ParsedTable, row: Row, column: str) -> tuple[int, int | None]:
        return parsed.value_position(row, column)

    @staticmethod
    def where(row: Row, index: int | None) -> tuple[int, int | None]:
        """(line, column) of field ``index`` of a row (column None without an index)."""
        if index is None or index >= len(row.values):
            return row.line, None
        return row.position(index)

    def check_id_text(self, value: str, row: Row, index: int | None, file: str) -> None:
        """TBL012 (spaces inside a quoted ID) and TBL014 (case differs from definition).

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

    def run(self) -> list[Diagnostic]:
        self.check_crs()
        self.check_au()
        self.check_des()
        self.check_cst()
        self.check_ort()
        self.check_pre()
        self.check_cmp()
        self.check_objective_totals()
        self.check_levels()
        for file, mismatches in self.case_mismatch.items():
            written, row, index, spelled = mismatches[0]
            line, column = self.where(row, index)
            more = (
                f" ({len(mismatches)} such references in this file)" if len(mismatches) > 1 else ""
            )
            self.add(
                "TBL014",
                f"{written!r} is spelled {spelled!r} where it is defined{more}",
                file,
                line,
                column,
            )
        return self.out

    # ------------------------------------------------------------------ CRS

    def check_crs(self) -> None:
        p = self.p
        ini = p.crs
        if ini is None:
            return
        path = p.path("crs")
        course_group = ini.group(GROUP_COURSE)
        behavior = ini.group(GROUP_BEHAVIOR, "course behavior")
        description = ini.group(GROUP_DESCRIPTION)
        if course_group is None:
            self.add("CRS001", "[Course] group missing", path)
        if behavior is None:
            self.add("CRS002", "[Course_Behavior] group missing", path)
        if description is None:
            self.add("CRS003", "[Course_Description] group missing", path)
        if ini.leading_text_line is not None:
            self.add("CRS017", "text before the first group", path, ini.leading_text_line, 1)
        elif ini.groups and ini.groups[0].key != GROUP_COURSE and course_group is not None:
            self.add(
                "CRS017",
                f"the first group is [{ini.groups[0].name}], not [Course]",
                path,
                ini.groups[0].line,
                1,
            )
        for group, required in ((course_group, _REQUIRED_COURSE), (behavior, ("Max_Normal",))):
            if group is None:
                continue
            for keyword in required:
                entry = group.get(keyword)
                if entry is None:
                    self.add(
                        "CRS004",
                        f"required keyword {keyword} missing in [{group.name}]",
                        path,
                        group.line,
                        None,
                        hint=f"Add {keyword}=... to [{group.name}].",
                    )
                elif not entry.value:
                    self.add(
                        "CRS005",
                        f"{keyword} has an empty value",
                        path,
                        entry.line,
                        entry.value_column,
                    )
            for entry in group.entries:
                canonical = next(
                    (
                        k
                        for k in (*_INTEGER_KEYWORDS, "Max_Normal")
                        if k.casefold() == entry.key.casefold()
                    ),
                    None,
                )
                if canonical is None or not entry.value:
                    continue
                if not _COUNT.fullmatch(entry.value):
                    self.add(
                        "CRS006",
                        f"{entry.key}={entry.value[:40]!r} is not an unsigned integer "
                        "(of at most 18 digits)",
                        path,
                        entry.line,
                        entry.value_column,
                    )
                elif canonical == "Max_Normal" and not 1 <= int(entry.value) <= 99:
                    self.add(
                        "CRS007",
                        f"Max_Normal={entry.value} is outside 1-99",
                        path,
                        entry.line,
                        entry.value_column,
                    )
        if course_group is not None:
            self.check_course_values(course_group, path)
        if description is not None:
            text = self.c.description
            if not text.strip():
                self.add("CRS016", "the course description is empty", path, description.line)
            if len(text) > 4096:
                self.add(
                    "CRS015",
                    f"the description has {len(text)} characters (limit 4096)",
                    path,
                    description.line,
                )
            for offset, line in enumerate(description.raw_lines):
                if "=" in line or line.lstrip().startswith("["):
                    self.add(
                        "CRS022",
                        f"description line {line.strip()[:40]!r} contains '=' or looks "
                        "like a group header",
                        path,
                        description.line + 1 + offset,
                        None,
                    )
                    break
        if "ort" in p.files.files and course_group is not None:
            max_fields_ort = course_group.get("Max_Fields_ORT")
            if max_fields_ort is None or not max_fields_ort.value:
                self.add(
                    "CRS020",
                    "an .ort file is present but Max_Fields_ORT is missing or empty",
                    path,
                    course_group.line,
                )
            if course_group.get("Total_Objectives") is None:
                self.add(
                    "CRS021",
                    "an .ort file is present but Total_Objectives is missing",
                    path,
                    course_group.line,
                )
        if (
            self.complex_keys.keys() - self.unknown_cmp_keys
            and course_group is not None
            and course_group.get("Total_Complex_Obj") is None
            and course_group.get("Total_Complex_Objectives") is None
        ):
            self.add(
                "CRS021",
                "the .cmp file sets objectives but Total_Complex_Obj is missing",
                path,
                course_group.line,
            )

    def check_course_values(self, group: IniGroup, path: str) -> None:
        level = group.get("Level")
        if level is not None and level.value and level.value.casefold() not in KNOWN_LEVELS:
            self.add(
                "CRS008",
                f"Level={level.value!r} is not one of 1, 2, 3, 3a, 3b, 4",
                path,
                level.line,
                level.value_column,
            )
        version = group.get("Version")
        if version is not None and version.value:
            value = version.value
            if not _VERSION.fullmatch(value):
                self.add(
                    "CRS009",
                    f"Version={value!r} is not a version number",
                    path,
                    version.line,
                    version.value_column,
                )
            elif value == "1.0":
                self.add(
                    "CRS009",
                    "Version=1.0 is probably the course revision, not a CMI001 version",
                    path,
                    version.line,
                    version.value_column,
                )
            elif value not in _KNOWN_VERSIONS and not re.fullmatch(r"2\.[0-9]+", value):
                self.add(
                    "CRS009",
                    f"Version={value} is not a known CMI001 version (2.x, 3.0-3.5, 4.0)",
                    path,
                    version.line,
                    version.value_column,
                )
        course_id = group.get("Course_ID")
        if course_id is not None and course_id.value:
            value = course_id.value
            if any(c.isspace() for c in value) or len(value) > 255:
                self.add(
                    "CRS018",
                    f"Course_ID {value[:40]!r} contains white space or is longer than 255",
                    path,
                    course_id.line,
                    course_id.value_column,
                )
        for keyword in ("Course_Creator", "Course_System", "Course_Title"):
            entry = group.get(keyword)
            if entry is not None and len(entry.value) > 255:
                self.add(
                    "CRS019",
                    f"{keyword} has {len(entry.value)} characters (limit 255)",
                    path,
                    entry.line,
                    entry.value_column,
                )

    # ------------------------------------------------------------------ AU

    def check_au(self) -> None:
        p = self.p
        parsed = p.tables.get("au")
        if parsed is None or not parsed.usable:
            return
        path = parsed.path
        course = self.c
        if not course.aus:
            header = parsed.table.header_row
            self.add(
                "AU019", "the .au file has no AU records", path, header.line if header else None
            )
        columns = parsed.columns
        seen: dict[str, int] = {}
        not_a: list[tuple[str, Row, int | None]] = []
        short_actions: list[tuple[str, Row, int | None]] = []
        urls: list[tuple[str, Row, int | None]] = []
        content = self.content_names()
        id_index = columns.get("system_id")
        action_cache: dict[str, str] = {}
        clean: set[tuple[str, str, str, str, str, str, bool]] = set()
        for index, (au, row) in enumerate(zip(course.aus, parsed.rows, strict=True)):
            system_id = au.system_id
            key = system_id.strip().casefold()
            if not key:
                self.add(
                    "AU001",
                    f"AU record {index + 1} has an empty System_ID",
                    path,
                    *self.where(row, id_index),
                )
            else:
                self.check_id_text(system_id, row, id_index, path)
                stripped = system_id.strip()
                if len(stripped) > 255 or _NOT_IDENTIFIER.search(stripped):
                    self.add(
                        "AU003",
                        f"System_ID {stripped[:40]!r} is not a CMIIdentifier "
                        "(white space, control character or over 255 characters)",
                        path,
                        *self.where(row, id_index),
                    )
                if key in seen:
                    self.add(
                        "AU002",
                        f"System_ID {stripped!r} is used again (first at line "
                        f"{parsed.rows[seen[key]].line})",
                        path,
                        *self.where(row, id_index),
                    )
                else:
                    seen[key] = index
                if stripped[:1] not in ("A", "a"):
                    not_a.append((stripped, row, id_index))
            # Records often share the same scoring/timing values: a combination already
            # found clean is not checked again (big courses validate several times faster).
            combo = (
                au.max_score,
                au.mastery_score,
                au.max_time_allowed,
                au.time_limit_action,
                au.web_launch,
                au.core_vendor,
                bool(au.file_name.strip() or au.command_line.strip()),
            )
            if combo not in clean:
                before = (len(self.out), len(short_actions))
                self.check_au_values(au, row, parsed, short_actions, action_cache)
                if (len(self.out), len(short_actions)) == before:
                    clean.add(combo)
            file_name = au.file_name.strip()
            if file_name:
                self.check_file_name(file_name, content, parsed, row, urls)
        self.aggregate("AU004", not_a, path, "AU System_ID {!r} does not start with A", "AUs")
        self.aggregate("AU012", short_actions, path, "Time_Limit_Action {!r} is abbreviated", "AUs")
        self.aggregate("AU016", urls, path, "File_Name {!r} is an absolute URL", "AUs")
        declared = course.total_aus
        if declared is not None and declared != len(course.aus):
            self.add_crs_total("Total_AUs", declared, len(course.aus), "AU017", "AU records")

    def check_au_values(
        self,
        au: AssignableUnit,
        row: Row,
        parsed: ParsedTable,
        short_actions: list[tuple[str, Row, int | None]],
        action_cache: dict[str, str],
    ) -> None:
        """AU005-AU013 and AU018: the checks of one record's values (not its ID)."""
        path = parsed.path
        columns = parsed.columns
        system_id = au.system_id
        # Without both columns TBL002 already says what is wrong.
        has_launch_columns = "file_name" in columns and "command_line" in columns
        if has_launch_columns and not au.file_name.strip() and not au.command_line.strip():
            self.add(
                "AU005",
                f"AU {system_id!r} has neither File_Name nor Command_Line",
                path,
                row.line,
                None,
            )
        max_score = self.decimal(au.max_score, "AU006", "Max_Score", parsed, row)
        mastery = self.decimal(au.mastery_score, "AU007", "Mastery_Score", parsed, row)
        if mastery is not None:
            if max_score is not None and mastery > max_score:
                self.add(
                    "AU008",
                    f"Mastery_Score {au.mastery_score} is above Max_Score {au.max_score}",
                    path,
                    *self.at(parsed, row, "mastery_score"),
                )
            elif max_score is None and not 0 <= mastery <= 100:
                self.add(
                    "AU008",
                    f"Mastery_Score {au.mastery_score} is outside 0-100",
                    path,
                    *self.at(parsed, row, "mastery_score"),
                )
        timespan = au.max_time_allowed.strip()
        if timespan and timespan not in self.good_timespans:
            match = _TIMESPAN.fullmatch(timespan)
            if match is None:
                self.add(
                    "AU009",
                    f"Max_Time_Allowed {timespan!r} is not HHHH:MM:SS(.SS)",
                    path,
                    *self.at(parsed, row, "max_time_allowed"),
                )
            elif not timespan.strip("0:."):
                self.add(
                    "AU010",
                    f"Max_Time_Allowed {timespan} is zero",
                    path,
                    *self.at(parsed, row, "max_time_allowed"),
                )
            else:
                self.good_timespans.add(timespan)  # a good value: not checked again
        action = au.time_limit_action.strip()
        if action:
            normalised = action_cache.get(action)
            if normalised is None:
                normalised = ",".join(
                    " ".join(part.split()) for part in action.casefold().split(",")
                )
                action_cache[action] = normalised
            if normalised in _TIME_LIMIT_SHORT:
                short_actions.append((action, row, columns.get("time_limit_action")))
            elif normalised not in _TIME_LIMIT_ACTIONS:
                self.add(
                    "AU011",
                    f"Time_Limit_Action {action!r} is not in the vocabulary",
                    path,
                    *self.at(parsed, row, "time_limit_action"),
                )
        web_launch = au.web_launch
        if web_launch and (web_launch[0] in "?&" or _WEB_LAUNCH_BAD.search(web_launch)):
            self.add(
                "AU013",
                f"Web_Launch {web_launch[:60]!r} starts with ? or &, contains white space "
                "or is not URL-encoded",
                path,
                *self.at(parsed, row, "web_launch"),
            )
        if "<cr>" in au.core_vendor.casefold():
            self.add(
                "AU018",
                "Core_Vendor contains <cr> markers",
                path,
                *self.at(parsed, row, "core_vendor"),
            )

    def aggregate(
        self,
        rule: str,
        items: list[tuple[str, Row, int | None]],
        path: str,
        template: str,
        noun: str,
    ) -> None:
        """One diagnostic for many similar findings (first one located, count given)."""
        if not items:
            return
        value, row, index = items[0]
        line, column = self.where(row, index)
        more = f" ({len(items)} {noun} in all)" if len(items) > 1 else ""
        self.add(rule, template.format(value[:60]) + more, path, line, column)

    def add_crs_total(
        self, keyword: str, declared: int, actual: int, rule: str, noun: str, **kwargs: object
    ) -> None:
        line, column = self.crs_position(keyword)
        severity = kwargs.get("severity")
        self.add(
            rule,
            f"{keyword}={declared} but there are {actual} {noun}",
            self.p.path("crs"),
            line,
            column,
            hint=f"Set {keyword}={actual}.",
            severity=severity if isinstance(severity, Severity) else None,
        )

    def crs_position(self, keyword: str) -> tuple[int | None, int | None]:
        ini = self.p.crs
        if ini is None:
            return None, None
        for group in ini.groups:
            entry = group.get(keyword)
            if entry is not None:
                return entry.line, entry.value_column
        return None, None

    def decimal(
        self, value: str, rule: str, column: str, parsed: ParsedTable, row: Row
    ) -> float | None:
        if value in self.decimals:
            return self.decimals[value]
        text = value.strip()
        if not text:
            return None
        if _DECIMAL.fullmatch(text):
            # Scores repeat across AUs: remember good values (bad ones are reported each time).
            self.decimals[value] = number = float(text)
            return number
        self.add(
            rule,
            f"{column} {text!r} is not a decimal number",
            parsed.path,
            *self.at(parsed, row, column),
        )
        return None

    def content_names(self) -> set[str] | None:
        """Lower-cased paths of non-AICC files in the package, or None when it has none."""
        names = set()
        for name in self.p.package.names:
            last = name.rsplit("/", 1)[-1]
            ext = last.rsplit(".", 1)[-1].casefold() if "." in last else ""
            if ext in AICC_EXTENSIONS or "__MACOSX" in name.split("/") or last.startswith("._"):
                continue
            names.add(name.casefold())
        return names or None

    def check_file_name(
        self,
        file_name: str,
        content: set[str] | None,
        parsed: ParsedTable,
        row: Row,
        urls: list[tuple[str, Row, int | None]],
    ) -> None:
        index = parsed.columns.get("file_name")
        path = parsed.path
        if _AICC_PARAM.search(file_name):
            self.add(
                "AU015",
                f"File_Name {file_name[:60]!r} already carries aicc_sid/aicc_url",
                path,
                *self.where(row, index),
            )
        if _URL.match(file_name):
            urls.append((file_name, row, index))
            return
        if "\\" in file_name or file_name.startswith("/"):
            self.add(
                "AU014",
                f"File_Name {file_name[:60]!r} has a backslash or a leading /",
                path,
                *self.where(row, index),
            )
            return
        if content is None:
            return  # structure files only (hosted content): nothing to look for
        relative = file_name.split("?", 1)[0].split("#", 1)[0]
        folder = self.p.files.folder
        candidates = {relative.casefold()}
        if folder:
            candidates.add(f"{folder}/{relative}".casefold())
        normalised = {_normpath(c) for c in candidates}
        if not normalised & content:
            self.add(
                "AU014",
                f"File_Name {file_name[:60]!r} is not in the package",
                path,
                *self.where(row, index),
            )

    # ------------------------------------------------------------------ DES

    def check_des(self) -> None:
        p = self.p
        parsed = p.tables.get("des")
        if parsed is None or not parsed.usable:
            return
        path = parsed.path
        course = self.c
        seen: dict[str, int] = {}
        id_index = parsed.columns.get("system_id")
        has_title = "title" in parsed.columns
        for index, (descriptor, row) in enumerate(
            zip(course.descriptors, parsed.rows, strict=True)
        ):
            system_id = descriptor.system_id
            key = self.des_key_list[index]
            if key:
                self.check_id_text(system_id, row, id_index, path)
            if key in seen:
                self.add(
                    "DES004",
                    f"DES record for {system_id.strip()!r} repeats line "
                    f"{parsed.rows[seen[key]].line}",
                    path,
                    *self.where(row, id_index),
                )
                continue
            seen[key] = index
            if key == "root":
                self.add(
                    "DES006", "DES record for root (ignored)", path, *self.where(row, id_index)
                )
                continue
            if not key:
                self.add(
                    "DES002",
                    f"DES record {index + 1} has an empty System_ID",
                    path,
                    *self.where(row, id_index),
                )
                continue
            if (
                key not in self.element_keys
                and key not in self.unknown_cmp_keys
                and not self.objectives_unknowable
                and self.ids_complete
            ):
                self.add(
                    "DES002",
                    f"DES record for {system_id.strip()!r}, which is not an AU, block or objective",
                    path,
                    *self.where(row, id_index),
                )
            if has_title and not descriptor.title.strip():
                self.add(
                    "DES003",
                    f"{system_id.strip()!r} has an empty Title",
                    path,
                    *self.at(parsed, row, "title"),
                )
            if len(descriptor.title) > 255 or len(descriptor.description) > 4096:
                self.add(
                    "DES005",
                    f"Title ({len(descriptor.title)}) or Description "
                    f"({len(descriptor.description)}) of {system_id.strip()!r} is too long",
                    path,
                    *self.where(row, id_index),
                )
        # Coverage: every AU, block and objective has a DES record.
        au_parsed = p.tables.get("au")
        if au_parsed is not None and au_parsed.usable:
            des_keys = self.des_keys
            for index, key in enumerate(self.au_key_list):
                # Once per AU ID: a duplicate AU is AU002's business.
                if key and key not in des_keys and self.au_keys[key] == index:
                    au = course.aus[index]
                    row = au_parsed.rows[index]
                    self.add(
                        "DES001",
                        f"AU {au.system_id.strip()!r} has no DES record",
                        au_parsed.path,
                        *self.at(au_parsed, row, "system_id"),
                    )
        cst = p.tables.get("cst")
        if cst is not None and cst.usable:
            for block, rows in zip(course.blocks, p.cst_block_rows, strict=True):
                key = id_key(block.system_id)
                if key == "root" or not key or key in self.des_keys or key in self.au_keys:
                    continue
                if self.block_keys.get(key) is None:
                    continue
                self.add(
                    "DES001",
                    f"block {block.system_id.strip()!r} has no DES record",
                    cst.path,
                    rows[0].line,
                    rows[0].column(0),
                )
        reported: set[str] = set()
        ort = p.tables.get("ort")
        if ort is not None and ort.usable:
            for relation, positions in zip(course.objective_relations, p.ort_members, strict=True):
                for member, (row, field_index) in zip(relation.members, positions, strict=True):
                    key = id_key(member)
                    if (
                        key in self.objective_keys
                        and key not in self.des_keys
                        and key not in reported
                    ):
                        reported.add(key)
                        self.add(
                            "DES001",
                            f"objective {member.strip()!r} has no DES record",
                            ort.path,
                            *row.position(field_index),
                        )

    # ------------------------------------------------------------------ CST

    def check_cst(self) -> None:
        p = self.p
        parsed = p.tables.get("cst")
        if parsed is None or not parsed.usable:
            return
        path = parsed.path
        course = self.c
        root_index = self.block_keys.get("root")
        if root_index is None:
            self.add(
                "CST002",
                "the CST has no root record",
                path,
                parsed.table.header_row.line if parsed.table.header_row else None,
            )
        # Blocks: their own rows.
        for block, rows in zip(course.blocks, p.cst_block_rows, strict=True):
            first = rows[0]
            key = id_key(block.system_id)
            self.check_id_text(block.system_id, first, 0, path)
            if not key:
                self.add(
                    "CST003", "CST record with an empty Block", path, first.line, first.column(0)
                )
                continue
            if key == "root" and block.system_id.strip() != "root":
                self.add(
                    "CST015",
                    f"root is written {block.system_id.strip()!r}",
                    path,
                    first.line,
                    first.column(0),
                )
            if key in self.au_keys:
                self.add(
                    "CST006",
                    f"AU {block.system_id.strip()!r} is used as a block",
                    path,
                    first.line,
                    first.column(0),
                )
            if len(rows) > 1:
                self.add(
                    "CST013",
                    f"block {block.system_id.strip()!r} is split over {len(rows)} records "
                    "(members were joined in file order)",
                    path,
                    rows[1].line,
                    rows[1].column(0),
                )
            if not block.members and key not in self.au_keys:
                self.add(
                    "CST009",
                    f"block {block.system_id.strip()!r} has no members",
                    path,
                    first.line,
                    first.column(0),
                )
        # Members.
        parents: dict[str, tuple[str, int]] = {}
        placed: set[str] = set()
        for block, positions in zip(course.blocks, p.cst_members, strict=True):
            block_key = id_key(block.system_id)
            for member, (row, field_index) in zip(block.members, positions, strict=True):
                line, column = row.position(field_index)
                key = id_key(member)
                shown = member.strip()
                self.check_id_text(member, row, field_index, path)
                if key == "root":
                    self.add(
                        "CST014",
                        f"root is used as a member of {block.system_id.strip()!r}",
                        path,
                        line,
                        column,
                    )
                    continue
                if key not in self.au_keys and key not in self.block_keys:
                    if not p.usable("au"):
                        continue  # the AUs are unknown (no usable .au): nothing to judge
                    if key in self.ort_objective_keys:
                        self.add(
                            "CST014",
                            f"objective {shown!r} is used in the course structure",
                            path,
                            line,
                            column,
                        )
                    else:
                        self.add(
                            "CST003",
                            f"member {shown!r} of {block.system_id.strip()!r} is not an AU "
                            "or a block with a CST record",
                            path,
                            line,
                            column,
                        )
                    continue
                previous = parents.get(key)
                if previous is not None:
                    where = (
                        "again in the same block"
                        if previous[0] == block_key
                        else f"also a member of {self.display_block(previous[0])!r}"
                    )
                    self.add(
                        "CST004",
                        f"{shown!r} is {where} (first at line {previous[1]})",
                        path,
                        line,
                        column,
                    )
                    continue
                parents[key] = (block_key, line)
                placed.add(key)
        # Cycles and reachability over the block graph.
        children: dict[str, list[str]] = {}
        block_keys = self.block_keys
        for block in course.blocks:
            key = id_key(block.system_id)
            member_keys = [m.strip().casefold() for m in block.members]
            # root as a member is CST014; keeping it out avoids a second, derived cycle.
            children.setdefault(key, []).extend(
                k for k in member_keys if k in block_keys and k != "root"
            )
        in_cycle = self.report_cycles(children, path)
        reachable: set[str] = set()
        if root_index is not None:
            stack = ["root"]
            while stack:
                key = stack.pop()
                if key in reachable:
                    continue
                reachable.add(key)
                stack.extend(children.get(key, ()))
            for block, rows in zip(course.blocks, p.cst_block_rows, strict=True):
                key = id_key(block.system_id)
                if not key or key in reachable or key in in_cycle or key in self.au_keys:
                    continue
                if (
                    self.block_keys.get(key) is not None
                    and course.blocks[self.block_keys[key]] is block
                ):
                    self.add(
                        "CST007",
                        f"block {block.system_id.strip()!r} is not reachable from root",
                        path,
                        rows[0].line,
                        rows[0].column(0),
                    )
        au_parsed = p.tables.get("au")
        if au_parsed is not None and au_parsed.usable:
            for index, key in enumerate(self.au_key_list):
                if key and key not in placed and self.au_keys[key] == index:
                    au = course.aus[index]
                    row = au_parsed.rows[index]
                    self.add(
                        "CST008",
                        f"AU {au.system_id.strip()!r} is not placed in the course structure",
                        au_parsed.path,
                        *self.at(au_parsed, row, "system_id"),
                    )
        # Counts.
        width = len(parsed.table.header)
        declared = course.max_fields_cst
        if declared is not None:
            widest = max([width, *(len(r.values) for r in parsed.table.rows)])
            if widest > declared:
                self.add_crs_total_text(
                    "CST010",
                    "Max_Fields_CST",
                    f"the CST has {widest} columns, more than Max_Fields_CST={declared}",
                    widest,
                )
            elif declared > width:
                self.add_crs_total_text(
                    "CST011",
                    "Max_Fields_CST",
                    f"Max_Fields_CST={declared} but the CST has {width} columns",
                    width,
                )
        # An AU written in the Block column is CST006, not a block to count.
        blocks = len(self.non_root_block_keys - set(self.au_keys))
        if course.total_blocks is not None and course.total_blocks != blocks:
            severity = Severity.WARNING if course.total_blocks == blocks + 1 else None
            noun = "blocks other than root" + (" (root counted?)" if severity else "")
            self.add_crs_total(
                "Total_Blocks", course.total_blocks, blocks, "CST012", noun, severity=severity
            )

    def add_crs_total_text(self, rule: str, keyword: str, message: str, fix: int) -> None:
        line, column = self.crs_position(keyword)
        self.add(rule, message, self.p.path("crs"), line, column, hint=f"Set {keyword}={fix}.")

    def report_cycles(self, graph: dict[str, list[str]], path: str) -> set[str]:
        """Report each cycle (strongly connected part) once; return the keys in cycles."""
        in_cycle: set[str] = set()
        for component in _strongly_connected(graph):
            if len(component) == 1:
                only = next(iter(component))
                if only not in graph.get(only, ()):
                    continue
            in_cycle |= component
            names = [self.display(k) for k in sorted(component)]
            first = min(component, key=lambda k: self.block_keys.get(k, 0))
            index = self.block_keys.get(first)
            row = self.p.cst_block_rows[index][0] if index is not None else None
            self.add(
                "CST005",
                "cycle in the course structure: " + _name_list(names, " -> "),
                path,
                row.line if row else None,
                row.column(0) if row else None,
            )
        return in_cycle

    def display(self, key: str) -> str:
        return self.spelling.get(key, key)

    def display_block(self, key: str) -> str:
        index = self.block_keys.get(key)
        return self.c.blocks[index].system_id.strip() if index is not None else key

    # ------------------------------------------------------------------ ORT

    def check_ort(self) -> None:
        p = self.p
        parsed = p.tables.get("ort")
        if parsed is None or not parsed.usable:
            return
        path = parsed.path
        course = self.c
        structure = set(self.au_keys) | set(self.block_keys)
        not_j: list[tuple[str, Row, int | None]] = []
        collided: set[str] = set()
        for relation, row, positions in zip(
            course.objective_relations, parsed.rows, p.ort_members, strict=True
        ):
            element = relation.course_element
            key = id_key(element)
            self.check_id_text(element, row, 0, path)
            if key not in structure and self.ids_complete:
                self.add(
                    "ORT002",
                    f"Course_Element {element.strip()!r} is not an AU or a block",
                    path,
                    row.line,
                    row.column(0),
                )
            for member, (member_row, field_index) in zip(relation.members, positions, strict=True):
                line, column = member_row.position(field_index)
                member_key = id_key(member)
                self.check_id_text(member, member_row, field_index, path)
                if member_key in structure:
                    if member_key not in collided:
                        collided.add(member_key)
                        self.add(
                            "ORT003",
                            f"objective {member.strip()!r} has the ID of an AU or block",
                            path,
                            line,
                            column,
                        )
                elif member.strip()[:1] not in ("J", "j"):
                    not_j.append((member.strip(), member_row, field_index))
        self.aggregate(
            "ORT006",
            _first_per_value(not_j),
            path,
            "objective {!r} does not start with J",
            "objectives",
        )
        width = max([len(parsed.table.header), *(len(r.values) for r in parsed.table.rows)])
        declared = course.max_fields_ort
        if declared is not None and width > declared:
            self.add_crs_total_text(
                "ORT004",
                "Max_Fields_ORT",
                f"the ORT has {width} columns, more than Max_Fields_ORT={declared}",
                width,
            )

    # ------------------------------------------------------------------ PRE / CMP

    def parse_expression(
        self,
        text: str,
        parsed: ParsedTable,
        row: Row,
        column_name: str,
        syntax_rule: str,
        status_rule: str,
    ) -> logic.Expr | None:
        """Parse a logic expression; report escapes, syntax, mixing and set counts."""
        line, column = self.at(parsed, row, column_name)
        index = parsed.columns.get(column_name.casefold())
        offset = 1 if index is not None and index < len(row.values) and row.is_quoted(index) else 0
        path = parsed.path
        if _ESCAPE.search(text):
            self.add(
                "PRE011",
                f"expression {text[:60]!r} contains escapes such as &amp;",
                path,
                line,
                column,
            )
            text = html.unescape(text)
        try:
            expr = logic.parse(text)
            mixed = logic.find_mixed_and_or(text) if "&" in text and "|" in text else None
        except LogicStatusError as exc:
            self.add(
                status_rule,
                f"{exc.message} in {text[:60]!r}",
                path,
                line,
                None if column is None else column + offset + exc.position,
            )
            return None
        except LogicSyntaxError as exc:
            self.add(
                syntax_rule,
                f"{exc.message} in {text[:60]!r}",
                path,
                line,
                None if column is None else column + offset + exc.position,
            )
            return None
        except (ValueError, RecursionError) as exc:
            # The parser raises only LogicSyntaxError by contract; anything else it lets
            # through (e.g. int() of a non-ASCII digit) still means "does not parse".
            self.add(syntax_rule, f"{exc} in {text[:60]!r}"[:200], path, line, column)
            return None
        if mixed is not None:
            self.add(
                "PRE008",
                f"& and | mixed without parentheses in {text[:60]!r}",
                path,
                line,
                None if column is None else column + offset + mixed,
            )
        for node in _walk(expr):
            if isinstance(node, logic.SetExpr) and not 1 <= node.count <= len(node.members):
                self.add(
                    "PRE010",
                    f"set count {node.count} in {str(node)!r} is not between 1 and "
                    f"{len(node.members)}",
                    path,
                    line,
                    column,
                )
        return expr

    def check_pre(self) -> None:
        p = self.p
        parsed = p.tables.get("pre")
        if parsed is None or not parsed.usable:
            return
        path = parsed.path
        known_refs = self.element_keys
        graph: dict[str, set[str]] = {}
        seen: dict[str, int] = {}
        for prerequisite, row in zip(self.c.prerequisites, parsed.rows, strict=True):
            line, column = self.at(parsed, row, "structure_element")
            element = prerequisite.element
            key = id_key(element)
            index = parsed.columns.get("structure_element")
            self.check_id_text(element, row, index, path)
            if key == "root" or (
                self.ids_complete
                and key not in self.au_keys
                and key not in self.non_root_block_keys
            ):
                what = "root" if key == "root" else f"{element.strip()!r}"
                self.add(
                    "PRE002",
                    f"prerequisite for {what}, which is "
                    + ("the top block" if key == "root" else "not an AU or a block"),
                    path,
                    line,
                    column,
                )
            elif key in seen:
                self.add(
                    "PRE007",
                    f"second PRE record for {element.strip()!r} (first at line {seen[key]})",
                    path,
                    line,
                    column,
                )
            else:
                seen[key] = line
            expr = self.parse_expression(
                prerequisite.expression, parsed, row, "prerequisite", "PRE003", "PRE009"
            )
            if expr is None:
                continue
            eline, ecolumn = self.at(parsed, row, "prerequisite")
            references = sorted(expr.references())
            for name in references:
                ref_key = id_key(name)
                if ref_key not in known_refs and self.ids_complete:
                    self.add(
                        "PRE004",
                        f"{name!r} in the prerequisite of {element.strip()!r} is not an AU, "
                        "block or objective",
                        path,
                        eline,
                        ecolumn,
                    )
                else:
                    spelled = self.spelling.get(ref_key)
                    if spelled is not None and spelled != name:
                        self.case_mismatch.setdefault(path, []).append(
                            (name, row, parsed.columns.get("prerequisite"), spelled)
                        )
            ref_keys = {id_key(n) for n in references}
            if key and key in ref_keys:
                self.add(
                    "PRE005",
                    f"{element.strip()!r} requires itself",
                    path,
                    eline,
                    ecolumn,
                )
            if key:
                graph.setdefault(key, set()).update(
                    k for k in ref_keys if k != key and (k in self.au_keys or k in self.block_keys)
                )
        adjacency = {k: sorted(v) for k, v in graph.items()}
        for component in _strongly_connected(adjacency):
            if len(component) < 2:
                continue
            names = [self.display(k) for k in sorted(component)]
            first_line = min(seen.get(k, 0) for k in component) or None
            self.add(
                "PRE006",
                "prerequisite cycle: " + _name_list(names, ", ") + " require each other",
                path,
                first_line,
                None,
            )

    def check_cmp(self) -> None:
        p = self.p
        parsed = p.tables.get("cmp")
        if parsed is None or not parsed.usable:
            return
        path = parsed.path
        structure = set(self.au_keys) | set(self.block_keys)
        for requirement, row in zip(self.c.completion_requirements, parsed.rows, strict=True):
            line, column = self.at(parsed, row, "structure_element")
            element = requirement.element
            key = id_key(element)
            index = parsed.columns.get("structure_element")
            if key:
                self.check_id_text(element, row, index, path)
            if not key or (key in self.unknown_cmp_keys and self.ids_complete):
                self.add(
                    "CMP002",
                    f"CMP element {element.strip()!r} is not an AU, block or described objective",
                    path,
                    line,
                    column,
                )
            expr = self.parse_expression(
                requirement.requirement, parsed, row, "requirement", "CMP003", "CMP003"
            )
            if expr is not None:
                eline, ecolumn = self.at(parsed, row, "requirement")
                for name in sorted(expr.references()):
                    if id_key(name) not in self.element_keys and self.ids_complete:
                        self.add(
                            "CMP003",
                            f"{name!r} in the requirement of {element.strip()!r} is not an AU, "
                            "block or objective",
                            path,
                            eline,
                            ecolumn,
                        )
            if logic.normalize_status(requirement.result) is None:
                self.add(
                    "CMP004",
                    f"Result {requirement.result!r} is not a status value",
                    path,
                    *self.at(parsed, row, "result"),
                )
            next_id = requirement.next.strip()
            if next_id and id_key(next_id) not in structure and self.ids_complete:
                self.add(
                    "CMP005",
                    f"Next {next_id!r} is not an AU or a block",
                    path,
                    *self.at(parsed, row, "next"),
                )
            return_value = requirement.return_.strip()
            if return_value and return_value.casefold() not in _BOOLEAN_LIKE:
                self.add(
                    "CMP005",
                    f"Return {return_value!r} is not true/false",
                    path,
                    *self.at(parsed, row, "return"),
                )

    def check_objective_totals(self) -> None:
        """ORT005: Total_Objectives / Total_Complex_Obj against the objectives found."""
        if self.objectives_unknowable:
            return
        course = self.c
        objectives = len(self.objective_keys)
        if course.total_objectives is not None and course.total_objectives != objectives:
            self.add_crs_total(
                "Total_Objectives", course.total_objectives, objectives, "ORT005", "objectives"
            )
        complex_count = len(self.complex_keys.keys() - self.unknown_cmp_keys)
        if course.total_complex_obj is not None and course.total_complex_obj != complex_count:
            keyword = "Total_Complex_Obj"
            if self.crs_position(keyword) == (None, None):
                keyword = "Total_Complex_Objectives"
            self.add_crs_total(
                keyword, course.total_complex_obj, complex_count, "ORT005", "complex objectives"
            )

    # ------------------------------------------------------------------ levels

    def check_levels(self) -> None:
        course = self.c
        p = self.p
        if any(
            slot in p.files.files and not p.usable(slot) for slot in ("cst", "ort", "pre", "cmp")
        ):
            return  # a file we could not read may use (or not use) higher-level features
        level = course.level.strip().casefold()
        declared = _LEVEL_RANK.get(level)
        if declared is None:
            return
        needed = 1
        reasons: list[str] = []
        if self.non_root_block_keys:
            needed = max(needed, 2)
            reasons.append("blocks")
        if course.prerequisites:
            needed = max(needed, 2)
            reasons.append("prerequisites (.pre)")
        if course.completion_requirements:
            needed = max(needed, 2)
            reasons.append("completion requirements (.cmp)")
        if course.objective_relations:
            needed = max(needed, 3)
            reasons.append("objectives (.ort)")
        if self.complex_keys.keys() - self.unknown_cmp_keys:
            needed = max(needed, 4)
            reasons.append("complex objectives (.cmp)")
        line, column = self.crs_position("Level")
        names = {1: "1", 2: "2", 3: "3a", 4: "3b", 5: "4"}
        if needed > declared:
            self.add(
                "LVL001",
                f"Level={course.level.strip()} but the files use "
                + ", ".join(reasons)
                + f" (level {names[needed]})",
                self.p.path("crs"),
                line,
                column,
            )
        elif declared > needed:
            self.add(
                "LVL002",
                f"Level={course.level.strip()} but the features used need only level "
                f"{names[needed]}",
                self.p.path("crs"),
                line,
                column,
            )


def _name_list(names: list[str], separator: str, limit: int = 10) -> str:
    """Join names, cut after ``limit`` (cycles can run through thousands of elements)."""
    shown = separator.join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


def _first_index(keys: list[str]) -> dict[str, int]:
    """Key -> index of its first occurrence."""
    return {key: index for index, key in reversed(list(enumerate(keys)))}


def _first_per_value(
    items: list[tuple[str, Row, int | None]],
) -> list[tuple[str, Row, int | None]]:
    seen: set[str] = set()
    result = []
    for item in items:
        key = item[0].casefold()
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def _normpath(path: str) -> str:
    parts: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _strongly_connected(graph: dict[str, list[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (deep structures must not hit the recursion limit)."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[set[str]] = []
    counter = 0
    for start in graph:
        if start in index_of:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(graph.get(start, ())))]
        index_of[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index_of:
                    index_of[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(graph.get(succ, ()))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index_of[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                result.append(component)
    return result
