"""Round trip: every valid model written by the writer reads back equal and validates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings

import aicc
from aicc import strategies
from aicc.model import Course


@settings(max_examples=60)
@given(strategies.courses())
def test_written_course_reads_back_equal_and_has_no_errors(course: Course) -> None:
    files = aicc.write(course)
    assert aicc.read(files).courses == [course]
    report = aicc.validate(files)
    assert report.valid, [d.format() for d in report.errors]
    assert report.courses == [course]


@pytest.mark.parametrize("level", strategies.LEVELS)
def test_every_level_round_trips_through_a_zip(level: str) -> None:
    @settings(max_examples=15)
    @given(strategies.courses(level))
    def check(course: Course) -> None:
        data = aicc.write_zip(course)
        report = aicc.validate(data)
        assert report.valid, [d.format() for d in report.errors]
        assert report.courses == [course]
        assert aicc.read(data).courses == [course]

    check()


@settings(max_examples=20)
@given(strategies.courses())
def test_writing_what_was_read_gives_the_same_bytes(course: Course) -> None:
    files = aicc.write(course)
    (again,) = aicc.read(files).courses
    assert aicc.write(again) == files


@settings(max_examples=20)
@given(course=strategies.courses())
def test_folder_round_trip(course: Course, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("course")
    for name, data in aicc.write(course).items():
        (folder / name).write_bytes(data)
    report = aicc.validate(folder)
    assert report.valid, [d.format() for d in report.errors]
    assert report.courses == [course]


@settings(max_examples=60)
@given(strategies.broken_courses())
def test_any_course_the_reader_builds_rewrites_or_raises_write_error(
    example: tuple[dict[str, bytes], str],
) -> None:
    files, _ = example
    for course in aicc.read(files).courses:
        try:
            written = aicc.write(course)
        except aicc.WriteError:
            continue
        # Writing normalises only the declared totals: everything else reads back as is.
        assert aicc.read(written).courses == [course.with_computed_totals()]
