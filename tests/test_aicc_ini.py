"""The .crs INI reader: groups, keywords, comments, raw description, positions, quirks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aicc._ini import parse_ini

RAW = frozenset({"course_description"})


def test_groups_and_keywords_are_case_insensitive_with_positions() -> None:
    ini = parse_ini(
        '[COURSE]\nCOURSE_ID = C1\n  Course_Title=  "Quoted title"  \n[course_behavior]\n'
        "max_normal=3\n",
        "c.crs",
        RAW,
    )
    course = ini.group("Course")
    assert course is not None
    entry = course.get("course_id")
    assert entry is not None
    assert (entry.key, entry.value, entry.line, entry.key_column, entry.value_column) == (
        "COURSE_ID",
        "C1",
        2,
        1,
        13,
    )
    title = course.get("Course_Title")
    assert title is not None
    assert (title.value, title.key_column, title.value_column) == ("Quoted title", 3, 18)
    behavior = ini.group("Course_Behavior")
    assert behavior is not None
    assert behavior.get("MAX_NORMAL") is not None
    assert ini.diagnostics == []


def test_value_splits_on_the_first_equals() -> None:
    ini = parse_ini("[Course]\nCourse_Title=a=b=c\n", None, RAW)
    entry = ini.groups[0].get("Course_Title")
    assert entry is not None
    assert entry.value == "a=b=c"


def test_comments_and_blank_lines_are_ignored() -> None:
    ini = parse_ini("; top comment\n\n[Course]\n; comment\n\nLevel=1\n", "c.crs", RAW)
    assert [e.key for e in ini.groups[0].entries] == ["Level"]
    assert ini.leading_text_line is None
    assert ini.diagnostics == []


def test_description_is_kept_raw_with_line_breaks() -> None:
    text = "[Course]\nLevel=1\n[Course_Description]\nFirst = line; raw\n\n  Second\n[]\n\n\n"
    ini = parse_ini(text, "c.crs", RAW)
    description = ini.group("course_description")
    assert description is not None
    assert description.entries == []
    assert description.raw_text() == "First = line; raw\n\n  Second\n[]"


def test_description_ends_at_the_next_group_header() -> None:
    ini = parse_ini("[Course_Description]\nText\n[Course]\nLevel=2\n", "c.crs", RAW)
    assert ini.groups[0].raw_text() == "Text"
    entry = ini.groups[1].get("level")
    assert entry is not None
    assert entry.value == "2"


def test_duplicates_keep_the_first_and_are_reported() -> None:
    ini = parse_ini("[Course]\nLevel=1\nlevel=2\n[Course]\nLevel=3\n", "c.crs", RAW)
    assert [d.rule for d in ini.diagnostics] == ["CRS012", "CRS012"]
    assert [d.line for d in ini.diagnostics] == [3, 4]
    first = ini.group("course")
    assert first is not None
    level = first.get("Level")
    assert level is not None
    assert level.value == "1"


def test_line_without_equals_is_reported_and_kept_as_a_bare_keyword() -> None:
    ini = parse_ini("[Course]\nMax_Fields_ORT\n=orphan\n", "c.crs", RAW)
    assert [(d.rule, d.line) for d in ini.diagnostics] == [("CRS013", 2), ("CRS013", 3)]
    entry = ini.groups[0].get("Max_Fields_ORT")
    assert entry is not None
    assert entry.value == ""
    assert entry.value_column == len("Max_Fields_ORT") + 1


def test_text_before_the_first_group_is_noted() -> None:
    ini = parse_ini("junk\n[Course]\n", "c.crs", RAW)
    assert ini.leading_text_line == 1


@given(
    st.lists(
        st.text(alphabet=st.characters(exclude_characters="\n\r[]"), max_size=30),
        max_size=8,
    )
)
def test_description_lines_round_trip(lines: list[str]) -> None:
    text = "[Course_Description]\n" + "\n".join(lines) + "\n"
    ini = parse_ini(text, None, RAW)
    expected = list(lines)
    while expected and not expected[-1].strip():
        expected.pop()
    assert ini.groups[0].raw_text() == "\n".join(expected)


@given(st.text(max_size=300))
def test_any_text_parses_without_raising(text: str) -> None:
    ini = parse_ini(text, None, RAW)
    for group in ini.groups:
        for entry in group.entries:
            assert entry.line >= 1
