"""``cckit aicc``: validate (text and JSON, exit codes 0/1/2) and show."""

from __future__ import annotations

import json
import pathlib
import re
import zipfile

import pytest
from click.testing import CliRunner

import aicc
from aicc.cli import aicc as aicc_group
from aicc.model import AssignableUnit
from aicc.model import Block
from aicc.model import Course
from aicc.model import Descriptor
from aicc.rules import RULES
from cckit.cli import main


def _course() -> Course:
    return Course(
        base_name="course",
        course_creator="ACME",
        course_id="C-7",
        course_system="HTML",
        course_title="Fire safety",
        level="2",
        description="About fire.",
        aus=[
            AssignableUnit("A1", file_name="a1/index.html"),
            AssignableUnit("A2", file_name="https://cdn.example.com/a2"),
        ],
        descriptors=[
            Descriptor("A1", title="Extinguishers"),
            Descriptor("A2", title="Evacuation"),
            Descriptor("B1", title="Module one"),
        ],
        blocks=[Block("root", ["B1", "A2"]), Block("B1", ["A1"])],
    )


@pytest.fixture
def good(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "good"
    folder.mkdir()
    for name, data in aicc.write(_course()).items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def bad(tmp_path: pathlib.Path) -> pathlib.Path:
    course = _course()
    del course.descriptors[0]  # A1 without a DES record: DES001
    path = tmp_path / "bad.zip"
    path.write_bytes(aicc.write_zip(course))
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(aicc_group, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_valid_course_exits_0_with_a_summary(good: pathlib.Path) -> None:
    code, output = _run("validate", str(good))
    assert code == 0
    assert (
        output.strip()
        .splitlines()[-1]
        .startswith(f"{good}: valid: 1 course(s) ('C-7'); 0 error(s)")
    )


def test_invalid_course_exits_1_with_located_lines(bad: pathlib.Path) -> None:
    code, output = _run("validate", str(bad))
    assert code == 1
    line = next(line for line in output.splitlines() if " DES001 " in line)
    assert re.fullmatch(rf"{re.escape(str(bad))}/course\.\w+(:\d+)*: error DES001 .*A1.*", line)
    assert f"{bad}: INVALID:" in output


def test_any_invalid_path_makes_exit_1(good: pathlib.Path, bad: pathlib.Path) -> None:
    code, output = _run("validate", str(good), str(bad))
    assert code == 1
    assert f"{good}: valid" in output
    assert f"{bad}: INVALID" in output


def test_hints_are_added_on_request(bad: pathlib.Path) -> None:
    _, output = _run("validate", "--hints", str(bad))
    assert "(hint: " in output


def test_json_output_shape(good: pathlib.Path, bad: pathlib.Path) -> None:
    code, output = _run("validate", "--format", "json", str(good), str(bad))
    assert code == 1
    data = json.loads(output)
    assert [entry["path"] for entry in data] == [str(good), str(bad)]
    first, second = data
    assert first["valid"] is True
    assert second["valid"] is False
    assert first["courses"] == [
        {
            "course_id": "C-7",
            "title": "Fire safety",
            "level": "2",
            "aus": 2,
            "blocks": 1,
            "objectives": 0,
        }
    ]
    diagnostic = next(d for d in second["diagnostics"] if d["rule"] == "DES001")
    assert {"rule", "severity", "file", "line", "column", "message"} <= set(diagnostic)
    assert diagnostic["severity"] == "error"


def test_strict_promotes_interoperability_warnings(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "upper.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in aicc.write(_course()).items():
            archive.writestr(name.upper(), data)  # COURSE.CST: Moodle rejects the package
    relaxed, _ = _run("validate", str(path))
    strict, output = _run("validate", "--strict", str(path))
    assert relaxed == 0
    assert strict == 1
    assert " error PKG006 " in output


def test_missing_path_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    code, output = _run("validate", str(tmp_path / "nope"))
    assert code == 2
    assert "does not exist" in output
    assert "Traceback" not in output


def test_no_path_and_bad_format_are_usage_errors(good: pathlib.Path) -> None:
    assert _run("validate")[0] == 2
    assert _run("validate", "--format", "xml", str(good))[0] == 2


def test_show_prints_the_tree(good: pathlib.Path) -> None:
    code, output = _run("show", str(good))
    assert code == 0
    lines = output.splitlines()
    assert lines[0].startswith("Fire safety  [Course_ID C-7, level 2, 2 AU(s), 1 block(s)")
    assert lines[1:] == [
        "[root]  Fire safety",
        "    [B1]  Module one",
        "        A1  Extinguishers  -> a1/index.html",
        "    A2  Evacuation  -> https://cdn.example.com/a2",
    ]


def test_show_lists_objectives_and_unplaced_aus(tmp_path: pathlib.Path) -> None:
    course = _course()
    course.aus.append(AssignableUnit("A3", file_name="a3.html"))
    course.descriptors.append(Descriptor("A3", title="Loose"))
    path = tmp_path / "c.zip"
    path.write_bytes(aicc.write_zip(course))
    code, output = _run("show", str(path))
    assert code == 0
    assert "Not in the structure:\n    A3  Loose  -> a3.html" in output


def test_show_without_a_course_fails_cleanly(tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, output = _run("show", str(empty))
    assert code == 1
    assert "no AICC course found" in output
    assert "Traceback" not in output


def test_registered_under_cckit(good: pathlib.Path) -> None:
    result = CliRunner().invoke(main, ["aicc", "validate", "--format", "json", str(good)])
    assert result.exit_code == 0
    assert json.loads(result.output)[0]["valid"] is True


def test_rules_lists_the_catalogue() -> None:
    code, output = _run("rules")
    assert code == 0
    lines = output.splitlines()
    assert len(lines) == len(RULES)
    assert any(re.fullmatch(r"DES001  error    .+", line) for line in lines)
    promotable = next(rule for rule in RULES.values() if rule.promotable)
    assert any(line.startswith(promotable.id) and "--strict" in line for line in lines)


def test_rules_as_json() -> None:
    code, output = _run("rules", "--format", "json")
    assert code == 0
    data = json.loads(output)
    assert {entry["id"] for entry in data} == set(RULES)
    assert set(data[0]) == {"id", "severity", "strict_promotes", "title", "hint"}


def test_a_single_crs_file_gets_one_clear_error(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "course.crs"
    path.write_text("[Course]\nCourse_ID=C1\n", encoding="ascii")
    code, output = _run("validate", str(path))
    assert code == 1
    errors = [line for line in output.splitlines() if " error " in line]
    assert len(errors) == 1, output  # not both "no .crs" and "not a zip"
    assert "single .crs file, not a course package: give the folder" in errors[0]
    assert "not a readable zip" not in output
