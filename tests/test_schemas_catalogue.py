"""The requirement catalogue (schemas/requirements.json) and its Python API."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest

import schemas
from schemas._requirements import _parse


def _raw() -> dict[str, Any]:
    text = resources.files("schemas").joinpath("requirements.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


def test_every_entry_is_well_formed() -> None:
    entries = _raw()["requirements"]
    assert len(entries) == len(schemas.requirements(None)) > 50
    for entry in entries:
        assert set(entry) - {"role"} == {"id", "level", "title", "section"}
        assert entry["level"] in ("MUST", "SHOULD", "MAY")
        assert entry["title"].strip() == entry["title"]
        assert len(entry["title"]) >= 10
        if entry.get("role", "vendor") == "vendor":
            assert re.fullmatch(r"(AUTH|LIST|COURSE|PKG|AICC)-[0-9]{3}", entry["id"])
            assert re.fullmatch(r"[1-5]\.[0-9]+", entry["section"])
        else:
            assert entry["role"] == "client"
            assert re.fullmatch(r"(CAUTH|CLIST|CPKG|CCAT|CNET)-[0-9]{3}", entry["id"])
            assert re.fullmatch(r"9\.[1-5]", entry["section"])


def test_client_requirements_are_a_separate_role() -> None:
    client = schemas.requirements("client")
    assert next(r.family for r in client) == "CAUTH"
    assert all(r.role == "client" for r in client)
    assert all(r.role == "vendor" for r in schemas.requirements())
    assert schemas.requirements(None) == schemas.requirements() + client
    assert schemas.requirement("CPKG-003").level == "SHOULD"


def test_ids_are_unique_and_numbered_without_gaps() -> None:
    ids = [req.id for req in schemas.requirements(None)]
    assert len(ids) == len(set(ids))
    for family in schemas.FAMILIES + schemas.CLIENT_FAMILIES:
        numbers = [int(i.split("-")[1]) for i in ids if i.startswith(family + "-")]
        assert numbers == list(range(1, len(numbers) + 1)), family


def test_families_map_to_their_contract_sections() -> None:
    section_of_family = {"AUTH": "1", "LIST": "2", "COURSE": "3", "PKG": "4", "AICC": "5"}
    for req in schemas.requirements():
        assert req.section.split(".")[0] == section_of_family[req.family], req.id


def test_catalogue_is_in_family_order() -> None:
    families = [req.family for req in schemas.requirements()]
    order = [schemas.FAMILIES.index(f) for f in families]
    assert order == sorted(order)


def test_levels_follow_the_contract() -> None:
    # contract-v1.md's SHOULDs (form-field client auth, ETag, Last-Modified, HEAD, Range,
    # Course_Title) plus cckit's own (tolerated 400 for invalid_client, https transport);
    # its only MAY-style rules are paging caps and the optional error body.
    should = {r.id for r in schemas.requirements() if r.level == "SHOULD"}
    may = {r.id for r in schemas.requirements() if r.level == "MAY"}
    assert should == {
        "AUTH-003",
        "AUTH-009",
        "AUTH-020",
        "PKG-005",
        "PKG-006",
        "PKG-007",
        "PKG-008",
        "AICC-002",
    }
    assert may == {"LIST-009", "LIST-015"}
    assert schemas.requirement("AUTH-002").level == "MUST"
    assert "Basic" in schemas.requirement("AUTH-002").title


def test_requirement_lookup() -> None:
    req = schemas.requirement("LIST-010")
    assert req == schemas.Requirement(id="LIST-010", level="MUST", title=req.title, section="2.3")
    assert 'rel="next"' in req.title
    assert req.family == "LIST"


def test_unknown_requirement_is_a_key_error_with_a_clear_message() -> None:
    with pytest.raises(schemas.UnknownRequirementError) as info:
        schemas.requirement("AUTH-999")
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, schemas.SchemasError)
    assert str(info.value).startswith("unknown requirement ID 'AUTH-999'")
    with pytest.raises(KeyError):
        schemas.requirement("auth-001")


def test_requirements_returns_a_fresh_list() -> None:
    first = schemas.requirements()
    first.clear()
    assert schemas.requirements()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"id": "AUTH-001", "level": "MUST", "title": "t"}], "exactly id, level, title"),
        (
            [{"id": "AUTH-001", "level": "MUST", "title": "t", "section": "1.1", "role": "x"}],
            "bad role",
        ),
        (
            [{"id": "AUTH-001", "level": "MUST", "title": "t", "section": "1.1", "role": "client"}],
            "bad id",
        ),
        ([{"id": "AUTH-1", "level": "MUST", "title": "t", "section": "1.1"}], "bad id"),
        ([{"id": "AUTH-001", "level": "must", "title": "t", "section": "1.1"}], "bad level"),
        ([{"id": "AUTH-001", "level": "MUST", "title": " ", "section": "1.1"}], "empty title"),
        ([{"id": "AUTH-001", "level": "MUST", "title": "t", "section": "9"}], "bad section"),
        (
            [
                {"id": "AUTH-001", "level": "MUST", "title": "t", "section": "1.1"},
                {"id": "AUTH-001", "level": "MAY", "title": "u", "section": "1.2"},
            ],
            "duplicate id AUTH-001",
        ),
    ],
)
def test_malformed_catalogues_are_refused(entries: list[dict[str, str]], message: str) -> None:
    with pytest.raises(schemas.SchemasError, match=re.escape(message)):
        _parse({"requirements": entries})


def test_catalogue_without_requirements_list_is_refused() -> None:
    with pytest.raises(schemas.SchemasError, match="'requirements' list"):
        _parse([])
