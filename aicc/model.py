"""The in-memory model of one AICC CMI001 course (one course structure file set).

How the model maps to the files (``<base>`` is :attr:`Course.base_name`, the file stem):

* ``<base>.crs`` -> the scalar fields of :class:`Course`. ``[Course]`` and
  ``[Course_Behavior]`` keywords become typed fields; integer keywords keep the value
  *declared* in the file (``None`` when absent or not an unsigned integer), so the validator
  can compare them with the ``computed_*`` properties. ``[Course_Description]`` is kept raw
  in :attr:`Course.description`.
* ``<base>.au``  -> :attr:`Course.aus`, one :class:`AssignableUnit` per record, file order.
* ``<base>.des`` -> :attr:`Course.descriptors`, one :class:`Descriptor` per record.
* ``<base>.cst`` -> :attr:`Course.blocks`, one :class:`Block` per distinct ``Block`` value
  (``root`` included, spelled as in the file), in order of first appearance; a block split
  over several records has its members concatenated in file order.
* ``<base>.ort`` -> :attr:`Course.objective_relations` (:class:`ObjectiveRelation`).
* ``<base>.pre`` -> :attr:`Course.prerequisites` (:class:`Prerequisite`).
* ``<base>.cmp`` -> :attr:`Course.completion_requirements` (:class:`CompletionRequirement`).

Objectives have no table of their own: :attr:`Course.objectives` derives them from ORT
members and from CMP elements that are neither AUs nor blocks (reference section 4).

Values are kept as text exactly as read (after unquoting and trimming outside quotes),
because a tolerant reader must be able to hold invalid values for the validator to report.
Empty text means "absent". System IDs are compared case-insensitively by every lookup
helper (:func:`id_key`).

The writer (:mod:`aicc.writer`) writes the *computed* totals and Max_Fields; a model whose
declared values equal the computed ones (see :meth:`Course.with_computed_totals`)
round-trips exactly: ``aicc.read(aicc.write(m)).courses == [m]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Literal

if TYPE_CHECKING:
    from aicc.logic import Expr

#: The reserved ID of the top block of the CST (compared case-insensitively).
ROOT_ID = "root"

#: Extensions (lower case, without the dot) of the files every course set has.
REQUIRED_EXTENSIONS: tuple[str, ...] = ("crs", "au", "des", "cst")
#: Extensions of the optional files (objectives, prerequisites, completion).
OPTIONAL_EXTENSIONS: tuple[str, ...] = ("ort", "pre", "cmp")
#: Every course structure file extension, in the order the writer emits the files.
EXTENSIONS: tuple[str, ...] = REQUIRED_EXTENSIONS + OPTIONAL_EXTENSIONS

#: Level values the reference accepts (compared case-insensitively).
KNOWN_LEVELS: tuple[str, ...] = ("1", "2", "3", "3a", "3b", "4")

#: Canonical ``.au`` columns in the order the writer emits them, with the model attribute.
AU_COLUMNS: tuple[tuple[str, str], ...] = (
    ("System_ID", "system_id"),
    ("Type", "type"),
    ("Command_Line", "command_line"),
    ("File_Name", "file_name"),
    ("Max_Score", "max_score"),
    ("Mastery_Score", "mastery_score"),
    ("Max_Time_Allowed", "max_time_allowed"),
    ("Time_Limit_Action", "time_limit_action"),
    ("System_Vendor", "system_vendor"),
    ("Core_Vendor", "core_vendor"),
    ("Web_Launch", "web_launch"),
    ("AU_Password", "au_password"),
)

#: Canonical ``.des`` columns in writer order, with the model attribute.
DES_COLUMNS: tuple[tuple[str, str], ...] = (
    ("System_ID", "system_id"),
    ("Developer_ID", "developer_id"),
    ("Title", "title"),
    ("Description", "description"),
)

#: Canonical ``.pre`` columns.
PRE_COLUMNS: tuple[str, ...] = ("Structure_Element", "Prerequisite")

#: Canonical ``.cmp`` columns in writer order, with the model attribute.
CMP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Structure_Element", "element"),
    ("Requirement", "requirement"),
    ("Result", "result"),
    ("Next", "next"),
    ("Return", "return_"),
)

#: ``[Course]`` keywords in writer order, with the model attribute.
COURSE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("Course_Creator", "course_creator"),
    ("Course_ID", "course_id"),
    ("Course_System", "course_system"),
    ("Course_Title", "course_title"),
    ("Level", "level"),
    ("Max_Fields_CST", "max_fields_cst"),
    ("Max_Fields_ORT", "max_fields_ort"),
    ("Total_AUs", "total_aus"),
    ("Total_Blocks", "total_blocks"),
    ("Total_Objectives", "total_objectives"),
    ("Total_Complex_Obj", "total_complex_obj"),
    ("Version", "version"),
)

#: ``[Course_Behavior]`` keywords, with the model attribute.
BEHAVIOR_KEYWORDS: tuple[tuple[str, str], ...] = (("Max_Normal", "max_normal"),)

#: ``[Course]`` keywords a .crs must have (CRS004), in the order they are reported.
REQUIRED_COURSE_KEYWORDS: tuple[str, ...] = (
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

#: ``[Course_Behavior]`` keywords a .crs must have (CRS004).
REQUIRED_BEHAVIOR_KEYWORDS: tuple[str, ...] = ("Max_Normal",)

ElementKind = Literal["au", "block", "objective", "unknown"]


def id_key(system_id: str) -> str:
    """Return the comparison key of a System_ID: IDs compare case-insensitively."""
    return system_id.strip().casefold()


def is_root(system_id: str) -> bool:
    """Return True when ``system_id`` is the reserved CST top block ``root`` (any case)."""
    return id_key(system_id) == ROOT_ID


@dataclass(slots=True)
class AssignableUnit:
    """One ``.au`` record: a launchable unit.

    Every value is the text of the column as read; empty means absent. Columns the
    format does not define are kept in :attr:`extra`, keyed by the header name as read,
    in file column order, holding only the non-empty values (the writer writes an empty
    field for a missing key), so a reader/writer round trip does not lose them.
    """

    system_id: str
    type: str = ""
    command_line: str = ""
    file_name: str = ""
    max_score: str = ""
    mastery_score: str = ""
    max_time_allowed: str = ""
    time_limit_action: str = ""
    system_vendor: str = ""
    core_vendor: str = ""
    web_launch: str = ""
    # A shared secret between AU and CMI: kept out of repr() so it never reaches logs.
    au_password: str = field(default="", repr=False)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def launch(self) -> str:
        """What the LMS launches: File_Name, else Command_Line."""
        return self.file_name or self.command_line


@dataclass(slots=True)
class Descriptor:
    """One ``.des`` record: the title and description of an AU, block or objective."""

    system_id: str
    developer_id: str = ""
    title: str = ""
    description: str = ""


@dataclass(slots=True)
class Block:
    """One CST block: its ID (``root`` for the top block) and its member IDs in order.

    Members are AU or block IDs as written in the file. Titles come from the block's
    descriptor (:meth:`Course.title_of`); child objects from :meth:`Course.children`.
    """

    system_id: str
    members: list[str] = field(default_factory=list)

    @property
    def is_root(self) -> bool:
        """True for the reserved top block."""
        return is_root(self.system_id)


@dataclass(slots=True)
class ObjectiveRelation:
    """One ``.ort`` record: an AU or block (``Course_Element``) and its objective IDs."""

    course_element: str
    members: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Objective:
    """An objective derived from ORT and CMP (objectives have no table of their own).

    Attributes:
        system_id: The objective ID (spelled as first seen).
        related_elements: AU/block IDs that list it in the ORT, in file order.
        complex: True when a CMP record sets its status (a "complex objective", level 3b).
    """

    system_id: str
    related_elements: tuple[str, ...] = ()
    complex: bool = False


@dataclass(slots=True)
class Prerequisite:
    """One ``.pre`` record: ``element`` may be entered when ``expression`` is true.

    ``expression`` is the text as read; :attr:`parsed` parses it with :mod:`aicc.logic`.
    """

    element: str
    expression: str

    @property
    def parsed(self) -> Expr:
        """The parsed expression.

        Raises:
            LogicSyntaxError: The expression text does not parse.
        """
        from aicc.logic import parse

        return parse(self.expression)


@dataclass(slots=True)
class CompletionRequirement:
    """One ``.cmp`` record: when ``requirement`` is true, ``element`` gets status ``result``.

    Attributes:
        element: Structure_Element: a block, an AU or an objective (complex objective).
        requirement: The logic expression text as read (:attr:`parsed` parses it).
        result: The status to set (``passed``, ``P``, ``completed`` ...), as read.
        next: Optional element to branch to (column ``Next``), empty when absent.
        return_: Optional boolean-like ``Return`` column value, empty when absent.
    """

    element: str
    requirement: str
    result: str = ""
    next: str = ""
    return_: str = ""

    @property
    def parsed(self) -> Expr:
        """The parsed requirement.

        Raises:
            LogicSyntaxError: The requirement text does not parse.
        """
        from aicc.logic import parse

        return parse(self.requirement)


@dataclass(frozen=True, slots=True)
class TreeNode:
    """One step of :meth:`Course.walk`: an element in the CST tree.

    Attributes:
        system_id: The element ID as written in the CST.
        kind: ``"block"``, ``"au"`` or ``"unknown"`` (a member that is neither).
        depth: 0 for ``root``, 1 for its members, ...
        parent: The parent block ID, ``None`` for ``root``.
    """

    system_id: str
    kind: ElementKind
    depth: int
    parent: str | None


@dataclass(slots=True)
class Course:
    """One AICC course: the content of one ``.crs/.au/.des/.cst(/.ort/.pre/.cmp)`` set.

    Scalar CRS values are text as read; integer keywords hold the declared value, or
    ``None`` when the keyword is absent or not an unsigned integer. The defaults suit
    building a course in code; the reader sets every field from the file (``""`` /
    ``None`` when absent). ``Total_Objectives`` is compared with
    :attr:`computed_total_objectives` (ORT members plus complex objectives, reference
    section 4).

    Attributes:
        base_name: File stem shared by the set, e.g. ``"course"`` for ``course.crs``.
        description: ``[Course_Description]`` text: the lines after the group header up
            to the next group header or end of file, each kept verbatim, joined with
            ``"\\n"``; trailing blank (white-space only) lines are dropped.
    """

    base_name: str
    course_creator: str = ""
    course_id: str = ""
    course_system: str = ""
    course_title: str = ""
    level: str = "1"
    version: str = "4.0"
    max_fields_cst: int | None = None
    max_fields_ort: int | None = None
    total_aus: int | None = None
    total_blocks: int | None = None
    total_objectives: int | None = None
    total_complex_obj: int | None = None
    max_normal: int | None = 1
    description: str = ""
    aus: list[AssignableUnit] = field(default_factory=list)
    descriptors: list[Descriptor] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    objective_relations: list[ObjectiveRelation] = field(default_factory=list)
    prerequisites: list[Prerequisite] = field(default_factory=list)
    completion_requirements: list[CompletionRequirement] = field(default_factory=list)

    # ------------------------------------------------------------------ lookups

    def au(self, system_id: str) -> AssignableUnit | None:
        """Return the AU with this ID (case-insensitive), or None."""
        key = id_key(system_id)
        return next((a for a in self.aus if id_key(a.system_id) == key), None)

    def block(self, system_id: str) -> Block | None:
        """Return the CST block with this ID (case-insensitive; ``root`` too), or None."""
        key = id_key(system_id)
        return next((b for b in self.blocks if id_key(b.system_id) == key), None)

    def descriptor(self, system_id: str) -> Descriptor | None:
        """Return the DES record of this ID (case-insensitive), or None."""
        key = id_key(system_id)
        return next((d for d in self.descriptors if id_key(d.system_id) == key), None)

    def title_of(self, system_id: str) -> str:
        """Return the title of an element: its DES Title; the course title for ``root``.

        Returns an empty string when the element has no descriptor.
        """
        descriptor = self.descriptor(system_id)
        if descriptor is not None:
            return descriptor.title
        return self.course_title if is_root(system_id) else ""

    @property
    def root(self) -> Block | None:
        """The ``root`` block, or None when the CST has no root record."""
        return next((b for b in self.blocks if b.is_root), None)

    @property
    def non_root_blocks(self) -> list[Block]:
        """Every CST block except ``root``, in file order."""
        return [b for b in self.blocks if not b.is_root]

    @property
    def au_ids(self) -> list[str]:
        """AU IDs in file order."""
        return [a.system_id for a in self.aus]

    @property
    def block_ids(self) -> list[str]:
        """Non-root block IDs in file order."""
        return [b.system_id for b in self.blocks if not b.is_root]

    @property
    def objectives(self) -> list[Objective]:
        """Objectives: ORT members, then CMP elements that are neither AU nor block.

        Each objective appears once (case-insensitive), in order of first appearance.
        """
        structure = {id_key(i) for i in self.au_ids} | {id_key(b.system_id) for b in self.blocks}
        order: list[str] = []
        spelled: dict[str, str] = {}
        related: dict[str, list[str]] = {}
        for relation in self.objective_relations:
            for member in relation.members:
                key = id_key(member)
                if not key:
                    continue
                if key not in spelled:
                    spelled[key] = member
                    order.append(key)
                    related[key] = []
                related[key].append(relation.course_element)
        complex_keys: set[str] = set()
        for requirement in self.completion_requirements:
            key = id_key(requirement.element)
            if not key or key in structure:
                continue
            complex_keys.add(key)
            if key not in spelled:
                spelled[key] = requirement.element
                order.append(key)
                related[key] = []
        return [Objective(spelled[k], tuple(related[k]), k in complex_keys) for k in order]

    def kind_of(self, system_id: str) -> ElementKind:
        """Classify an ID as ``"au"``, ``"block"`` (``root`` too), ``"objective"`` or unknown."""
        key = id_key(system_id)
        if any(id_key(a.system_id) == key for a in self.aus):
            return "au"
        if any(id_key(b.system_id) == key for b in self.blocks):
            return "block"
        if any(id_key(o.system_id) == key for o in self.objectives):
            return "objective"
        return "unknown"

    def children(self, block_id: str) -> list[AssignableUnit | Block]:
        """Return the members of a block as model objects, in CST order.

        Members that are neither an AU nor a block with a CST record are skipped.
        """
        block = self.block(block_id)
        if block is None:
            return []
        aus = {id_key(a.system_id): a for a in self.aus}
        blocks = {id_key(b.system_id): b for b in self.blocks}
        result: list[AssignableUnit | Block] = []
        for member in block.members:
            key = id_key(member)
            found: AssignableUnit | Block | None = aus.get(key) or blocks.get(key)
            if found is not None:
                result.append(found)
        return result

    def walk(self) -> Iterator[TreeNode]:
        """Walk the CST tree depth-first from ``root``, members in presentation order.

        Safe on broken structures: a block already visited is not entered again (cycles),
        and members with no AU or block record are yielded with kind ``"unknown"``.
        Yields nothing when there is no ``root`` record.
        """
        root = self.root
        if root is None:
            return
        aus = {id_key(a.system_id) for a in self.aus}
        blocks = {id_key(b.system_id): b for b in self.blocks}
        seen: set[str] = {id_key(root.system_id)}
        yield TreeNode(root.system_id, "block", 0, None)
        # Explicit stack instead of recursion: a 10,000-deep chain must not hit the limit.
        stack: list[tuple[Block, int, Iterator[str]]] = [(root, 1, iter(root.members))]
        while stack:
            parent, depth, members = stack[-1]
            member = next(members, None)
            if member is None:
                stack.pop()
                continue
            key = id_key(member)
            if not key:
                continue
            if key in aus:
                yield TreeNode(member, "au", depth, parent.system_id)
            elif key in blocks:
                yield TreeNode(member, "block", depth, parent.system_id)
                if key not in seen:
                    seen.add(key)
                    child = blocks[key]
                    stack.append((child, depth + 1, iter(child.members)))
            else:
                yield TreeNode(member, "unknown", depth, parent.system_id)

    # ------------------------------------------------------------------ computed values

    @property
    def computed_total_aus(self) -> int:
        """Number of AU records."""
        return len(self.aus)

    @property
    def computed_total_blocks(self) -> int:
        """Number of distinct non-root blocks (``root`` is not counted)."""
        return len({id_key(b.system_id) for b in self.blocks if not b.is_root})

    @property
    def computed_total_objectives(self) -> int:
        """Number of distinct objectives (ORT members and complex objectives)."""
        return len(self.objectives)

    @property
    def computed_total_complex_obj(self) -> int:
        """Number of complex objectives (objectives that are CMP elements)."""
        return sum(1 for o in self.objectives if o.complex)

    @property
    def computed_max_fields_cst(self) -> int:
        """Fields in the widest CST record, Block column included (at least 2)."""
        return max([2, *(1 + len(b.members) for b in self.blocks)])

    @property
    def computed_max_fields_ort(self) -> int:
        """Fields in the widest ORT record, Course_Element column included (at least 2)."""
        return max([2, *(1 + len(r.members) for r in self.objective_relations)])

    def with_computed_totals(self) -> Course:
        """Return a copy whose declared totals are exactly what the writer writes.

        ``Max_Fields_ORT`` is declared only when the course has ORT records,
        ``Total_Objectives`` only when it has ORT records or objectives,
        ``Total_Complex_Obj`` only when it has complex objectives; otherwise they are
        ``None`` (keyword not written).
        """
        objectives = self.objectives
        complex_count = sum(1 for o in objectives if o.complex)
        return dataclasses.replace(
            self,
            max_fields_cst=self.computed_max_fields_cst,
            max_fields_ort=self.computed_max_fields_ort if self.objective_relations else None,
            total_aus=self.computed_total_aus,
            total_blocks=self.computed_total_blocks,
            total_objectives=(len(objectives) if objectives or self.objective_relations else None),
            total_complex_obj=complex_count if complex_count else None,
        )


__all__ = [
    "AU_COLUMNS",
    "BEHAVIOR_KEYWORDS",
    "CMP_COLUMNS",
    "COURSE_KEYWORDS",
    "DES_COLUMNS",
    "EXTENSIONS",
    "KNOWN_LEVELS",
    "OPTIONAL_EXTENSIONS",
    "PRE_COLUMNS",
    "REQUIRED_BEHAVIOR_KEYWORDS",
    "REQUIRED_COURSE_KEYWORDS",
    "REQUIRED_EXTENSIONS",
    "ROOT_ID",
    "AssignableUnit",
    "Block",
    "CompletionRequirement",
    "Course",
    "Descriptor",
    "ElementKind",
    "Objective",
    "ObjectiveRelation",
    "Prerequisite",
    "TreeNode",
    "id_key",
    "is_root",
]
