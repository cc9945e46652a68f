"""docs/spec.md and schemas/requirements.json list the same rules with the same levels.

A rule is tagged in spec.md as ``**ID** (LEVEL)`` under a numbered heading ``### N.M ...``;
that heading is the requirement's ``section`` in the catalogue.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import schemas

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "spec.md"
ID = r"(?:AUTH|LIST|COURSE|PKG|AICC|CAUTH|CLIST|CPKG|CCAT|CNET)-[0-9]{3}"
TAG = re.compile(rf"\*\*({ID})\*\* \((MUST|SHOULD|MAY)\)")
HEADING = re.compile(r"^(#{2,3}) ([0-9]+(?:\.[0-9]+)?)\.? ")


def _tags() -> list[tuple[str, str, str]]:
    """Return (id, level, section) for every tag, section being the closest N.M heading."""
    found: list[tuple[str, str, str]] = []
    section = ""
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        heading = HEADING.match(line)
        if heading:
            section = heading.group(2)
            continue
        found.extend((rid, level, section) for rid, level in TAG.findall(line))
    return found


def test_spec_has_tags() -> None:
    assert len(_tags()) >= 60


def test_every_catalogue_id_is_tagged_exactly_once() -> None:
    tagged = [rid for rid, _, _ in _tags()]
    duplicates = sorted({rid for rid in tagged if tagged.count(rid) > 1})
    assert duplicates == []
    catalogue = {req.id for req in schemas.requirements(None)}
    assert sorted(catalogue - set(tagged)) == [], "in requirements.json, not tagged in spec.md"
    assert sorted(set(tagged) - catalogue) == [], "tagged in spec.md, not in requirements.json"


def test_levels_and_sections_match() -> None:
    mismatches = []
    for rid, level, section in _tags():
        req = schemas.requirement(rid)
        if (req.level, req.section) != (level, section):
            mismatches.append(
                f"{rid}: spec {level} in {section}, catalogue {req.level} in {req.section}"
            )
    assert mismatches == []


def test_every_catalogue_section_is_a_heading() -> None:
    text = SPEC.read_text(encoding="utf-8")
    for section in {req.section for req in schemas.requirements(None)}:
        assert re.search(rf"^### {re.escape(section)} \S", text, re.MULTILINE), section


def test_tags_only_appear_in_the_numbered_rule_sections() -> None:
    for rid, _, section in _tags():
        assert section.split(".")[0] in {"1", "2", "3", "4", "5", "9"}, rid


def test_roles_follow_the_sections() -> None:
    # Sections 1-5 bind the vendor, section 9 ("Client obligations") the client; the
    # conformance suite grades the first, the LMS check the second.
    for rid, _, section in _tags():
        role = schemas.requirement(rid).role
        assert role == ("client" if section.startswith("9.") else "vendor"), rid
    client = schemas.requirements("client")
    assert {req.family for req in client} == set(schemas.CLIENT_FAMILIES)
    assert not {req.id for req in client} & {req.id for req in schemas.requirements()}
    assert "## 9. Client obligations" in SPEC.read_text(encoding="utf-8")


def test_spec_has_rationale_and_decisions() -> None:
    text = SPEC.read_text(encoding="utf-8")
    for heading in ("## 6. Rationale", "## 7. Decisions where sources disagree", "## 8. "):
        assert heading in text
    rationale = text.split("## 6. Rationale", 1)[1].split("## 7.", 1)[0]
    for topic in ("Why pull", "Why If-Modified-Since", "Why no delete", "bare array", "AICC only"):
        assert topic in rationale
    assert re.search(r"\[S[0-9]+\]", rationale)
    assert re.search(r"\[E[0-9]+\]", rationale)


@pytest.mark.parametrize(
    "path",
    [
        SPEC,
        *sorted((ROOT / "schemas").glob("*.json")),
        ROOT / "schemas" / "openapi.yaml",
        ROOT / "schemas" / "examples" / "expected.json",
        ROOT / "schemas" / "examples" / "README.md",
    ],
    ids=lambda p: p.name,
)
def test_every_id_mentioned_exists(path: Path) -> None:
    for rid in set(re.findall(rf"\b{ID}\b", path.read_text(encoding="utf-8"))):
        schemas.requirement(rid)


def test_catalogue_points_at_this_spec() -> None:
    # requirements.json names docs/spec.md as its prose, which must exist in the repository.
    raw = json.loads((ROOT / "schemas" / "requirements.json").read_text(encoding="utf-8"))
    assert raw["spec"] == "docs/spec.md"
    assert (ROOT / raw["spec"]).is_file()
