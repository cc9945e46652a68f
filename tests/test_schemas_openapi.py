"""schemas/openapi.yaml: valid OpenAPI 3.1, usable by schemathesis, bundled form equivalent."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from schemathesis.core.transport import Response

import schemas

EXAMPLES = Path(schemas.__file__).parent / "examples"
OPERATIONS = {
    ("POST", "/oauth/token"),
    ("GET", "/api/v1/courses"),
    ("GET", "/api/v1/courses/{courseId}/package.zip"),
    ("HEAD", "/api/v1/courses/{courseId}/package.zip"),
}


def _example(rel: str) -> Any:
    return json.loads((EXAMPLES / rel).read_text(encoding="utf-8"))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _resolve_pointer(doc: Any, ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _response(status: int, body: Any, url: str, method: str = "GET", **headers: str) -> Response:
    return Response(
        status_code=status,
        headers={name.lower(): [value] for name, value in headers.items()},
        content=json.dumps(body).encode(),
        request=requests.Request(method, url).prepare(),
        elapsed=0.0,
        message="",
        encoding="utf-8",
        http_version="1.1",
        verify=True,
    )


@functools.cache
def _loaded(variant: str) -> Any:
    # Loading is the slow part; a loaded schema is only read by these tests, so share it.
    if variant == "path":
        return schemathesis.openapi.from_path(str(schemas.openapi_path()))
    return schemathesis.openapi.from_dict(schemas.openapi_document(bundled=True))


def test_openapi_file_passes_openapi_spec_validator() -> None:
    spec, base_uri = read_from_filename(str(schemas.openapi_path()))
    validate(spec, base_uri=base_uri)


def test_bundled_document_passes_openapi_spec_validator() -> None:
    validate(schemas.openapi_document(bundled=True))


def test_openapi_sits_next_to_the_schema_files_it_references() -> None:
    path = schemas.openapi_path()
    external = {ref for ref in _refs(schemas.openapi_document()) if not ref.startswith("#")}
    assert external == {f"{name}.schema.json" for name in schemas.schema_names()}
    for ref in external:
        assert (path.parent / ref).is_file()


def test_bundled_document_is_self_contained() -> None:
    doc = schemas.openapi_document(bundled=True)
    refs = _refs(doc)
    assert refs
    assert all(ref.startswith("#/") for ref in refs)
    for ref in refs:
        _resolve_pointer(doc, ref)  # every pointer lands somewhere
    assert "$id" not in json.dumps(doc)
    course = doc["components"]["schemas"]["Course"]
    assert course["properties"].keys() == schemas.load("course")["properties"].keys()
    assert doc["components"]["schemas"]["CourseList"]["items"] == {
        "$ref": "#/components/schemas/Course"
    }


def test_bundling_does_not_change_the_shipped_document() -> None:
    schemas.openapi_document(bundled=True)["info"]["title"] = "changed"
    assert schemas.openapi_document()["components"]["schemas"]["Course"] == {
        "$ref": "course.schema.json"
    }
    assert schemas.openapi_document(bundled=True)["info"]["title"] != "changed"


def test_headers_of_the_contract_are_described() -> None:
    text = schemas.openapi_path().read_text(encoding="utf-8")
    for header in (
        "If-Modified-Since",
        "Link",
        "WWW-Authenticate",
        "Cache-Control",
        "ETag",
        "Last-Modified",
        "Range",
        "Content-Range",
        "Accept-Ranges",
        "Content-Length",
    ):
        assert f"{header}:" in text or f"name: {header}" in text, header
    schemes = schemas.openapi_document()["components"]["securitySchemes"]
    assert {s["scheme"] for s in schemes.values()} == {"basic", "bearer"}


def test_operation_requirement_ids_exist() -> None:
    doc = schemas.openapi_document()
    listed = [
        rid
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for rid in op.get("x-cckit-requirements", [])
    ]
    assert listed
    for rid in listed:
        schemas.requirement(rid)
    mentioned = re.findall(r"\b(?:AUTH|LIST|COURSE|PKG|AICC)-[0-9]{3}\b", json.dumps(doc))
    for rid in mentioned:
        schemas.requirement(rid)


@pytest.mark.parametrize("variant", ["path", "bundled"])
def test_schemathesis_loads_every_operation(variant: str) -> None:
    schema = _loaded(variant)
    found = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert found == OPERATIONS


@pytest.mark.parametrize("variant", ["path", "bundled"])
def test_schemathesis_resolves_refs_when_checking_responses(variant: str) -> None:
    schema = _loaded(variant)
    courses = schema["/api/v1/courses"]["GET"]
    url = "http://127.0.0.1/api/v1/courses"
    json_type = {"Content-Type": "application/json"}
    courses.validate_response(
        _response(200, _example("course-list/valid/active-and-withdrawn.json"), url, **json_type)
    )
    bad_course = _example("course/invalid/last-modified-offset.json")
    with pytest.raises(AssertionError, match="does not match"):
        courses.validate_response(_response(200, [bad_course], url, **json_type))
    courses.validate_response(
        _response(401, _example("api-error/valid/unauthorized.json"), url, **json_type)
    )
    with pytest.raises(AssertionError, match='"error" is a required property'):
        courses.validate_response(_response(401, {"message": "no"}, url, **json_type))

    token = schema["/oauth/token"]["POST"]
    token_url = "http://127.0.0.1/oauth/token"
    token.validate_response(
        _response(
            200, _example("token-response/valid/typical.json"), token_url, "POST", **json_type
        )
    )
    with pytest.raises(AssertionError, match="less than the minimum of 60"):
        token.validate_response(
            _response(
                200,
                _example("token-response/invalid/expires-in-too-short.json"),
                token_url,
                "POST",
                **json_type,
            )
        )


@pytest.mark.parametrize("variant", ["path", "bundled"])
@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_schemathesis_generates_requests_from_the_document(variant: str, data: Any) -> None:
    schema = _loaded(variant)
    package = data.draw(schema["/api/v1/courses/{courseId}/package.zip"]["GET"].as_strategy())
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,49}", package.path_parameters["courseId"])
    token = data.draw(schema["/oauth/token"]["POST"].as_strategy())
    assert token.body["grant_type"] == "client_credentials"
