"""The writer: canonical bytes, quoting, computed totals, optional files, zips, refusals."""

from __future__ import annotations

import io
import zipfile

import pytest

import aicc
from aicc import WriteError
from aicc.model import AssignableUnit
from aicc.model import Block
from aicc.model import CompletionRequirement
from aicc.model import Course
from aicc.model import Descriptor
from aicc.model import ObjectiveRelation
from aicc.model import Prerequisite


def _level1() -> Course:
    return Course(
        base_name="course",
        course_creator="ACME Learning",
        course_id="C-001",
        course_system="HTML",
        course_title="Safety basics",
        level="1",
        version="4.0",
        max_normal=1,
        description="Two lessons on safety.\n\nSecond paragraph; a=b.",
        aus=[
            AssignableUnit(
                "A1",
                type="lesson",
                file_name="a1/index.html",
                mastery_score="80",
                web_launch="CMI=HACP",
            ),
            AssignableUnit("A2", file_name="https://cdn.example.com/a2?x=1", max_score="100"),
        ],
        descriptors=[
            Descriptor("A1", "DEV-1", 'Lesson "one", part 1', "Intro"),
            Descriptor("A2", "", "Lesson two", ""),
        ],
        blocks=[Block("root", ["A1", "A2"])],
    )


GOLDEN_CRS = (
    b"[Course]\r\n"
    b"Course_Creator=ACME Learning\r\n"
    b"Course_ID=C-001\r\n"
    b"Course_System=HTML\r\n"
    b"Course_Title=Safety basics\r\n"
    b"Level=1\r\n"
    b"Max_Fields_CST=3\r\n"
    b"Total_AUs=2\r\n"
    b"Total_Blocks=0\r\n"
    b"Version=4.0\r\n"
    b"[Course_Behavior]\r\n"
    b"Max_Normal=1\r\n"
    b"[Course_Description]\r\n"
    b"Two lessons on safety.\r\n"
    b"\r\n"
    b"Second paragraph; a=b.\r\n"
)
GOLDEN_AU = (
    b'"System_ID","Type","Command_Line","File_Name","Max_Score","Mastery_Score",'
    b'"Max_Time_Allowed","Time_Limit_Action","System_Vendor","Core_Vendor","Web_Launch",'
    b'"AU_Password"\r\n'
    b'"A1","lesson","","a1/index.html","","80","","","","","CMI=HACP",""\r\n'
    b'"A2","","","https://cdn.example.com/a2?x=1","100","","","","","","",""\r\n'
)
GOLDEN_DES = (
    b'"System_ID","Developer_ID","Title","Description"\r\n'
    b'"A1","DEV-1","Lesson ""one"", part 1","Intro"\r\n'
    b'"A2","","Lesson two",""\r\n'
)
GOLDEN_CST = b'"Block","Member","Member"\r\n"root","A1","A2"\r\n'


def test_level1_golden_bytes() -> None:
    files = aicc.write(_level1())
    assert list(files) == ["course.crs", "course.au", "course.des", "course.cst"]
    assert files["course.crs"] == GOLDEN_CRS
    assert files["course.au"] == GOLDEN_AU
    assert files["course.des"] == GOLDEN_DES
    assert files["course.cst"] == GOLDEN_CST


def test_every_line_ends_with_crlf_and_no_bare_lf_or_cr() -> None:
    for data in aicc.write(_level1()).values():
        assert data.endswith(b"\r\n")
        assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r")


def test_declared_totals_are_ignored_and_computed_ones_written() -> None:
    course = _level1()
    course.total_aus = 57
    course.total_blocks = 9
    course.max_fields_cst = 100
    crs = aicc.write(course)["course.crs"]
    assert b"Total_AUs=2\r\n" in crs
    assert b"Total_Blocks=0\r\n" in crs
    assert b"Max_Fields_CST=3\r\n" in crs


def _level3b() -> Course:
    course = _level1()
    course.level = "3b"
    course.aus.append(AssignableUnit("A3", file_name="a3.html"))
    course.blocks = [
        Block("root", ["B1", "A2"]),
        Block("B1", ["A1", "A3"]),
    ]
    course.descriptors += [
        Descriptor("A3", title="Three"),
        Descriptor("B1", title="Block"),
        Descriptor("J1", title="Obj"),
        Descriptor("J2", title="Complex"),
    ]
    course.objective_relations = [ObjectiveRelation("A1", ["J1"])]
    course.prerequisites = [Prerequisite("A2", "B1")]
    course.completion_requirements = [
        CompletionRequirement("B1", "A1 & A3", "completed", "A2", "true"),
        CompletionRequirement("J2", "2*{A1,A2,A3}", "passed"),
    ]
    return course


def test_optional_files_and_their_keywords_appear_only_with_content() -> None:
    files = aicc.write(_level3b())
    assert list(files) == [f"course.{e}" for e in ("crs", "au", "des", "cst", "ort", "pre", "cmp")]
    crs = files["course.crs"]
    for line in (b"Max_Fields_ORT=2", b"Total_Blocks=1", b"Total_Objectives=2"):
        assert line + b"\r\n" in crs
    assert b"Total_Complex_Obj=1\r\n" in crs
    assert files["course.cst"] == (
        b'"Block","Member","Member"\r\n"root","B1","A2"\r\n"B1","A1","A3"\r\n'
    )
    assert files["course.ort"] == b'"Course_Element","Member"\r\n"A1","J1"\r\n'
    assert files["course.pre"] == b'"Structure_Element","Prerequisite"\r\n"A2","B1"\r\n'
    assert files["course.cmp"] == (
        b'"Structure_Element","Requirement","Result","Next","Return"\r\n'
        b'"B1","A1 & A3","completed","A2","true"\r\n'
        b'"J2","2*{A1,A2,A3}","passed","",""\r\n'
    )
    level1 = aicc.write(_level1())["course.crs"]
    for keyword in (b"Max_Fields_ORT", b"Total_Objectives", b"Total_Complex_Obj"):
        assert keyword not in level1


