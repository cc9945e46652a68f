"""Valid course models: the generator behind :func:`aicc.strategies.courses`."""

from __future__ import annotations

import functools
import re
import string
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
from aicc.model import AssignableUnit
from aicc.model import Block
from aicc.model import CompletionRequirement
from aicc.model import Course
from aicc.model import Descriptor
from aicc.model import ObjectiveRelation
from aicc.model import Prerequisite
from aicc.writer import write
from aicc.writer import write_zip

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
    parent, members, blocks = _tree(draw, au_ids, block_ids)
    elements = [*au_ids, *block_ids]
    objective_ids, new_complex_ids, relations = _objectives(draw, features, elements)
    complex_ids = _complex_objectives(draw, features, objective_ids, new_complex_ids)
    all_objectives = [*objective_ids, *(c for c in complex_ids if c not in objective_ids)]
    compact = draw(st.booleans())
    prerequisites = (
        _prerequisites(draw, elements, objective_ids, (parent, members), compact)
        if features.prerequisites and len(elements) > 1
        else []
    )
    requirements = (
        _requirements(
            draw, [*block_ids, *complex_ids], complex_ids, elements, objective_ids, compact
        )
        if features.completion
        else []
    )
    extra = _pick(draw, [(), (), ("Weight",)])
    aus = [_assignable_unit(draw, au_id, extra) for au_id in au_ids]
    descriptors = _descriptors(draw, [*au_ids, *block_ids, *all_objectives])
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


def _tree(
    draw: st.DrawFn, au_ids: list[str], block_ids: list[str]
) -> tuple[dict[str, str], dict[str, list[str]], list[Block]]:
    """Parents, members and blocks: each block under root or an earlier block (no cycles),
    each AU under root or any block; member order from a random permutation."""
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
    return parent, members, blocks


def _objectives(
    draw: st.DrawFn, features: _Features, elements: list[str]
) -> tuple[list[str], list[str], list[ObjectiveRelation]]:
    """(objective IDs, IDs of complex-only objectives, ORT relations)."""
    if not features.objectives:
        return [], [], []
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
    return objective_ids, new_complex_ids, relations


def _complex_objectives(
    draw: st.DrawFn, features: _Features, objective_ids: list[str], new_ids: list[str]
) -> list[str]:
    if not features.complex_objectives:
        return []
    # At least one complex objective, so the course really needs level 3b.
    existing = draw(
        st.lists(
            st.sampled_from(objective_ids),
            min_size=0 if new_ids else 1,
            max_size=2,
            unique=True,
        )
    )
    return [*existing, *new_ids]


def _prerequisites(
    draw: st.DrawFn,
    elements: list[str],
    objective_ids: list[str],
    tree: tuple[dict[str, str], dict[str, list[str]]],
    compact: bool,
) -> list[Prerequisite]:
    parent, members = tree
    prerequisites: list[Prerequisite] = []
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
    return prerequisites


def _requirements(
    draw: st.DrawFn,
    targets: list[str],
    complex_ids: list[str],
    elements: list[str],
    objective_ids: list[str],
    compact: bool,
) -> list[CompletionRequirement]:
    """Completion requirements of some blocks and of every complex objective."""
    requirements: list[CompletionRequirement] = []
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
    return requirements


def _descriptors(draw: st.DrawFn, described: list[str]) -> list[Descriptor]:
    return [
        Descriptor(
            system_id=element,
            developer_id=draw(_DEVELOPER_IDS),
            title=draw(_TITLES),
            description=draw(_text(0, 60)),
        )
        for element in draw(st.permutations(described))
    ]


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
