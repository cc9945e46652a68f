"""Defects of the course structure: AUs, descriptors, the CST, objectives, PRE, CMP."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from hypothesis import strategies as st

from aicc.model import AssignableUnit
from aicc.model import Block
from aicc.model import CompletionRequirement
from aicc.model import Course
from aicc.model import Descriptor
from aicc.model import ObjectiveRelation
from aicc.model import Prerequisite
from aicc.model import id_key
from aicc.strategies._inject import _UNKNOWN
from aicc.strategies._inject import _WITH_OBJECTIVES
from aicc.strategies._inject import _WITH_STRUCTURE
from aicc.strategies._inject import Files
from aicc.strategies._inject import _add_au
from aicc.strategies._inject import _defect
from aicc.strategies._inject import _join
from aicc.strategies._inject import _lines
from aicc.strategies._inject import _name
from aicc.strategies._inject import _rows
from aicc.strategies._inject import _set_keyword
from aicc.strategies._inject import _table
from aicc.strategies._inject import _two_aus
from aicc.writer import write

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