def test_cst_rows_are_padded_to_the_widest_row() -> None:
    course = _level1()
    course.blocks = [Block("root", ["B1"]), Block("B1", ["A1", "A2"])]
    cst = aicc.write(course)["course.cst"]
    assert cst == b'"Block","Member","Member"\r\n"root","B1",""\r\n"B1","A1","A2"\r\n'


def test_extra_au_columns_are_written_after_the_canonical_ones() -> None:
    course = _level1()
    course.aus[1].extra = {"Weight": "2", "Tag": 'say "hi"'}
    course.aus[0].extra = {"Weight": "1"}
    au = aicc.write(course)["course.au"].decode()
    header, first, second = au.split("\r\n")[:3]
    assert header.endswith('"AU_Password","Weight","Tag"')
    assert first.endswith('"","1",""')
    assert second.endswith('"","2","say ""hi"""')


def test_description_keeps_its_text_but_not_trailing_blank_lines() -> None:
    course = _level1()
    course.description = "  indented\n; not a comment\n[not a header\n\n  \n"
    crs = aicc.write(course)["course.crs"]
    assert crs.endswith(
        b"[Course_Description]\r\n  indented\r\n; not a comment\r\n[not a header\r\n"
    )


def test_non_ascii_is_written_as_utf8() -> None:
    course = _level1()
    course.descriptors[0].title = "Sécurité — 安全"
    assert "Sécurité — 安全".encode() in aicc.write(course)["course.des"]


def test_same_model_same_bytes() -> None:
    assert aicc.write(_level3b()) == aicc.write(_level3b())
    assert aicc.write_zip(_level3b()) == aicc.write_zip(_level3b())


def test_zip_holds_the_files_with_fixed_timestamps() -> None:
    data = aicc.write_zip(_level1(), extra_files={"a1/index.html": b"<html/>"})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == [
            "course.crs",
            "course.au",
            "course.des",
            "course.cst",
            "a1/index.html",
        ]
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.read("course.cst") == GOLDEN_CST
        assert archive.read("a1/index.html") == b"<html/>"


def test_zip_folder_prefixes_every_entry() -> None:
    data = aicc.write_zip(_level1(), folder="pkg")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert all(name.startswith("pkg/") for name in archive.namelist())


@pytest.mark.parametrize("name", ["../evil.html", "/abs.html", "a\\b.html", "a//b", ""])
def test_zip_refuses_unsafe_extra_paths(name: str) -> None:
    with pytest.raises(WriteError, match="safe relative zip path"):
        aicc.write_zip(_level1(), extra_files={name: b"x"})


def test_zip_refuses_an_extra_file_that_shadows_a_structure_file() -> None:
    with pytest.raises(WriteError, match="collides"):
        aicc.write_zip(_level1(), extra_files={"COURSE.AU": b"x"})


def _refused(change: str) -> Course:
    course = _level1()
    if change == "newline in title":
        course.descriptors[0].title = "two\nlines"
    elif change == "control char":
        course.aus[0].core_vendor = "bell\x07"
    elif change == "crs value padded":
        course.course_title = " padded"
    elif change == "crs value quoted":
        course.course_creator = '"ACME"'
    elif change == "crs newline":
        course.course_id = "a\rb"
    elif change == "header in description":
        course.description = "ok\n[Course]\nmore"
    elif change == "cr in description":
        course.description = "a\r\nb"
    elif change == "blank id":
        course.aus[0].system_id = ""
    elif change == "padded member":
        course.blocks[0].members[0] = " A1"
    elif change == "extra clashes":
        course.aus[0].extra = {"file_name": "x"}
    elif change == "bad base":
        course.base_name = "a/b"
    return course


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("newline in title", "line break"),
        ("control char", "control character"),
        ("crs value padded", "white space"),
        ("crs value quoted", "double quotes"),
        ("crs newline", "line break"),
        ("header in description", "group header"),
        ("cr in description", "line breaks"),
        ("blank id", "empty"),
        ("padded member", "white space"),
        ("extra clashes", "clashes"),
        ("bad base", "file stem"),
    ],
)
def test_values_the_format_cannot_carry_are_refused(change: str, fragment: str) -> None:
    with pytest.raises(WriteError, match=fragment) as caught:
        aicc.write(_refused(change))
    assert isinstance(caught.value, aicc.AiccError)


def test_write_error_names_file_element_and_field() -> None:
    with pytest.raises(WriteError) as caught:
        aicc.write(_refused("newline in title"))
    error = caught.value
    assert (error.file, error.element, error.field) == ("course.des", "A1", "Title")
    assert str(error).startswith("course.des, element 'A1', field Title: ")


def test_values_are_written_as_they_are_even_when_invalid() -> None:
    # Validation is the validator's job: the writer carries what the model holds.
    course = _level1()
    course.max_normal = None
    course.level = "9"
    crs = aicc.write(course)["course.crs"]
    assert b"Max_Normal=\r\n" in crs
    assert b"Level=9\r\n" in crs
    (again,) = aicc.read(aicc.write(course)).courses
    assert again == course.with_computed_totals()
