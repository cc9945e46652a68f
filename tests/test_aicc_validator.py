"""aicc.validate: the rules the fixture library does not isolate, strict mode, the report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Report
from aicc.diagnostics import Severity
from aicc.rules import RULES
from aicc.rules import effective_severity
from aicc.validator import validate
from aicc.validator._registry import CHECKS
from aicc.validator._registry import Check

BASE = Path(__file__).parent / "fixtures" / "aicc" / "valid"
Files = dict[str, bytes]


def _files(fixture: str = "level1-crlf") -> Files:
    return {p.name: p.read_bytes() for p in sorted((BASE / fixture).iterdir())}


def _edit(files: Files, name: str, old: str, new: str) -> Files:
    text = files[name].decode()
    assert old in text, (name, old)
    return {**files, name: text.replace(old, new, 1).encode()}


def _found(files: Files, **kwargs: bool) -> list[tuple[str, Severity]]:
    return [(d.rule, d.severity) for d in validate(files, **kwargs).diagnostics]


def _only(files: Files, rule: str) -> Diagnostic:
    report = validate(files)
    matches = [d for d in report.diagnostics if d.rule == rule]
    assert len(matches) == 1, [d.format() for d in report.diagnostics]
    return matches[0]


@pytest.mark.parametrize(
    ("edit", "rule", "severity"),
    [
        (lambda f: _edit(f, "course.crs", "Level=1", "Level=5"), "CRS008", Severity.WARNING),
        (lambda f: _edit(f, "course.crs", "Version=4.0", "Version=v4"), "CRS009", Severity.WARNING),
        (
            lambda f: _edit(f, "course.crs", "Version=4.0", "Version=9.9"),
            "CRS009",
            Severity.WARNING,
        ),
        (
            lambda f: _edit(
                f, "course.crs", "[Course_Behavior]", "[Extra]\r\nx=1\r\n[Course_Behavior]"
            ),
            "CRS011",
            Severity.WARNING,
        ),
        (
            lambda f: _edit(f, "course.crs", "A small course used as a test fixture.", "x" * 4097),
            "CRS015",
            Severity.WARNING,
        ),
        (
            lambda f: _edit(f, "course.crs", "A small course used as a test fixture.", ""),
            "CRS016",
            Severity.WARNING,
        ),
        (
            lambda f: _edit(f, "course.crs", "Course_ID=FIX-001", "Course_ID=FIX 001"),
            "CRS018",
            Severity.WARNING,
        ),
        (
            lambda f: _edit(
                f, "course.crs", "Course_Title=Fixture course", "Course_Title=" + "t" * 256
            ),
            "CRS019",
            Severity.WARNING,
        ),
        (lambda f: _edit(f, "course.au", '"A1","lesson"', '"L1","lesson"'), "AU004", Severity.INFO),
        (lambda f: _edit(f, "course.au", '"100","80"', '"50","80"'), "AU008", Severity.WARNING),
        (lambda f: _edit(f, "course.au", '"100","80"', '"","180"'), "AU008", Severity.WARNING),
        (
            lambda f: _edit(f, "course.au", '"",""\r\n', '"?CMI=HACP",""\r\n'),
            "AU013",
            Severity.WARNING,
        ),
        (lambda f: _edit(f, "course.au", '"",""\r\n', '"a=b c",""\r\n'), "AU013", Severity.WARNING),
        (
            lambda f: _edit(f, "course.au", "lesson1/index.html", "lesson1\\index.html"),
            "AU014",
            Severity.WARNING,
        ),
        (
            lambda f: _edit(f, "course.au", "lesson1/index.html", "l.html?AICC_SID=&AICC_URL="),
            "AU015",
            Severity.WARNING,
        ),
        (
            lambda f: _edit(f, "course.des", '"A2","DEV-A2"', '"A9","DEV-A2"'),
            "DES002",
            Severity.WARNING,
        ),
        (
            lambda f: _edit(f, "course.des", '"The second lesson"', '"' + "d" * 4097 + '"'),
            "DES005",
            Severity.WARNING,
        ),
        (
            lambda f: {**f, "course.des": f["course.des"] + b'"root","","Course",""\r\n'},
            "DES006",
            Severity.INFO,
        ),
        (lambda f: _edit(f, "course.des", '"A2"', '" A2"'), "TBL012", Severity.WARNING),
    ],
)
def test_single_rules(edit: Callable[[Files], Files], rule: str, severity: Severity) -> None:
    diagnostic = _only(edit(_files()), rule)
    assert diagnostic.severity is severity
    assert diagnostic.file is not None
    assert diagnostic.hint
    assert diagnostic.line is not None


def test_required_keywords_and_groups_each_reported() -> None:
    files = {**_files(), "course.crs": b"[Course_Description]\r\nx\r\n[Course]\r\nLevel=1\r\n"}
    found = _found(files)
    assert ("CRS002", Severity.ERROR) in found
    assert ("CRS017", Severity.WARNING) in found  # [Course] is not the first group
    missing = [d.message for d in validate(files).diagnostics if d.rule == "CRS004"]
    assert len(missing) == 8  # all required [Course] keywords but Level


def test_cst_rules_with_levels() -> None:
    files = _files("level2-blocks-prerequisites")
    files = _edit(files, "course.cst", '"B2","A3","A4"', '"B2","A3","A4"\r\n"B3","",""')
    files = _edit(files, "course.crs", "Total_Blocks=2", "Total_Blocks=3")
    files = {**files, "course.des": files["course.des"] + b'"B3","","Empty",""\r\n'}
    found = _found(files)
    assert ("CST009", Severity.WARNING) in found
    assert ("CST007", Severity.ERROR) in found


def test_objective_naming_and_counts() -> None:
    files = _files("level3a-objectives")
    files = _edit(files, "course.ort", '"J1","J2"', '"J1","OBJ2"')
    files = _edit(files, "course.des", '"J2","OBJ-2"', '"OBJ2","OBJ-2"')
    assert ("ORT006", Severity.INFO) in _found(files)
    files = _edit(_files("level3a-objectives"), "course.crs", "Total_Objectives=2\r\n", "")
    assert ("CRS021", Severity.WARNING) in _found(files)


def test_prerequisite_warnings_and_columns() -> None:
    files = _files("level2-blocks-prerequisites")
    files = {**files, "course.pre": files["course.pre"] + b'"A2","A1=passed"\r\n'}
    files = _edit(files, "course.pre", '"B2","B1"', '"B2","B1 & A1 | A2"')
    report = validate(files)
    assert [d.rule for d in report.diagnostics] == ["PRE008", "PRE007"]
    mixed = report.diagnostics[0]
    # Column of the '|' inside the quoted field: field at column 6, quote, offset 8.
    assert (mixed.line, mixed.column) == (3, 6 + 1 + 8)


def test_syntax_error_column_points_into_the_expression() -> None:
    files = _edit(_files("level2-blocks-prerequisites"), "course.pre", '"A2","A1"', '"A2","A1 &"')
    diagnostic = _only(files, "PRE003")
    assert (diagnostic.line, diagnostic.column) == (2, 6 + 1 + 4)


def test_cmp_next_return_and_extra_columns() -> None:
    files = _edit(_files("level3b-complex-objectives"), "course.cmp", '"B2","true"', '"B9","maybe"')
    assert [r for r, _ in _found(files)].count("CMP005") == 2
    files = _edit(
        _files("level3b-complex-objectives"), "course.cmp", '"Return"', '"Return","Weight"'
    )
    assert ("CMP006", Severity.WARNING) in _found(files)


def test_level_features_above_declared() -> None:
    files = _edit(_files("level3b-complex-objectives"), "course.crs", "Level=3b", "Level=2")
    diagnostic = _only(files, "LVL001")
    assert "complex objectives" in diagnostic.message
    assert diagnostic.severity is Severity.WARNING


def test_strict_promotes_exactly_the_promotable_warnings() -> None:
    files = _edit(_files(), "course.crs", "Version=4.0", "Version=1.0")
    files = _edit(files, "course.des", '"A2"', '"a2"')
    normal = validate(files)
    strict = validate(files, strict=True)
    assert normal.valid
    assert not strict.valid
    assert {d.rule for d in strict.errors} == {"CRS009", "TBL014"}
    for rule in RULES.values():
        promoted = effective_severity(rule.id, strict=True)
        assert promoted is (Severity.ERROR if rule.promotable else rule.severity)
        assert not rule.promotable or rule.severity is Severity.WARNING


def test_internal_errors_become_pkg999(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ctx: object) -> None:
        raise KeyError("broken")

    monkeypatch.setitem(CHECKS, "cst", [Check("cst", ("CST002",), boom)])
    report = validate(_files())
    assert [d.rule for d in report.errors] == ["PKG999"]
    assert report.courses  # the course itself was still read


def test_report_api_and_json_shape() -> None:
    files = _edit(_files(), "course.crs", "Total_AUs=2", "Total_AUs=3")
    report = validate(files)
    assert isinstance(report, Report)
    assert not report.valid
    assert len(report.errors) == 1
    assert report.warnings == []
    assert list(report.by_rule()) == ["AU017"]
    data = report.to_dict("pkg.zip")
    assert json.loads(json.dumps(data)) == data
    assert data["path"] == "pkg.zip"
    assert data["valid"] is False
    assert data["courses"] == [
        {
            "course_id": "FIX-001",
            "title": "Fixture course",
            "level": "1",
            "aus": 2,
            "blocks": 0,
            "objectives": 0,
        }
    ]
    (diagnostic,) = data["diagnostics"]
    assert {k: diagnostic[k] for k in ("rule", "severity", "file", "line", "column")} == {
        "rule": "AU017",
        "severity": "error",
        "file": "course.crs",
        "line": 8,
        "column": 11,
    }
    text = report.errors[0].format()
    assert text == "course.crs:8:11: error AU017 Total_AUs=3 but there are 2 AU records"
    assert report.summary() == "1 error(s), 0 warning(s), 0 info(s)"


def test_diagnostics_are_sorted_by_file_and_position() -> None:
    report = validate(_files("level1-lf"))
    keys = [d.sort_key() for d in report.diagnostics]
    assert keys == sorted(keys)


def test_every_rule_has_a_title_and_hint_and_a_family() -> None:
    families = {"PKG", "ENC", "CRS", "TBL", "AU", "DES", "CST", "ORT", "PRE", "CMP", "LVL"}
    for rule in RULES.values():
        assert rule.family in families
        assert rule.title
        assert rule.hint


def test_documentation_lists_every_rule() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "aicc-rules.md").read_text("utf-8")
    for rule_id in RULES:
        assert f"| {rule_id} |" in doc, rule_id
