"""Hypothesis strategies for AICC course structures: valid models and broken file sets.

This is the only module of :mod:`aicc` that imports hypothesis; import it in tests only.
Vendors reuse it in their own property tests::

    from hypothesis import given
    from aicc import strategies

    @given(strategies.course_files(level="2"))
    def test_my_lms_imports_every_valid_course(files):
        assert my_lms.import_aicc(files).ok

    @given(strategies.broken_courses())
    def test_my_lms_rejects_broken_courses(example):
        files, rule_id = example        # rule_id names the defect, e.g. "CST005"
        assert not my_lms.import_aicc(files).ok

Strategies:

* :func:`courses` -- valid :class:`~aicc.model.Course` models, levels ``1``, ``2``,
  ``3a``, ``3b``: nested blocks from level 2, prerequisites and block completion
  requirements from level 2, objectives (ORT) from 3a, complex objectives (CMP on
  objectives) at 3b. Every model writes, validates without errors and reads back equal.
* :func:`course_files` / :func:`course_zips` -- the same, written by :mod:`aicc.writer`.
* :func:`broken_courses` -- ``(files, rule_id)``: a valid course written by the writer
  with exactly one defect injected; the validator reports ``rule_id`` as an error.
  :func:`broken_course_zips` packs the same examples as zip bytes.
* :func:`expressions` -- logic expression ASTs over given identifiers.
"""

from __future__ import annotations

import copy
import functools
import io
import re
import string
import zipfile
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from hypothesis import strategies as st

from aicc.logic import STATUSES
from aicc.logic import And
from aicc.logic import Comparison
from aicc.logic import Expr
from aicc.logic import Not
from aicc.logic import Or
from aicc.logic import Ref
from aicc.logic import SetExpr
from aicc.model import REQUIRED_BEHAVIOR_KEYWORDS
from aicc.model import REQUIRED_COURSE_KEYWORDS
from aicc.model import REQUIRED_EXTENSIONS
from aicc.model import AssignableUnit
from aicc.model import Block
from aicc.model import CompletionRequirement
from aicc.model import Course
from aicc.model import Descriptor
from aicc.model import ObjectiveRelation
from aicc.model import Prerequisite
from aicc.model import id_key
from aicc.writer import write
from aicc.writer import write_zip

__all__ = [
    "DEFECT_RULES",
    "LEVELS",
    "broken_course_zips",
    "broken_courses",
    "course_files",
    "course_zips",
    "courses",
    "expressions",
]

#: Levels :func:`courses` generates.
LEVELS: tuple[str, ...] = ("1", "2", "3a", "3b")


@dataclass(frozen=True, slots=True)
class _Features:
    blocks: bool
    prerequisites: bool
    completion: bool
    objectives: bool
    complex_objectives: bool


_FEATURES: dict[str, _Features] = {
    "1": _Features(False, False, False, False, False),
    "2": _Features(True, True, True, False, False),
    "3a": _Features(True, True, True, True, False),
    "3b": _Features(True, True, True, True, True),
}

# --------------------------------------------------------------------------- text

# Printable ASCII plus a few non-ASCII letters: quotes and commas exercise table quoting,
# '=', ';' and '[' exercise the INI reader; non-ASCII only earns a warning.
_TEXT_ALPHABET = (
    string.ascii_letters + string.digits + " .,;:!?'\"=()[]{}&|~*<>/-_+#%@" + ("éÉüßø—€中文")
)
_ID_ALPHABET = string.ascii_letters + string.digits + "_-"
_GROUP_HEADER = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*$")


# Strategies are built once and reused: building (and validating) a fresh strategy inside
# every draw costs far more than drawing from it.


