"""The AICC fixture library (CATAPULT style): valid/... pass, invalid/<RULE>-... fail.

Every fixture folder under ``tests/fixtures/aicc`` is validated; ``expected.json`` lists
the exact diagnostics (``"severity RULE file"``) each one produces, so a rule that starts
firing (or stops firing) anywhere in the library fails a test.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest

import aicc
from aicc.reader import read
from aicc.rules import RULES
from aicc.validator import validate

FIXTURES = Path(__file__).parent / "fixtures" / "aicc"
EXPECTED: dict[str, list[str]] = json.loads((FIXTURES / "expected.json").read_text("utf-8"))
VALID = sorted(p.name for p in (FIXTURES / "valid").iterdir() if p.is_dir())
INVALID = sorted(p.name for p in (FIXTURES / "invalid").iterdir() if p.is_dir())


def _summary(report: aicc.Report) -> list[str]:
    return sorted(
        f"{d.severity.value} {d.rule} {d.file or '<package>'}" for d in report.diagnostics
    )


def test_every_fixture_has_an_expectation_and_vice_versa() -> None:
    folders = {f"valid/{name}" for name in VALID} | {f"invalid/{name}" for name in INVALID}
    assert folders == set(EXPECTED)


@pytest.mark.parametrize("name", VALID)
def test_valid_fixture_has_no_errors(name: str) -> None:
    report = validate(FIXTURES / "valid" / name)
    assert report.valid, [d.format() for d in report.errors]
    assert report.courses, "a valid fixture holds at least one course"
    assert Counter(_summary(report)) == Counter(EXPECTED[f"valid/{name}"])


@pytest.mark.parametrize("name", INVALID)
def test_invalid_fixture_fails_with_its_rule(name: str) -> None:
    rule = name.split("-", 1)[0]
    assert rule in RULES, f"fixture {name} names an unknown rule"
    report = validate(FIXTURES / "invalid" / name)
    assert not report.valid
    assert rule in {d.rule for d in report.errors}, [d.format() for d in report.diagnostics]
    assert Counter(_summary(report)) == Counter(EXPECTED[f"invalid/{name}"])


def test_every_invalid_fixture_names_an_error_rule() -> None:
    # The fixture name is the contract: the named rule must be an error by default.
    for name in INVALID:
        rule = RULES[name.split("-", 1)[0]]
        assert rule.severity is aicc.Severity.ERROR, name


def _zip_folder(folder: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name",
    ["level1-crlf", "level3b-complex-objectives", "quirk-two-course-sets", "quirk-ore-extension"],
)
def test_valid_fixture_gives_the_same_result_as_a_zip(name: str) -> None:
    folder = FIXTURES / "valid" / name
    from_folder = validate(folder)
    from_zip = validate(_zip_folder(folder))
    assert _summary(from_zip) == _summary(from_folder)
    assert from_zip.courses == from_folder.courses


def test_uppercase_extensions_warn_in_a_zip_but_only_inform_in_a_folder() -> None:
    folder = FIXTURES / "valid" / "level1-uppercase-extensions"
    in_folder = validate(folder).by_rule()["PKG006"]
    in_zip = validate(_zip_folder(folder)).by_rule()["PKG006"]
    assert {d.severity for d in in_folder} == {aicc.Severity.INFO}
    assert {d.severity for d in in_zip} == {aicc.Severity.WARNING}
    assert len(in_zip) == 4


def test_invalid_fixture_as_mapping_matches_folder() -> None:
    folder = FIXTURES / "invalid" / "CST005-cycle"
    mapping = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert _summary(validate(mapping)) == _summary(validate(folder))


def test_strict_promotes_the_fixture_warnings() -> None:
    report = validate(FIXTURES / "valid" / "level1-lf", strict=True)
    assert not report.valid
    assert {d.rule for d in report.errors} == {"ENC005"}


def test_fixture_courses_read_back_the_declared_model() -> None:
    report = read(FIXTURES / "valid" / "level3b-complex-objectives")
    (course,) = report.courses
    assert course.level == "3b"
    assert course.total_complex_obj == 1
    assert [b.system_id for b in course.blocks] == ["root", "B1", "B2"]
    assert [o.system_id for o in course.objectives] == ["J1", "J2", "J3"]
    assert [o.complex for o in course.objectives] == [False, False, True]
    assert course.prerequisites[2].parsed.evaluate({"A1": "passed"}) is True


def test_every_fixture_gives_the_recorded_messages() -> None:
    # expected-messages.txt holds every diagnostic of every fixture, with its position,
    # message and hint, plain and strict, as the validator wrote them before it was split
    # into small checks: a refactoring of the rules must not change a byte of them.
    lines: list[str] = []
    for kind, names in (("valid", VALID), ("invalid", INVALID)):
        for name in names:
            for strict in (False, True):
                lines.append(f"# {kind}/{name}" + (" strict" if strict else ""))
                report = validate(FIXTURES / kind / name, strict=strict)
                lines += [d.format(with_hint=True) for d in report.diagnostics]
    expected = (FIXTURES / "expected-messages.txt").read_text("utf-8").splitlines()
    assert lines == expected
