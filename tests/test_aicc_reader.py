"""aicc.read: files -> model, declared values kept as read, read-level diagnostics only."""

from __future__ import annotations

from pathlib import Path

import pytest

import aicc
from aicc.model import AssignableUnit
from aicc.model import Block
from aicc.model import CompletionRequirement
from aicc.model import Course
from aicc.model import Descriptor
from aicc.model import ObjectiveRelation
from aicc.model import Prerequisite
from aicc.reader import read
from aicc.validator import validate

FIXTURES = Path(__file__).parent / "fixtures" / "aicc"

AU_HEADER = (
    '"System_ID","Type","Command_Line","File_Name","Max_Score","Mastery_Score",'
    '"Max_Time_Allowed","Time_Limit_Action","System_Vendor","Core_Vendor","Web_Launch",'
    '"AU_Password"\r\n'
)


def _course(**files: str) -> Course:
    report = read({name.replace("_", "."): text.encode() for name, text in files.items()})
    (course,) = report.courses
    return course


def test_crs_values_are_kept_as_read_including_bad_and_missing_ones() -> None:
    course = _course(
        c_crs="[course]\r\nCOURSE_ID = X1\r\nLevel=3A\r\nTotal_AUs=two\r\nTotal_Blocks=7\r\n"
        "Max_Fields_CST=\r\nTotal_Complex_Objectives=2\r\nVersion=3.5\r\n[Course Behavior]\r\n"
        "Max_Normal=99\r\n[Course_Description]\r\nLine one\r\n\r\nLine = three\r\n\r\n",
        c_au=AU_HEADER,
        c_des='"System_ID","Title"\r\n',
        c_cst='"Block","Member"\r\n',
    )
    assert course.base_name == "c"
    assert course.course_id == "X1"
    assert course.level == "3A"
    assert course.version == "3.5"
    assert course.course_title == ""
    assert course.total_aus is None  # not an unsigned integer
    assert course.total_blocks == 7  # declared, not computed
    assert course.max_fields_cst is None
    assert course.total_complex_obj == 2  # read through the alias
    assert course.max_normal == 99  # read through the [Course Behavior] alias
    assert course.description == "Line one\r\n\r\nLine = three".replace("\r\n", "\n")


def test_read_reports_only_read_level_diagnostics() -> None:
    report = read(
        {
            "c.crs": b"[Course]\r\nBogus=1\r\n[Course_Behavior]\r\nMax_Normal=1\r\n",
            "c.au": AU_HEADER.encode(),
            "c.des": b'"System_ID","Developer_ID","Title"\r\n',
            "c.cst": b'"Block","Member"\r\n',
        }
    )
    # CRS010 (unknown keyword) is a read-level finding; missing keywords are validation.
    assert {d.rule for d in report.diagnostics} == {"CRS010"}


def test_unknown_keyword_gets_a_spelling_hint() -> None:
    report = read({"c.crs": b"[Course]\r\nCourse_Titel=x\r\n"})
    (diagnostic,) = [d for d in report.diagnostics if d.rule == "CRS010"]
    assert diagnostic.hint == "Did you mean Course_Title?"
    assert (diagnostic.line, diagnostic.column) == (2, 1)


def test_au_columns_by_name_in_any_order_and_case_with_extras() -> None:
    course = _course(
        c_crs="[Course]\r\n",
        c_au='file_name,SYSTEM_ID,weight,core_vendor,command_line\r\n"a.html","A1","3","",""\r\n'
        '"b.html","A2","","x",""\r\n',
        c_des='"System_ID","Title"\r\n',
        c_cst='"Block","Member"\r\n',
    )
    assert course.aus == [
        AssignableUnit("A1", file_name="a.html", extra={"weight": "3"}),
        AssignableUnit("A2", file_name="b.html", core_vendor="x"),
    ]


