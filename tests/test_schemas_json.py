"""The JSON Schemas: metaschema checks, $ids, loading, validators and offline references."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

import schemas

NAMES = ("token-response", "oauth-error", "course", "course-list", "api-error")


def _active_course() -> dict[str, Any]:
    return {
        "ID": "FS-2026-001",
        "Title": "Workplace Fire Safety",
        "Description": "",
        "CourseType": "AICC",
        "IsActive": True,
        "LastModifiedUTC": "2026-11-20T08:15:00Z",
        "PackageLastModifiedUTC": "2026-11-19T17:42:10Z",
        "DownloadPackageUrl": "https://lcms.example.com/p/FS-2026-001.zip",
        "Languages": ["en-US"],
    }


def test_schema_names() -> None:
    assert schemas.schema_names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_schema_passes_its_metaschema(name: str) -> None:
    Draft202012Validator.check_schema(schemas.load(name))


@pytest.mark.parametrize("name", NAMES)
def test_schema_identity_and_documentation(name: str) -> None:
    doc = schemas.load(name)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == f"https://cckit.dev/schemas/v1/{name}.schema.json"
    assert doc["title"].strip()
    assert len(doc["description"]) > 40


@pytest.mark.parametrize("name", NAMES)
def test_schema_files_are_the_loaded_documents(name: str) -> None:
    text = resources.files("schemas").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    assert json.loads(text) == schemas.load(name)


def test_load_returns_a_copy() -> None:
    doc = schemas.load("course")
    doc["properties"].clear()
    assert "ID" in schemas.load("course")["properties"]


def test_load_openapi() -> None:
    doc = schemas.load("openapi")
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {
        "/oauth/token",
        "/api/v1/courses",
        "/api/v1/courses/{courseId}/package.zip",
    }


def test_unknown_schema_names_raise_a_key_error() -> None:
    with pytest.raises(schemas.UnknownSchemaError) as info:
        schemas.load("courses")
    assert isinstance(info.value, KeyError)
    assert "unknown schema 'courses'" in str(info.value)
    assert "course-list" in str(info.value)
    with pytest.raises(schemas.UnknownSchemaError):
        schemas.validator("openapi")


def test_validator_is_built_once() -> None:
    assert schemas.validator("course") is schemas.validator("course")


def test_validator_checks_formats() -> None:
    # Pattern-valid but not a real date: only format checking catches it.
    course = _active_course() | {"LastModifiedUTC": "2026-02-30T10:00:00Z"}
    errors = list(schemas.validator("course").iter_errors(course))
    assert [(e.validator, e.json_path) for e in errors] == [("format", "$.LastModifiedUTC")]


def test_course_list_resolves_course_offline() -> None:
    # The registry holds every $id; nothing is fetched from cckit.dev.
    resolved = schemas.registry().get_or_retrieve(schemas.BASE_URI + "course.schema.json")
    assert resolved.value.contents == schemas.load("course")
    bad = _active_course() | {"CourseType": "SCORM12"}
    with pytest.raises(ValidationError) as info:
        schemas.validator("course-list").validate([_active_course(), bad])
    assert info.value.json_path == "$[1].CourseType"


def test_course_schema_encodes_the_member_table() -> None:
    doc = schemas.load("course")
    assert set(doc["properties"]) == {
        "ID",
        "Title",
        "Description",
        "CourseType",
        "IsActive",
        "LastModifiedUTC",
        "PackageLastModifiedUTC",
        "DownloadPackageUrl",
        "Languages",
        "Duration",
        "Thumbnail",
        "Subjects",
        "Keywords",
        "Version",
        "Localization",
    }
    assert set(doc["required"]) == {
        "ID",
        "Title",
        "Description",
        "CourseType",
        "IsActive",
        "LastModifiedUTC",
        "Languages",
    }
    assert doc["then"] == {"required": ["PackageLastModifiedUTC", "DownloadPackageUrl"]}
    assert doc["additionalProperties"] is True


def test_conditional_requirement_only_applies_to_active_courses() -> None:
    course = _active_course()
    del course["DownloadPackageUrl"], course["PackageLastModifiedUTC"]
    validator = schemas.validator("course")
    assert not validator.is_valid(course)
    assert validator.is_valid(course | {"IsActive": False})


def test_unknown_members_are_allowed() -> None:
    course = _active_course() | {"IsMobile": True, "Partners": [{"Name": "Vendor Inc"}]}
    assert schemas.validator("course").is_valid(course)


def test_package_url_schema_accepts_http_but_code_applies_loopback_rule() -> None:
    course = _active_course() | {"DownloadPackageUrl": "http://lcms.example.com/p.zip"}
    assert schemas.validator("course").is_valid(course)
    assert not schemas.is_allowed_package_url(course["DownloadPackageUrl"])


def test_token_type_is_case_insensitive_and_lifetime_bounded() -> None:
    validator = schemas.validator("token-response")
    token: dict[str, Any] = {"access_token": "abc", "token_type": "BEARER", "expires_in": 60}
    assert validator.is_valid(token)
    assert not validator.is_valid(token | {"expires_in": 59})
    assert not validator.is_valid(token | {"expires_in": 60.5})
