"""Schemathesis, driven by schemas/openapi.yaml, finds no failure in the live mock vendor.

Every documented operation is exercised with generated requests (valid credentials
attached; schemathesis' own checks also try them without) and every answer is checked
for status code, content type, headers and body against the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import JsonSchemaError

import schemas

pytestmark = pytest.mark.live

OPERATIONS = [
    ("/oauth/token", "POST"),
    ("/api/v1/courses", "GET"),
    ("/api/v1/courses/{courseId}/package.zip", "GET"),
    ("/api/v1/courses/{courseId}/package.zip", "HEAD"),
]


@pytest.fixture(scope="module")
def schema() -> Any:
    return schemathesis.openapi.from_dict(schemas.openapi_document(bundled=True))


def test_every_documented_operation_is_covered(schema: Any) -> None:
    documented = {
        (result.ok().path, result.ok().method.upper()) for result in schema.get_all_operations()
    }
    assert documented == set(OPERATIONS)


def run_schemathesis(vendor: Any, schema: Any, path: str, method: str) -> None:
    """Generate requests for one operation and validate every answer."""
    token = requests.post(
        vendor.auth_url,
        data={"grant_type": "client_credentials"},
        auth=(vendor.client_id, vendor.client_secret),
        timeout=10,
    ).json()["access_token"]
    operation = schema[path][method]
    known_ids = [c["ID"] for c in vendor.admin.courses() if c["IsActive"]]
    basic = requests.auth._basic_auth_str(vendor.client_id, vendor.client_secret)
    session = requests.Session()

    @given(case=operation.as_strategy(), existing=st.sampled_from([None, *known_ids]))
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def run(case: Any, existing: str | None) -> None:
        if existing is not None and case.path_parameters:
            # Aim at a course that exists too, so 200/206 answers get checked.
            case.path_parameters["courseId"] = existing
        headers = {"Authorization": f"Bearer {token}"}
        if method == "POST":
            form_auth = isinstance(case.body, dict) and "client_secret" in case.body
            headers = {} if form_auth else {"Authorization": basic}
        case.call_and_validate(base_url=vendor.base_url, headers=headers, session=session)

    try:
        run()
    finally:
        session.close()


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_schemathesis_reports_no_failure(
    live_vendor_factory: Any, schema: Any, path: str, method: str
) -> None:
    vendor = live_vendor_factory(COURSES=6, MAX_ASSET_BYTES=3_000)
    run_schemathesis(vendor, schema, path, method)
    assert vendor.problems() == []


def test_schemathesis_run_would_catch_a_contract_break(
    live_vendor_factory: Any, schema: Any
) -> None:
    # The harness is not vacuous: a list wrapped in an object fails the CourseList schema.
    vendor = live_vendor_factory(COURSES=6, MAX_ASSET_BYTES=3_000, FAULTS=["list_wrapped"])
    with pytest.raises(FailureGroup) as caught:
        run_schemathesis(vendor, schema, "/api/v1/courses", "GET")
    assert any(isinstance(e, JsonSchemaError) for e in caught.value.exceptions)