def test_des_cst_ort_pre_cmp_records() -> None:
    course = _course(
        c_crs="[Course]\r\n",
        c_au=AU_HEADER + '"A1","","","a","","","","","","","",""\r\n',
        c_des='"Title","System_ID"\r\n"Lesson","A1"\r\n',
        c_cst='"Block","Member","Member"\r\n"root","B1",""\r\n"B1","A1",""\r\n"root","B2",""\r\n'
        '"B2","",""\r\n',
        c_ort='"Course_Element","Member","Member"\r\n"A1","J1","J2"\r\n"B1","J2",""\r\n',
        c_pre='"Structure_Element","Prerequisite"\r\n"B2","B1 & ~A1"\r\n',
        c_cmp='"Structure_Element","Requirement","Result"\r\n"J3","J1","P"\r\n',
    )
    assert course.descriptors == [Descriptor("A1", title="Lesson")]
    assert course.blocks == [Block("root", ["B1", "B2"]), Block("B1", ["A1"]), Block("B2", [])]
    assert course.objective_relations == [
        ObjectiveRelation("A1", ["J1", "J2"]),
        ObjectiveRelation("B1", ["J2"]),
    ]
    assert course.prerequisites == [Prerequisite("B2", "B1 & ~A1")]
    assert course.completion_requirements == [CompletionRequirement("J3", "J1", "P")]
    assert [o.system_id for o in course.objectives] == ["J1", "J2", "J3"]


def test_headerless_table_adds_no_records() -> None:
    report = read(
        {
            "c.crs": b"[Course]\r\n",
            "c.au": AU_HEADER.encode(),
            "c.des": b'"A1","Lesson one","","D1"\r\n',
            "c.cst": b'"root","A1"\r\n',
        }
    )
    (course,) = report.courses
    assert course.descriptors == []
    assert course.blocks == []
    assert [d.rule for d in report.diagnostics] == ["TBL001", "TBL001"]


def test_empty_file_is_pkg008_and_adds_nothing() -> None:
    report = read({"c.crs": b"\xef\xbb\xbf \r\n", "c.au": b"", "c.des": b"", "c.cst": b""})
    assert [d.rule for d in report.diagnostics].count("PKG008") == 4


def test_round_trip_through_the_writer() -> None:
    course = Course(
        base_name="demo",
        course_creator="Me",
        course_id="D-1",
        course_system="HTML",
        course_title='Title with "quotes", commas',
        level="3b",
        version="4.0",
        max_normal=3,
        description="First line\n\n  indented = yes\n[] kept",
        aus=[
            AssignableUnit(
                "A1", file_name="a1/index.html", web_launch="CMI=HACP", extra={"w": "1"}
            ),
            AssignableUnit("A2", command_line="run.exe /q", time_limit_action="C,N"),
        ],
        descriptors=[
            Descriptor("A1", title="One, with comma"),
            Descriptor("A2", title='Two "quoted"'),
            Descriptor("B1", title="Block"),
            Descriptor("J1", title="Objective"),
        ],
        blocks=[Block("root", ["B1"]), Block("B1", ["A1", "A2"])],
        objective_relations=[ObjectiveRelation("A1", ["J1"])],
        prerequisites=[Prerequisite("A2", "A1 & (A1=passed | 1*{A1})")],
        completion_requirements=[CompletionRequirement("J1", "A1", "passed", "A2", "true")],
    ).with_computed_totals()
    report = validate(aicc.write(course))
    assert report.courses == [course]
    assert report.errors == []


def test_read_never_raises_on_internal_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("aicc.reader.parse_source", boom)
    report = read({"c.crs": b""})
    assert [d.rule for d in report.errors] == ["PKG999"]
    assert "boom" in report.errors[0].message


def test_fixture_positions_are_exact() -> None:
    report = read(FIXTURES / "invalid" / "TBL006-unterminated-quote")
    (diagnostic,) = report.by_rule()["TBL006"]
    assert (diagnostic.file, diagnostic.line, diagnostic.column) == ("course.des", 3, 28)