@functools.cache
def _text(min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    return st.text(_TEXT_ALPHABET, min_size=min_size, max_size=max_size)


def _fix_title(value: str) -> str:
    # A title must hold something other than spaces.
    return value if value.strip() else value + "T"


def _fix_crs_value(value: str) -> str:
    # Readers trim INI values and strip surrounding double quotes.
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value += "."
    return value or "x"


def _fix_description(lines: list[str]) -> str:
    kept = ["x" + line if _is_header(line) else line for line in lines]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


def _is_header(line: str) -> bool:
    match = _GROUP_HEADER.match(line)
    return match is not None and bool(match.group(1))


_TITLES = _text(1, 40).map(_fix_title)
_CRS_VALUES = _text(1, 40).map(_fix_crs_value)
_DESCRIPTIONS = st.lists(_text(0, 50), max_size=5).map(_fix_description)
_ID_SUFFIX = st.text(_ID_ALPHABET, min_size=1, max_size=6)
_COURSE_IDS = st.text(_ID_ALPHABET, min_size=1, max_size=12)
_DEVELOPER_IDS = st.one_of(st.just(""), _text(0, 12))

_T = TypeVar("_T")


def _pick(draw: st.DrawFn, choices: Sequence[_T]) -> _T:
    """Draw one of ``choices`` (cheaper than building a sampled_from per draw)."""
    return choices[draw(st.integers(0, len(choices) - 1))]


@functools.cache
def _ids(prefix: str, count: int) -> st.SearchStrategy[list[str]]:
    return st.lists(_ID_SUFFIX, min_size=count, max_size=count, unique_by=str.casefold).map(
        lambda suffixes: [prefix + s for s in suffixes]
    )


# --------------------------------------------------------------------------- expressions

_STATUS_WORDS = tuple(STATUSES.values())


def expressions(identifiers: Sequence[str], max_leaves: int = 6) -> st.SearchStrategy[Expr]:
    """Logic expression ASTs whose identifiers are drawn from ``identifiers``.

    Args:
        identifiers: Element IDs to use (at least one); set counts stay within 1..size.
        max_leaves: Upper bound on the number of leaves.

    Returns:
        A strategy of :class:`~aicc.logic.Expr` trees using every node type.
    """
    ids = list(dict.fromkeys(identifiers))
    if not ids:
        raise ValueError("expressions() needs at least one identifier")
    names = st.sampled_from(ids)
    sets = st.lists(names, min_size=1, max_size=min(4, len(ids)), unique=True).flatmap(
        lambda members: st.integers(1, len(members)).map(
            lambda count: SetExpr(count, tuple(members))
        )
    )
    comparisons = st.builds(
        Comparison, names, st.sampled_from(["=", "<>"]), st.sampled_from(_STATUS_WORDS)
    )
    leaves: st.SearchStrategy[Expr] = st.one_of(names.map(Ref), comparisons, sets)

    def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        groups = st.lists(children, min_size=2, max_size=3).map(tuple)
        return st.one_of(children.map(Not), groups.map(And), groups.map(Or))

    return st.recursive(leaves, extend, max_leaves=max_leaves)


# Course expressions are drawn once over placeholder names and then renamed onto the
# course's own IDs (placeholder i -> ids[i % len(ids)]).
_PLACEHOLDERS = tuple(f"_{i}" for i in range(6))
_SHAPES = expressions(_PLACEHOLDERS, max_leaves=4)


def _rename(expr: Expr, ids: Sequence[str]) -> Expr:
    def name(placeholder: str) -> str:
        return ids[int(placeholder[1:]) % len(ids)]

    if isinstance(expr, Ref):
        return Ref(name(expr.name))
    if isinstance(expr, Comparison):
        return Comparison(name(expr.name), expr.op, expr.status)
    if isinstance(expr, SetExpr):
        members = tuple(dict.fromkeys(name(m) for m in expr.members))
        return SetExpr(min(expr.count, len(members)), members)
    if isinstance(expr, Not):
        return Not(_rename(expr.operand, ids))
    if isinstance(expr, And):
        return And(tuple(_rename(o, ids) for o in expr.operands))
    if isinstance(expr, Or):
        return Or(tuple(_rename(o, ids) for o in expr.operands))
    raise TypeError(f"unexpected node {expr!r}")  # pragma: no cover - all nodes handled


def _expression_text(expr: Expr, compact: bool) -> str:
    text = str(expr)
    # Both spellings are valid; compact is what most producers write.
    return text.replace(" & ", "&").replace(" | ", "|") if compact else text


# --------------------------------------------------------------------------- AUs

_FILE_NAMES = st.one_of(
    st.text(string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=10).map(
        lambda s: f"{s}/index.html"
    ),
    st.sampled_from(
        ["index.html", "content/start.htm?lang=en", "https://content.example.com/launch?id=42"]
    ),
)
_MAX_SCORES = st.sampled_from(["", "100", "10", "50.5"])
_MASTERY = st.one_of(st.just(""), st.integers(0, 100))
_TYPES = st.sampled_from(["", "lesson", "test", "Content Object"])
_COMMAND_LINES = st.sampled_from(["", "", "-fullscreen"])
_TIMES = st.sampled_from(["", "00:30:00", "01:15:30.5", "9999:59:59"])
_ACTIONS = st.sampled_from(["", "exit,message", "continue,no message", "C,N", "e,m"])
_WEB_LAUNCH = st.sampled_from(["", "CMI=HACP", "lang=en&mode=review"])
_PASSWORDS = st.sampled_from(["", "s3cret-pass"])


def _assignable_unit(draw: st.DrawFn, system_id: str, extra: Sequence[str]) -> AssignableUnit:
    max_score = draw(_MAX_SCORES)
    mastery = draw(_MASTERY)
    if mastery != "" and max_score:
        # Mastery above Max_Score is only a warning, but keep generated courses clean.
        mastery = min(int(mastery), int(float(max_score)))
    return AssignableUnit(
        system_id=system_id,
        type=draw(_TYPES),
        command_line=draw(_COMMAND_LINES),
        file_name=draw(_FILE_NAMES),
        max_score=max_score,
        mastery_score=str(mastery),
        max_time_allowed=draw(_TIMES),
        time_limit_action=draw(_ACTIONS),
        system_vendor=draw(_text(0, 20)),
        core_vendor=draw(_text(0, 20)),
        web_launch=draw(_WEB_LAUNCH),
        au_password=draw(_PASSWORDS),
        extra={name: draw(_text(1, 10)) for name in extra},
    )


# --------------------------------------------------------------------------- courses


def courses(level: str | None = None) -> st.SearchStrategy[Course]:
    """Valid course models.

    Args:
        level: ``"1"``, ``"2"``, ``"3a"`` or ``"3b"`` (case-insensitive), or None for any.
            The course uses only features that level allows: level 1 has AUs under
            ``root`` only; level 2 adds nested blocks, prerequisites and block
            completion requirements; 3a adds objectives (ORT); 3b adds complex objectives.

    Returns:
        A strategy of courses whose declared totals equal the computed ones, so that
        ``aicc.read(aicc.write(c)).courses == [c]`` and ``aicc.validate(aicc.write(c))``
        reports no errors.

    Raises:
        ValueError: ``level`` is not one of the generated levels.
    """
    if level is None:
        return st.sampled_from(LEVELS).flatmap(_course)
    key = level.strip().casefold()
    if key not in _FEATURES:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    return _course(key)


def course_files(level: str | None = None) -> st.SearchStrategy[dict[str, bytes]]:
    """Valid courses written as files (name -> bytes), see :func:`courses`."""
    return courses(level).map(write)


def course_zips(level: str | None = None) -> st.SearchStrategy[bytes]:
    """Valid courses written as zip packages, see :func:`courses`."""
    return courses(level).map(write_zip)


@st.composite
def _course(draw: st.DrawFn, level: str) -> Course:
    features = _FEATURES[level]
    au_ids = draw(_ids("A", draw(st.integers(1, 8))))
    block_ids = draw(_ids("B", draw(st.integers(0, 4)))) if features.blocks else []

    # The tree: each block hangs under root or an earlier block (so no cycles), each AU
    # under root or any block; member order comes from a random permutation.
    parent: dict[str, str] = {}
    for index, block_id in enumerate(block_ids):
        parent[block_id] = _pick(draw, ["root", *block_ids[:index]])
    for au_id in au_ids:
        parent[au_id] = _pick(draw, ["root", *block_ids])
    members: dict[str, list[str]] = {"root": [], **{b: [] for b in block_ids}}
    for child in draw(st.permutations([*block_ids, *au_ids])):
        members[parent[child]].append(child)
    root_spelling = _pick(draw, ["root", "root", "ROOT", "Root"])
    blocks = [Block(root_spelling, members["root"])]
    blocks += [Block(b, members[b]) for b in block_ids]

    elements = [*au_ids, *block_ids]
    objective_ids: list[str] = []
    new_complex_ids: list[str] = []
    relations: list[ObjectiveRelation] = []
    if features.objectives:
        n_new = draw(st.integers(0, 2)) if features.complex_objectives else 0
        # One draw for plain and complex-only objectives keeps their IDs distinct.
        all_ids = draw(_ids("J", draw(st.integers(1, 4)) + n_new))
        split = len(all_ids) - n_new
        objective_ids, new_complex_ids = all_ids[:split], all_ids[split:]
        related: dict[str, list[str]] = {}
        for objective in objective_ids:  # every objective is related at least once
            related.setdefault(_pick(draw, elements), []).append(objective)
        for element in draw(st.lists(st.sampled_from(elements), max_size=3, unique=True)):
            for objective in draw(st.lists(st.sampled_from(objective_ids), unique=True)):
                if objective not in related.setdefault(element, []):
                    related[element].append(objective)
        relations = [ObjectiveRelation(e, list(objs)) for e, objs in related.items() if objs]

    complex_ids: list[str] = []
    if features.complex_objectives:
        # At least one complex objective, so the course really needs level 3b.
        existing = draw(
            st.lists(
                st.sampled_from(objective_ids),
                min_size=0 if new_complex_ids else 1,
                max_size=2,
                unique=True,
            )
        )
        complex_ids = [*existing, *new_complex_ids]
    all_objectives = [*objective_ids, *(c for c in complex_ids if c not in objective_ids)]

    compact = draw(st.booleans())
    prerequisites: list[Prerequisite] = []
    if features.prerequisites and len(elements) > 1:
        order = draw(st.permutations(elements))
        for position, element in enumerate(order):
            # Only earlier elements (no cycles), never an ancestor or a descendant
            # (a block cannot wait for its own content, nor an AU for its own block).
            family = _ancestors(element, parent) | _descendants(element, members)
            candidates = [e for e in order[:position] if e not in family] + objective_ids
            wanted = draw(st.booleans())
            if candidates and wanted:
                expr = _rename(draw(_SHAPES), candidates)
                prerequisites.append(Prerequisite(element, _expression_text(expr, compact)))

    requirements: list[CompletionRequirement] = []
    if features.completion:
        targets = list(block_ids)
        targets += complex_ids
        for element in targets:
            if element not in complex_ids and not draw(st.booleans()):
                continue
            candidates = [e for e in [*elements, *objective_ids] if e != element]
            if not candidates:
                continue
            expr = _rename(draw(_SHAPES), candidates)
            requirements.append(
                CompletionRequirement(
                    element=element,
                    requirement=_expression_text(expr, compact),
                    result=_pick(draw, ["passed", "completed", "P", "C", "failed"]),
                    next=_pick(draw, ["", *elements]),
                    return_=_pick(draw, ["", "true", "false", "Y", "N"]),
                )
            )

    extra = _pick(draw, [(), (), ("Weight",)])
    aus = [_assignable_unit(draw, au_id, extra) for au_id in au_ids]
    described = draw(st.permutations([*au_ids, *block_ids, *all_objectives]))
    descriptors = [
        Descriptor(
            system_id=element,
            developer_id=draw(_DEVELOPER_IDS),
            title=draw(_TITLES),
            description=draw(_text(0, 60)),
        )
        for element in described
    ]
    level_text = level.upper() if level.endswith(("a", "b")) and draw(st.booleans()) else level
    course = Course(
        base_name=draw(_COURSE_IDS),
        course_creator=draw(_CRS_VALUES),
        course_id=draw(_COURSE_IDS),
        course_system=_pick(draw, ["HTML", "Articulate Storyline", "cckit"]),
        course_title=draw(_CRS_VALUES),
        level=level_text,
        version=_pick(draw, ["3.5", "4.0", "2.2", "3.4"]),
        max_normal=draw(st.integers(1, 99)),
        description=draw(_DESCRIPTIONS),
        aus=aus,
        descriptors=descriptors,
        blocks=blocks,
        objective_relations=relations,
        prerequisites=prerequisites,
        completion_requirements=requirements,
    )
    return course.with_computed_totals()


def _ancestors(element: str, parent: dict[str, str]) -> set[str]:
    found: set[str] = set()
    current = parent.get(element)
    while current is not None and current != "root":
        found.add(current)
        current = parent.get(current)
    return found


def _descendants(element: str, members: dict[str, list[str]]) -> set[str]:
    found: set[str] = set()
    stack = list(members.get(element, []))
    while stack:
        child = stack.pop()
        if child not in found:
            found.add(child)
            stack.extend(members.get(child, []))
    return found


# --------------------------------------------------------------------------- defects

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


# -- package and encoding


@_defect("PKG001")
def _no_crs(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    del files[_name(course, "crs")]
    return files


@_defect("PKG002")
def _missing_required_file(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    del files[_name(course, draw(st.sampled_from(["au", "des", "cst"])))]
    return files


@_defect("PKG008")
def _empty_file(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    files[_name(course, draw(st.sampled_from(REQUIRED_EXTENSIONS)))] = draw(
        st.sampled_from([b"", b"  \r\n", b"\xef\xbb\xbf"])
    )
    return files


@_defect("ENC002")
def _utf16(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, draw(st.sampled_from(REQUIRED_EXTENSIONS)))
    files[name] = files[name].decode("utf-8").encode(draw(st.sampled_from(["utf-16", "utf-32"])))
    return files


# -- CRS


@_defect("CRS001")
def _no_course_group(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, "crs")
    files[name] = _join(line for line in _lines(files[name]) if line != "[Course]")
    return files


@_defect("CRS002")
def _no_behavior_group(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, "crs")
    files[name] = _join(
        line
        for line in _lines(files[name])
        if line != "[Course_Behavior]" and not line.startswith("Max_Normal=")
    )
    return files


@_defect("CRS003")
def _no_description_group(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, "crs")
    lines = _lines(files[name])
    files[name] = _join(lines[: lines.index("[Course_Description]")])
    return files


_REQUIRED_KEYWORDS = (*REQUIRED_COURSE_KEYWORDS, *REQUIRED_BEHAVIOR_KEYWORDS)


@_defect("CRS004")
def _missing_keyword(draw: st.DrawFn, course: Course) -> Files:
    return _set_keyword(write(course), course, draw(st.sampled_from(_REQUIRED_KEYWORDS)), None)


@_defect("CRS005")
def _empty_keyword(draw: st.DrawFn, course: Course) -> Files:
    keyword = draw(st.sampled_from([k for k in _REQUIRED_KEYWORDS if k != "Level"]))
    return _set_keyword(write(course), course, keyword, "")


@_defect("CRS006")
def _non_integer_keyword(draw: st.DrawFn, course: Course) -> Files:
    keyword = draw(st.sampled_from(["Max_Fields_CST", "Total_AUs", "Total_Blocks", "Max_Normal"]))
    value = draw(st.sampled_from(["abc", "-1", "1.5", "12x", "+3"]))
    return _set_keyword(write(course), course, keyword, value)


@_defect("CRS007")
def _max_normal_out_of_range(draw: st.DrawFn, course: Course) -> Files:
    value = draw(st.sampled_from(["0", "100", "250"]))
    return _set_keyword(write(course), course, "Max_Normal", value)


@_defect("CRS020", _WITH_OBJECTIVES)
def _missing_max_fields_ort(draw: st.DrawFn, course: Course) -> Files:
    return _set_keyword(write(course), course, "Max_Fields_ORT", None)


# -- tables


@_defect("TBL002")
def _required_column_missing(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    ext, column = draw(
        st.sampled_from(
            [
                ("au", "Command_Line"),
                ("au", "File_Name"),
                ("au", "Core_Vendor"),
                ("des", "Title"),
            ]
        )
    )
    name = _name(course, ext)
    rows = _rows(files[name])
    index = _column_index(rows, column)
    files[name] = _table([v for i, v in enumerate(row) if i != index] for row in rows)
    return files


@_defect("TBL003")
def _duplicate_column(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    ext, column = draw(st.sampled_from([("au", "Type"), ("au", "File_Name"), ("des", "Title")]))
    name = _name(course, ext)
    rows = _rows(files[name])
    index = _column_index(rows, column)
    files[name] = _table([*row, row[index]] for row in rows)
    return files


@_defect("TBL004")
def _empty_column_name(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, draw(st.sampled_from(["au", "des"])))
    rows = _rows(files[name])
    files[name] = _table([*row, ""] for row in rows)
    return files


@_defect("TBL005")
def _row_width(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, draw(st.sampled_from(["au", "des"])))
    rows = _rows(files[name])
    index = draw(st.integers(1, len(rows) - 1))
    rows[index] = [*rows[index], "surplus"] if draw(st.booleans()) else rows[index][:-1]
    files[name] = _table(rows)
    return files


@_defect("TBL006")
def _unterminated_quote(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, draw(st.sampled_from(["au", "des", "cst"])))
    # Drop the closing quote of the last field: the field runs to the end of the file.
    files[name] = files[name][: -len(b'"\r\n')] + b"\r\n"
    return files


@_defect("TBL007")
def _text_after_quote(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, draw(st.sampled_from(["au", "des", "cst"])))
    lines = _lines(files[name])
    index = draw(st.integers(1, len(lines) - 1))
    # The first field is an ID without quotes inside, so its closing quote is at a known
    # place: add text right after it.
    closing = lines[index].index('"', 1)
    lines[index] = lines[index][: closing + 1] + "x" + lines[index][closing + 1 :]
    files[name] = _join(lines)
    return files


# -- AU


def _pick_au(draw: st.DrawFn, course: Course) -> AssignableUnit:
    return course.aus[draw(st.integers(0, len(course.aus) - 1))]


@_defect("AU001")
def _empty_au_id(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, "au")
    rows = _rows(files[name])
    rows[draw(st.integers(1, len(rows) - 1))][0] = ""
    files[name] = _table(rows)
    return files


@_defect("AU002")
def _duplicate_au(draw: st.DrawFn, course: Course) -> Files:
    au = _pick_au(draw, course)
    twin = copy.deepcopy(au)
    if draw(st.booleans()) and au.system_id.swapcase() != au.system_id:
        twin.system_id = au.system_id.swapcase()  # duplicates compare case-insensitively
    course.aus.append(twin)
    return write(course)


@_defect("AU003")
def _bad_au_id(draw: st.DrawFn, course: Course) -> Files:
    _add_au(course, draw(st.sampled_from(["A bad", "A\tTab", "A" * 256])))
    return write(course)


@_defect("AU005")
def _no_launch(draw: st.DrawFn, course: Course) -> Files:
    au = _pick_au(draw, course)
    au.file_name = ""
    au.command_line = ""
    return write(course)


@_defect("AU006")
def _bad_max_score(draw: st.DrawFn, course: Course) -> Files:
    au = _pick_au(draw, course)
    au.max_score = draw(st.sampled_from(["ten", "1.2.3", "100%", "1e3"]))
    au.mastery_score = ""
    return write(course)


@_defect("AU007")
def _bad_mastery_score(draw: st.DrawFn, course: Course) -> Files:
    _pick_au(draw, course).mastery_score = draw(st.sampled_from(["high", "80%", "7..5"]))
    return write(course)


@_defect("AU009")
def _bad_max_time(draw: st.DrawFn, course: Course) -> Files:
    _pick_au(draw, course).max_time_allowed = draw(
        st.sampled_from(["1 hour", "00:30", "abc", "00:30:00x"])
    )
    return write(course)


@_defect("AU011")
def _bad_time_limit_action(draw: st.DrawFn, course: Course) -> Files:
    _pick_au(draw, course).time_limit_action = draw(st.sampled_from(["E,E", "stop,now", "X,Y"]))
    return write(course)


@_defect("AU017")
def _wrong_total_aus(draw: st.DrawFn, course: Course) -> Files:
    count = len(course.aus)
    wrong = draw(st.sampled_from([count + 1, count + 5, *([count - 1] if count > 1 else [])]))
    return _set_keyword(write(course), course, "Total_AUs", str(wrong))


@_defect("AU019")
def _no_au_records(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, "au")
    files[name] = _join(_lines(files[name])[:1])
    return files


# -- DES


@_defect("DES001")
def _missing_descriptor(draw: st.DrawFn, course: Course) -> Files:
    # An AU, block or ORT objective; a complex objective known only from the CMP is
    # defined by its DES record, so without it the CMP element is unknown (CMP002).
    needed = {id_key(i) for i in course.au_ids + course.block_ids}
    needed |= {id_key(m) for r in course.objective_relations for m in r.members}
    indexes = [i for i, d in enumerate(course.descriptors) if id_key(d.system_id) in needed]
    del course.descriptors[draw(st.sampled_from(indexes))]
    return write(course)


@_defect("DES003")
def _empty_title(draw: st.DrawFn, course: Course) -> Files:
    course.descriptors[draw(st.integers(0, len(course.descriptors) - 1))].title = ""
    return write(course)


@_defect("DES004")
def _duplicate_descriptor(draw: st.DrawFn, course: Course) -> Files:
    original = course.descriptors[draw(st.integers(0, len(course.descriptors) - 1))]
    course.descriptors.append(Descriptor(original.system_id, title="Second title"))
    return write(course)


@_defect("TBL001")
def _no_header(draw: st.DrawFn, course: Course) -> Files:
    # Siebel-style: the .des (or .au) starts with its first record, no header row.
    files = write(course)
    name = _name(course, draw(st.sampled_from(["des", "au"])))
    files[name] = _join(_lines(files[name])[1:])
    return files


def _rename_header(files: Files, name: str, index: int, new: str) -> Files:
    rows = _rows(files[name])
    rows[0][index] = new
    files[name] = _table(rows)
    return files


# -- CST


@_defect("CST001")
def _bad_cst_header(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    if draw(st.booleans()):
        return _rename_header(files, _name(course, "cst"), 0, "Blocks")
    return _rename_header(files, _name(course, "cst"), 1, "Members")


def _pick_block(draw: st.DrawFn, course: Course) -> Block:
    return course.blocks[draw(st.integers(0, len(course.blocks) - 1))]


@_defect("CST002")
def _no_root(draw: st.DrawFn, course: Course) -> Files:
    root = course.root
    assert root is not None
    root.system_id = draw(st.sampled_from(["top", "Course", "rootx"]))
    return write(course)


@_defect("CST003")
def _unknown_member(draw: st.DrawFn, course: Course) -> Files:
    _pick_block(draw, course).members.append(_UNKNOWN)
    return write(course)


@_defect("CST004")
def _member_twice(draw: st.DrawFn, course: Course) -> Files:
    _pick_block(draw, course).members.append(_pick_au(draw, course).system_id)
    return write(course)


@_defect("CST005")
def _cycle(draw: st.DrawFn, course: Course) -> Files:
    one, two = "BCycle_01", "BCycle_02"
    course.blocks += [Block(one, [two]), Block(two, [one])]
    course.descriptors += [Descriptor(one, title="One"), Descriptor(two, title="Two")]
    return write(course)


@_defect("CST006")
def _au_as_block(draw: st.DrawFn, course: Course) -> Files:
    course.blocks.append(Block(_pick_au(draw, course).system_id, []))
    return write(course)


@_defect("CST007")
def _unreachable_block(draw: st.DrawFn, course: Course) -> Files:
    course.blocks.append(Block("BLost_001", []))
    course.descriptors.append(Descriptor("BLost_001", title="Lost block"))
    return write(course)


@_defect("CST008")
def _au_not_placed(draw: st.DrawFn, course: Course) -> Files:
    au_id = id_key(_pick_au(draw, course).system_id)
    for block in course.blocks:
        block.members = [m for m in block.members if id_key(m) != au_id]
    return write(course)


@_defect("CST010")
def _max_fields_cst_too_small(draw: st.DrawFn, course: Course) -> Files:
    value = str(course.computed_max_fields_cst - 1)
    return _set_keyword(write(course), course, "Max_Fields_CST", value)


@_defect("CST012")
def _wrong_total_blocks(draw: st.DrawFn, course: Course) -> Files:
    count = course.computed_total_blocks
    # count + 1 is the "root counted" reading, only a warning: never use it.
    wrong = draw(st.sampled_from([count + 2, count + 7, *([count - 1] if count else [])]))
    return _set_keyword(write(course), course, "Total_Blocks", str(wrong))


@_defect("CST014")
def _root_as_member(draw: st.DrawFn, course: Course) -> Files:
    _pick_block(draw, course).members.append("root")
    return write(course)


# -- ORT


@_defect("ORT001", _WITH_OBJECTIVES)
def _bad_ort_header(draw: st.DrawFn, course: Course) -> Files:
    new = draw(st.sampled_from(["Element", "Objective", "AU"]))
    return _rename_header(write(course), _name(course, "ort"), 0, new)


@_defect("ORT002", _WITH_OBJECTIVES)
def _ort_unknown_element(draw: st.DrawFn, course: Course) -> Files:
    objective = course.objectives[0].system_id
    course.objective_relations.append(ObjectiveRelation(_UNKNOWN, [objective]))
    return write(course)


@_defect("ORT003", _WITH_OBJECTIVES)
def _objective_is_au(draw: st.DrawFn, course: Course) -> Files:
    relation = course.objective_relations[0]
    relation.members.append(_pick_au(draw, course).system_id)
    return write(course)


@_defect("ORT004", _WITH_OBJECTIVES)
def _max_fields_ort_too_small(draw: st.DrawFn, course: Course) -> Files:
    value = str(course.computed_max_fields_ort - 1)
    return _set_keyword(write(course), course, "Max_Fields_ORT", value)


@_defect("ORT005", _WITH_OBJECTIVES)
def _wrong_total_objectives(draw: st.DrawFn, course: Course) -> Files:
    value = str(course.computed_total_objectives + draw(st.integers(1, 3)))
    return _set_keyword(write(course), course, "Total_Objectives", value)


# -- PRE


def _replace_prerequisites(course: Course, new: Sequence[Prerequisite]) -> Files:
    elements = {id_key(p.element) for p in new}
    course.prerequisites = [p for p in course.prerequisites if id_key(p.element) not in elements]
    course.prerequisites += new
    return write(course)


@_defect("PRE001")
def _bad_pre_header(draw: st.DrawFn, course: Course) -> Files:
    if not course.prerequisites:
        first, second = _two_aus(course)
        course.prerequisites.append(Prerequisite(second, first))
    index = draw(st.integers(0, 1))
    new = ["Element", "Requirement"][index]
    return _rename_header(write(course), _name(course, "pre"), index, new)


@_defect("PRE002")
def _pre_unknown_element(draw: st.DrawFn, course: Course) -> Files:
    element = draw(st.sampled_from([_UNKNOWN, "root"]))
    return _replace_prerequisites(course, [Prerequisite(element, _pick_au(draw, course).system_id)])


@_defect("PRE003")
def _pre_syntax_error(draw: st.DrawFn, course: Course) -> Files:
    first, second = _two_aus(course)
    text = draw(
        st.sampled_from(
            [f"{first} &", f"({first}", f"{first} {first}", f"{first} AND {first}", "&", "2*{"]
        )
    )
    return _replace_prerequisites(course, [Prerequisite(second, text)])


@_defect("PRE004")
def _pre_unknown_identifier(draw: st.DrawFn, course: Course) -> Files:
    first, second = _two_aus(course)
    text = draw(st.sampled_from(["Zunknown", f"{first} & Zunknown", "1*{Zunknown}"]))
    return _replace_prerequisites(course, [Prerequisite(second, text)])


@_defect("PRE005")
def _pre_self(draw: st.DrawFn, course: Course) -> Files:
    au = _pick_au(draw, course).system_id
    return _replace_prerequisites(course, [Prerequisite(au, au)])


@_defect("PRE006")
def _pre_cycle(draw: st.DrawFn, course: Course) -> Files:
    first, second = _two_aus(course)
    return _replace_prerequisites(
        course, [Prerequisite(first, second), Prerequisite(second, f"~{first} | {first}")]
    )


@_defect("PRE009")
def _pre_bad_status(draw: st.DrawFn, course: Course) -> Files:
    first, second = _two_aus(course)
    word = draw(st.sampled_from(["done", "finished", "ok"]))
    return _replace_prerequisites(course, [Prerequisite(second, f"{first}={word}")])


@_defect("PRE010")
def _pre_bad_set_count(draw: st.DrawFn, course: Course) -> Files:
    first, second = _two_aus(course)
    text = draw(st.sampled_from([f"0*{{{first}}}", f"2*{{{first}}}", f"5*{{{first}}}"]))
    return _replace_prerequisites(course, [Prerequisite(second, text)])


# -- CMP


def _add_requirement(course: Course, requirement: str, result: str) -> Files:
    first, _ = _two_aus(course)
    course.completion_requirements.append(CompletionRequirement(first, requirement, result))
    return write(course)


@_defect("CMP001", _WITH_STRUCTURE)
def _cmp_missing_column(draw: st.DrawFn, course: Course) -> Files:
    if not course.completion_requirements:
        first, second = _two_aus(course)
        course.completion_requirements.append(CompletionRequirement(first, second, "completed"))
    files = write(course)
    name = _name(course, "cmp")
    rows = _rows(files[name])
    index = draw(st.integers(0, 2))  # Structure_Element, Requirement or Result
    files[name] = _table([v for i, v in enumerate(row) if i != index] for row in rows)
    return files


@_defect("CMP002", _WITH_STRUCTURE)
def _cmp_unknown_element(draw: st.DrawFn, course: Course) -> Files:
    # Not an AU or block, and without a DES record it is not an objective either.
    course.completion_requirements.append(
        CompletionRequirement(_UNKNOWN, _pick_au(draw, course).system_id, "completed")
    )
    return write(course)


@_defect("CMP003", _WITH_STRUCTURE)
def _cmp_bad_requirement(draw: st.DrawFn, course: Course) -> Files:
    _, second = _two_aus(course)
    text = draw(st.sampled_from([f"{second} &", f"({second}", "Zunknown"]))
    return _add_requirement(course, text, "completed")


@_defect("CMP004", _WITH_STRUCTURE)
def _cmp_bad_result(draw: st.DrawFn, course: Course) -> Files:
    _, second = _two_aus(course)
    return _add_requirement(course, second, draw(st.sampled_from(["done", "ok", "X"])))


#: Every rule ID :func:`broken_courses` can inject (before filtering by the catalogue).
DEFECT_RULES: tuple[str, ...] = tuple(sorted({d.rule for d in _DEFECTS}))


def _error_rules() -> set[str]:
    """Rules the catalogue (:mod:`aicc.rules`) defines with severity error."""
    from aicc.diagnostics import Severity
    from aicc.rules import RULES

    return {rule_id for rule_id, rule in RULES.items() if rule.severity is Severity.ERROR}


def broken_courses(
    rules: Iterable[str] | None = None,
) -> st.SearchStrategy[tuple[Files, str]]:
    """Valid courses written as files, with exactly one named defect injected.

    Args:
        rules: Restrict to these rule IDs (default: every rule in :data:`DEFECT_RULES`
            that the catalogue in :mod:`aicc.rules` defines as an error).

    Returns:
        A strategy of ``(files, rule_id)``: file name -> bytes as
        :func:`aicc.validate` accepts them, and the ID of the rule the defect breaks.
        Other diagnostics may accompany it (a missing file also leaves references
        dangling), but ``rule_id`` is always among the errors.

    Raises:
        ValueError: ``rules`` names a rule this module cannot inject.
    """
    available = [d for d in _DEFECTS if d.rule in _error_rules()]
    if rules is not None:
        wanted = set(rules)
        unknown = wanted - {d.rule for d in available}
        if unknown:
            raise ValueError(f"cannot inject defects for rules: {', '.join(sorted(unknown))}")
        available = [d for d in available if d.rule in wanted]
    return st.sampled_from(available).flatmap(_broken)


def _broken(defect: _Defect) -> st.SearchStrategy[tuple[Files, str]]:
    @st.composite
    def build(draw: st.DrawFn) -> tuple[Files, str]:
        course = copy.deepcopy(draw(courses(draw(st.sampled_from(defect.levels)))))
        return defect.inject(draw, course), defect.rule

    return build()


def broken_course_zips(
    rules: Iterable[str] | None = None,
) -> st.SearchStrategy[tuple[bytes, str]]:
    """The examples of :func:`broken_courses` packed as zip bytes: ``(zip, rule_id)``.

    For importers that take packages rather than loose files. The files are stored at the
    zip root with fixed timestamps.
    """
    return broken_courses(rules).map(lambda example: (_zip(example[0]), example[1]))


def _zip(files: Files) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()
