"""Documented example documents under schemas/examples/ are accepted or rejected as stated.

``schemas/examples/expected.json`` names, for every invalid example, the JSON Schema keyword
that must fail, the instance path where it fails and the requirement the document breaks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import schemas

EXAMPLES = Path(schemas.__file__).parent / "examples"
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (EXAMPLES / "expected.json").read_text(encoding="utf-8")
)
VALID = sorted(rel for rel, meta in EXPECTED.items() if meta["valid"])
INVALID = sorted(rel for rel, meta in EXPECTED.items() if not meta["valid"])


def _load(rel: str) -> Any:
    return json.loads((EXAMPLES / rel).read_text(encoding="utf-8"))


def _schema_of(rel: str) -> str:
    return rel.split("/", 1)[0]


def test_index_and_files_agree() -> None:
    on_disk = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.json")}
    on_disk.discard("expected.json")
    assert on_disk == set(EXPECTED)
    for rel, meta in EXPECTED.items():
        folder = rel.split("/")[1]
        assert folder == ("valid" if meta["valid"] else "invalid"), rel
        assert meta["why"].strip(), rel


@pytest.mark.parametrize("name", schemas.schema_names())
def test_every_schema_has_valid_and_invalid_examples(name: str) -> None:
    assert any(_schema_of(rel) == name for rel in VALID)
    assert sum(_schema_of(rel) == name for rel in INVALID) >= 3


def test_readme_explains_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for rel, meta in EXPECTED.items():
        assert f"`{rel}`" in readme, rel
        if not meta["valid"]:
            assert f"`{meta['keyword']}` at `{meta['path']}` ({meta['requirement']})" in readme


@pytest.mark.parametrize("rel", VALID)
def test_valid_example_is_accepted(rel: str) -> None:
    errors = list(schemas.validator(_schema_of(rel)).iter_errors(_load(rel)))
    assert [f"{e.json_path}: {e.message}" for e in errors] == []


@pytest.mark.parametrize("rel", INVALID)
def test_invalid_example_is_rejected_for_the_stated_reason(rel: str) -> None:
    meta = EXPECTED[rel]
    errors = list(schemas.validator(_schema_of(rel)).iter_errors(_load(rel)))
    assert errors, f"{rel} was accepted"
    assert (meta["keyword"], meta["path"]) in {(e.validator, e.json_path) for e in errors}
    schemas.requirement(meta["requirement"])  # names a real requirement


def test_valid_course_package_urls_follow_the_loopback_rule() -> None:
    for rel in VALID:
        if _schema_of(rel) == "course":
            url = _load(rel).get("DownloadPackageUrl")
            assert url is None or schemas.is_allowed_package_url(url), rel
