"""The course model: lookups, tree walk, derived objectives and computed totals."""

from __future__ import annotations

import pytest

from aicc import LogicSyntaxError
from aicc.logic import And
from aicc.logic import Ref
from aicc.model import AssignableUnit
from aicc.model import Block
from aicc.model import CompletionRequirement
from aicc.model import Course
from aicc.model import Descriptor
from aicc.model import Objective
from aicc.model import ObjectiveRelation
from aicc.model import Prerequisite
from aicc.model import TreeNode
from aicc.model import id_key
from aicc.model import is_root


def _course() -> Course:
    """root -> [B1 -> [A1, B2 -> [A2]], A3]; objectives J1 (ORT), J2 (ORT + CMP), J9 (CMP)."""
    return Course(
        base_name="demo",
        course_title="Demo course",
        aus=[
            AssignableUnit("A1", file_name="a1.html"),
            AssignableUnit("A2", command_line="run.exe"),
            AssignableUnit("A3", file_name="a3.html"),
        ],
        descriptors=[
            Descriptor("A1", title="Lesson one"),
            Descriptor("B1", title="Part one"),
            Descriptor("J1", title="Objective one"),
        ],
        blocks=[
            Block("ROOT", ["B1", "A3"]),
            Block("B1", ["A1", "B2"]),
            Block("B2", ["A2"]),
        ],
        objective_relations=[
            ObjectiveRelation("A1", ["J1", "J2"]),
            ObjectiveRelation("B1", ["j1"]),
        ],
        prerequisites=[Prerequisite("A3", "A1 & B2")],
        completion_requirements=[
            CompletionRequirement("B1", "A1 & A2", "completed"),
            CompletionRequirement("J2", "A1", "passed"),
            CompletionRequirement("J9", "A3", "passed"),
        ],
    )


def test_ids_compare_case_insensitively() -> None:
    course = _course()
    assert id_key(" A1 ") == id_key("a1")
    assert is_root("Root")
    assert not is_root("rooted")
    assert course.au("a2") is course.aus[1]
    assert course.block("b2") is course.blocks[2]
    assert course.descriptor("j1") is course.descriptors[2]
    assert course.au("B1") is None
    assert course.block("nope") is None


def test_titles_come_from_descriptors_and_root_uses_the_course_title() -> None:
    course = _course()
    assert course.title_of("a1") == "Lesson one"
    assert course.title_of("root") == "Demo course"
    assert course.title_of("A2") == ""


def test_root_and_block_lists() -> None:
    course = _course()
    assert course.root is course.blocks[0]
    assert [b.system_id for b in course.non_root_blocks] == ["B1", "B2"]
    assert course.block_ids == ["B1", "B2"]
    assert course.au_ids == ["A1", "A2", "A3"]
    assert Course(base_name="x").root is None


def test_walk_is_depth_first_in_member_order() -> None:
    nodes = list(_course().walk())
    assert nodes == [
        TreeNode("ROOT", "block", 0, None),
        TreeNode("B1", "block", 1, "ROOT"),
        TreeNode("A1", "au", 2, "B1"),
        TreeNode("B2", "block", 2, "B1"),
        TreeNode("A2", "au", 3, "B2"),
        TreeNode("A3", "au", 1, "ROOT"),
    ]


def test_walk_survives_cycles_and_unknown_members() -> None:
    course = Course(
        base_name="x",
        aus=[AssignableUnit("A1")],
        blocks=[Block("root", ["B1", "Z9"]), Block("B1", ["B2"]), Block("B2", ["B1", "A1"])],
    )
    kinds = [(n.system_id, n.kind, n.depth) for n in course.walk()]
    assert kinds == [
        ("root", "block", 0),
        ("B1", "block", 1),
        ("B2", "block", 2),
        ("B1", "block", 3),  # reported, but not entered a second time
        ("A1", "au", 3),
        ("Z9", "unknown", 1),
    ]


def test_walk_handles_a_very_deep_chain() -> None:
    depth = 5000
    blocks = [Block("root", ["B0"])]
    blocks += [Block(f"B{i}", [f"B{i + 1}"]) for i in range(depth)]
    blocks.append(Block(f"B{depth}", ["A1"]))
    course = Course(base_name="deep", aus=[AssignableUnit("A1")], blocks=blocks)
    last = list(course.walk())[-1]
    assert last == TreeNode("A1", "au", depth + 2, f"B{depth}")


def test_children_returns_model_objects() -> None:
    course = _course()
    assert course.children("b1") == [course.aus[0], course.blocks[2]]
    assert course.children("nope") == []


def test_objectives_come_from_ort_members_then_complex_cmp_elements() -> None:
    course = _course()
    assert course.objectives == [
        Objective("J1", ("A1", "B1"), False),
        Objective("J2", ("A1",), True),
        Objective("J9", (), True),
    ]
    assert course.kind_of("j9") == "objective"
    assert course.kind_of("B2") == "block"
    assert course.kind_of("a3") == "au"
    assert course.kind_of("root") == "block"
    assert course.kind_of("Q") == "unknown"


def test_computed_totals() -> None:
    course = _course()
    assert course.computed_total_aus == 3
    assert course.computed_total_blocks == 2
    assert course.computed_total_objectives == 3
    assert course.computed_total_complex_obj == 2
    assert course.computed_max_fields_cst == 3
    assert course.computed_max_fields_ort == 3
    empty = Course(base_name="x", blocks=[Block("root")])
    assert empty.computed_max_fields_cst == 2  # never below Block + one Member
    assert empty.computed_max_fields_ort == 2


def test_with_computed_totals_declares_what_the_writer_writes() -> None:
    course = _course()
    course.total_aus = 99
    fixed = course.with_computed_totals()
    assert (fixed.total_aus, fixed.total_blocks, fixed.max_fields_cst) == (3, 2, 3)
    assert (fixed.max_fields_ort, fixed.total_objectives, fixed.total_complex_obj) == (3, 3, 2)
    assert course.total_aus == 99  # a copy: the original keeps its declared value
    plain = Course(base_name="x", blocks=[Block("root", ["A1"])], aus=[AssignableUnit("A1")])
    plain = plain.with_computed_totals()
    assert (plain.max_fields_ort, plain.total_objectives, plain.total_complex_obj) == (
        None,
        None,
        None,
    )


def test_expressions_parse_on_demand() -> None:
    course = _course()
    assert course.prerequisites[0].parsed == And((Ref("A1"), Ref("B2")))
    assert course.completion_requirements[0].parsed.references() == {"A1", "A2"}
    with pytest.raises(LogicSyntaxError):
        _ = Prerequisite("A1", "A2 &").parsed


def test_au_password_never_appears_in_repr() -> None:
    unit = AssignableUnit("A1", au_password="hunter2-secret")
    assert "hunter2-secret" not in repr(unit)
    assert unit.au_password == "hunter2-secret"


def test_launch_prefers_file_name() -> None:
    assert AssignableUnit("A1", file_name="x.html", command_line="y").launch == "x.html"
    assert AssignableUnit("A1", command_line="y.exe").launch == "y.exe"


def test_models_compare_by_value() -> None:
    assert _course() == _course()
    other = _course()
    other.aus[0].extra["Weight"] = "2"
    assert other != _course()
