"""COURSE: every field rule of the course object (contract section 3).

Each failure names the offending course ID, the JSON path and the value.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance._catalog import Walk
from conformance.checks import COURSE_RULES
from conformance.checks import course_label
from conformance.checks import course_problems
from conformance.checks import fail_problems
from conformance.errors import ConformanceFailure


def _all_courses(courses: list[Any], old_delta: Walk) -> list[Any]:
    # The If-Modified-Since list may hold inactive courses that the full list leaves out.
    seen = {id(c) for c in courses}
    return [*courses, *(c for c in old_delta.courses if id(c) not in seen)]


@pytest.mark.requirement("COURSE-001")
def test_courses_are_objects(courses: list[Any], old_delta: Walk) -> None:
    bad = [
        (i, c) for i, c in enumerate(_all_courses(courses, old_delta)) if not isinstance(c, dict)
    ]
    if bad:
        raise ConformanceFailure(
            "COURSE-001",
            expected="every list item is a JSON object",
            received="\n".join(f"$[{i}] = {c!r:.80}" for i, c in bad[:15]),
        )


@pytest.mark.parametrize(
    "requirement",
    [pytest.param(rid, marks=pytest.mark.requirement(rid), id=rid) for rid in sorted(COURSE_RULES)],
)
def test_course_field_rule(
    requirement: str, courses: list[Any], full_list: Walk, old_delta: Walk
) -> None:
    problems = course_problems(requirement, _all_courses(courses, old_delta))
    exchange = None
    if problems:
        # Show the page that carried the first offending course.
        for page in [*full_list.pages, *old_delta.pages]:
            if any(course_label(c, 0) == problems[0].course_id for c in page.courses or []):
                exchange = page.exchange
                break
    fail_problems(requirement, problems, where="the course list", exchange=exchange)


@pytest.mark.requirement("COURSE-003")
def test_ids_are_stable(full_list: Walk, repeat_list: Walk, courses: list[Any]) -> None:
    if not repeat_list.complete:
        pytest.skip("blocked: the repeated list could not be read")
    again = repeat_list.by_id()
    lost = [
        course_label(c, i)
        for i, c in enumerate(courses)
        if isinstance(c, dict) and isinstance(c.get("ID"), str) and c["ID"] not in again
    ]
    if lost:
        raise ConformanceFailure(
            "COURSE-003",
            expected="the same course IDs in a repeated list while the catalog is unchanged",
            received=f"{len(lost)} ID(s) of the first list absent from the second: "
            + ", ".join(lost[:15]),
            exchange=repeat_list.pages[0].exchange if repeat_list.pages else None,
        )
