"""The hypothesis strategies: valid courses per level, and broken courses with named defects."""

from __future__ import annotations

import ast
import io
import pathlib
import zipfile

import pytest
from hypothesis import given
from hypothesis import settings

import aicc
from aicc import strategies
from aicc.diagnostics import Severity
from aicc.model import Course
from aicc.rules import RULES

AICC_DIR = pathlib.Path(aicc.__file__).parent


def _levels_used(course: Course) -> set[str]:
    used = set()
    if course.non_root_blocks or course.prerequisites or course.completion_requirements:
        used.add("2")
    if course.objective_relations:
        used.add("3a")
    if any(o.complex for o in course.objectives):
        used.add("3b")
    return used


@given(strategies.courses("1"))
def test_level_1_courses_are_aus_under_root_only(course: Course) -> None:
    assert course.level == "1"
    assert _levels_used(course) == set()
    root = course.root
    assert root is not None
    assert sorted(root.members) == sorted(course.au_ids)
    assert len(course.blocks) == 1


@settings(max_examples=30)
@given(strategies.courses("2"))
def test_level_2_courses_use_no_objectives(course: Course) -> None:
    assert _levels_used(course) <= {"2"}
    assert course.objectives == []


@settings(max_examples=30)
@given(strategies.courses("3a"))
def test_level_3a_courses_have_objectives_but_no_complex_ones(course: Course) -> None:
    assert course.objective_relations
    assert "3b" not in _levels_used(course)
    described = {d.system_id.casefold() for d in course.descriptors}
    assert {o.system_id.casefold() for o in course.objectives} <= described


@settings(max_examples=30)
@given(strategies.courses("3B"))
def test_level_3b_courses_have_complex_objectives(course: Course) -> None:
    assert course.level.casefold() == "3b"
    assert "3b" in _levels_used(course)
    assert course.total_complex_obj == course.computed_total_complex_obj >= 1


@settings(max_examples=30)
@given(strategies.courses())
def test_generated_courses_declare_their_computed_totals(course: Course) -> None:
    assert course == course.with_computed_totals()
    for requirement in [*course.prerequisites, *course.completion_requirements]:
        expr = requirement.parsed  # every generated expression parses
        known = {i.casefold() for i in [*course.au_ids, *course.block_ids]}
        known |= {o.system_id.casefold() for o in course.objectives}
        assert {r.casefold() for r in expr.references()} <= known


@settings(max_examples=10)
@given(strategies.course_files("2"), strategies.course_zips("1"))
def test_file_and_zip_strategies_validate(files: dict[str, bytes], data: bytes) -> None:
    assert aicc.validate(files).valid
    assert aicc.validate(data).valid
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert any(name.endswith(".crs") for name in archive.namelist())


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        strategies.courses("5")


def test_expressions_need_identifiers() -> None:
    with pytest.raises(ValueError, match="at least one identifier"):
        strategies.expressions([])


def test_every_defect_rule_is_an_error_in_the_catalogue() -> None:
    for rule_id in strategies.DEFECT_RULES:
        assert RULES[rule_id].severity is Severity.ERROR, rule_id


@settings(max_examples=60)
@given(strategies.broken_courses())
def test_every_broken_course_is_reported_with_its_rule_as_an_error(
    example: tuple[dict[str, bytes], str],
) -> None:
    files, rule_id = example
    report = aicc.validate(files)
    assert rule_id in report.rules(Severity.ERROR), [d.format() for d in report.diagnostics]
    assert not report.valid


@pytest.mark.parametrize("rule_id", strategies.DEFECT_RULES)
def test_each_defect_is_detected(rule_id: str) -> None:
    @settings(max_examples=5)
    @given(strategies.broken_courses([rule_id]))
    def check(example: tuple[dict[str, bytes], str]) -> None:
        files, expected = example
        assert expected == rule_id
        report = aicc.validate(files)
        assert rule_id in report.rules(Severity.ERROR), [d.format() for d in report.diagnostics]

    check()


def test_broken_courses_refuses_rules_it_cannot_inject() -> None:
    with pytest.raises(ValueError, match="LVL001"):
        strategies.broken_courses(["LVL001"])


def test_only_strategies_imports_hypothesis() -> None:
    importers = []
    for path in sorted(AICC_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "hypothesis" or n.startswith("hypothesis.") for n in names):
                importers.append(path.relative_to(AICC_DIR).parts[0])
    assert sorted(set(importers)) == ["strategies"]  # the aicc.strategies package


@settings(max_examples=20)
@given(strategies.broken_course_zips())
def test_broken_course_zips_are_reported_with_their_rule(example: tuple[bytes, str]) -> None:
    data, rule_id = example
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist()
    report = aicc.validate(data)
    assert rule_id in report.rules(Severity.ERROR), [d.format() for d in report.diagnostics]
