"""Each contract fact lives once: the wire contract in ``schemas``, AICC facts in ``aicc``.

The ID, UTC, culture and duration patterns and the package size cap are read from
``schemas``; the AICC file extensions and the required .crs keywords from ``aicc.model``;
the zip safety rules from ``aicc.zipsafety``. This test fails when a copy appears in the
library code (a copy drifts: the trailing-newline bug of issue 14 lived in four copies).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import schemas

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("aicc", "schemas", "mock_vendor", "connector", "conformance", "cckit")

#: fact -> (pattern of a copy in Python source, the one file allowed to hold it).
FACTS: dict[str, tuple[re.Pattern[str], str | None]] = {
    "ID pattern": (re.compile(r"A-Za-z0-9\]\[A-Za-z0-9_-\]"), None),
    "UTC pattern": (re.compile(r"\{4\}-\[0-9\]\{2\}-\[0-9\]\{2\}T"), None),
    "culture pattern": (re.compile(r"\[a-z\]\{2\}-\[A-Z\]\{2\}"), None),
    "duration pattern": (re.compile(r"\{2,\}:\[0-5\]\[0-9\]"), None),
    "package cap": (
        re.compile(r"250\s*\*\s*1024\s*\*\s*1024|250\s*\*\s*1024\s*\*\*\s*2|262_?144_?000"),
        "schemas/_patterns.py",
    ),
    "AICC extensions": (
        re.compile(r"""["']\.?crs["'],\s*["']\.?au["'],\s*["']\.?des["']"""),
        "aicc/model.py",
    ),
    "optional AICC extensions": (
        re.compile(r"""["']\.?ort["'],\s*["']\.?pre["'],\s*["']\.?cmp["']"""),
        "aicc/model.py",
    ),
    "required CRS keywords": (
        re.compile(r"""["']Course_Creator["'],\s*["']Course_ID["'],\s*["']Course_System["']"""),
        "aicc/model.py",
    ),
    "zip safety rules": (
        re.compile(r"flag_bits\s*&|S_ISLNK|S_IFLNK"),
        "aicc/zipsafety.py",
    ),
}


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _copies(fact: str) -> list[str]:
    pattern, home = FACTS[fact]
    found = []
    for path in _sources():
        relative = path.relative_to(ROOT).as_posix()
        text = path.read_text("utf-8")
        for match in pattern.finditer(text):
            if relative != home:
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{relative}:{line}: {match.group(0)}")
    return found


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_no_copy_of_a_contract_fact(fact: str) -> None:
    assert _copies(fact) == [], f"read the {fact} from schemas/aicc instead of copying it"


def test_the_copy_detector_finds_a_copy(tmp_path: Path) -> None:
    # The detector itself must be able to fail: each pattern finds the copy it names.
    samples = {
        "ID pattern": 'r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$"',
        "UTC pattern": 'r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T"',
        "culture pattern": 'r"^[a-z]{2}-[A-Z]{2}$"',
        "duration pattern": 'r"^[0-9]{2,}:[0-5][0-9]:[0-5][0-9]$"',
        "package cap": "CAP = 250 * 1024 * 1024",
        "AICC extensions": 'EXT = (".crs", ".au", ".des", ".cst")',
        "optional AICC extensions": 'OPT = ("ort", "pre", "cmp")',
        "required CRS keywords": 'KEYS = ("Course_Creator", "Course_ID", "Course_System")',
        "zip safety rules": "if info.flag_bits & 0x1:",
    }
    assert set(samples) == set(FACTS)
    for fact, sample in samples.items():
        assert FACTS[fact][0].search(sample), fact


def test_the_schema_files_agree_with_the_python_constants() -> None:
    # The JSON Schemas repeat shared patterns per member (no $ref, for speed) and the
    # OpenAPI document repeats the ID pattern for its path parameter: all must be equal.
    course = schemas.load("course")["properties"]
    assert course["PackageLastModifiedUTC"]["pattern"] == schemas.UTC_PATTERN
    assert course["LastModifiedUTC"]["pattern"] == schemas.UTC_PATTERN
    openapi = (ROOT / "schemas" / "openapi.yaml").read_text("utf-8")
    ids = re.findall(r"pattern: '([^']*A-Za-z0-9_-[^']*)'", openapi)
    assert ids
    assert set(ids) == {schemas.ID_PATTERN}
    cultures = {
        m
        for m in re.findall(
            r'"pattern": "([^"]*)"', (ROOT / "schemas" / "course.schema.json").read_text()
        )
        if "a-z]{2}-" in m
    }
    assert {c.replace("\\\\", "\\") for c in cultures} == {schemas.CULTURE_PATTERN}
