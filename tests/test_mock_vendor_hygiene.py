"""Bounds on what a client may send the mock: body caps, hostile JSON, odd IDs (issue 10.5).

A body over its cap gets ``413`` with a small JSON body; malformed or deeply nested JSON
on the admin API gets ``400``; nothing a client sends gives ``500``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

import mock_vendor
from mock_vendor.limits import MAX_JSON_DEPTH

ADMIN = {"Authorization": "Bearer admin"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> flask.Flask:
    return mock_vendor.create_app(
        {
            "TESTING": True,
            "COURSES": 3,
            "MAX_ASSET_BYTES": 3_000,
            "CLIENT_SECRET": "secret",
            "ADMIN_TOKEN": "admin",
            "CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
            "VALIDATE_RESPONSES": True,
            "MAX_UPLOAD_BYTES": 200_000,
        }
    )


@pytest.fixture
def client(app: flask.Flask) -> Any:
    return app.test_client()


def _small_json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data()[:300]
    assert response.mimetype == "application/json"
    assert len(response.get_data()) < 2_000
    body: dict[str, Any] = response.json
    return body


# ------------------------------------------------------------------------ body caps


def test_admin_body_over_the_cap_is_413_with_a_small_body(client: Any) -> None:
    big = b'{"advance": 1, "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = client.post(
        "/_admin/clock", data=big, headers={**ADMIN, "Content-Type": "application/json"}
    )
    body = _small_json_error(response, 413)
    assert body["error"] == "payload_too_large"
    assert "1048576-byte limit" in body["message"]


def test_admin_upload_has_its_own_larger_cap(client: Any) -> None:
    # Within MAX_UPLOAD_BYTES (200,000 here) but over MAX_BODY_BYTES would not matter:
    # uploads are capped by MAX_UPLOAD_BYTES alone.
    response = client.put("/_admin/courses/CRS-00001/package", data=b"x" * 250_000, headers=ADMIN)
    body = _small_json_error(response, 413)
    assert "200000-byte limit" in body["message"]


def test_token_endpoint_caps_its_form_body(client: Any) -> None:
    form = "grant_type=client_credentials&pad=" + "x" * (20 * 1024)
    response = client.post(
        "/oauth/token",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=("cckit-demo", "secret"),
    )
    body = _small_json_error(response, 413)
    # The token endpoint speaks RFC 6749 errors, also here.
    assert body["error"] == "invalid_request"
    assert "16384-byte limit" in body["error_description"]
    assert response.headers["Cache-Control"] == "no-store"


def test_token_endpoint_still_works_under_the_cap(client: Any) -> None:
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("cckit-demo", "secret")
    )
    assert response.status_code == 200


@pytest.mark.live
def test_chunked_body_without_length_is_cut_at_the_cap(tmp_path: Path) -> None:
    from mock_vendor.testing import serve

    def chunks() -> Iterator[bytes]:
        yield b'{"advance": 1, "pad": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    config = {"COURSES": 1, "CACHE_DIR": str(tmp_path), "ADMIN_TOKEN": "admin"}
    with serve(config) as vendor:
        response = requests.post(
            f"{vendor.admin_url}/clock",
            data=chunks(),
            headers={**ADMIN, "Content-Type": "application/json"},
            timeout=30,
        )
    assert response.status_code == 413
    assert len(response.content) < 2_000


# ------------------------------------------------------------------------ hostile JSON


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"Title": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", "nested"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"NaN", "must be a JSON object"),
    ],
    ids=["deep-100k", "deep-5k-inside", "truncated", "not-utf8", "array", "nan"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/_admin/courses"),
        ("PATCH", "/_admin/courses/CRS-00001"),
        ("POST", "/_admin/faults"),
        ("POST", "/_admin/clock"),
        ("POST", "/_admin/clients/cckit-demo/rotate-secret"),
    ],
)
def test_malformed_or_deep_json_is_400(
    client: Any, method: str, path: str, body: bytes, reason: str
) -> None:
    response = client.open(
        path, method=method, data=body, headers={**ADMIN, "Content-Type": "application/json"}
    )
    answer = _small_json_error(response, 400)
    assert answer["error"] == "invalid_body"
    assert reason in answer["message"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_an_admin_body_are_400_and_change_nothing(
    client: Any, constant: str
) -> None:
    """Python's parser takes them; JSON does not, and the list would serve them as null."""
    before = client.get("/_admin/courses", headers=ADMIN).get_json()
    body = f'{{"ID": "NAN-1", "Title": "Not a number", "Duration": {constant}}}'.encode()
    response = client.post(
        "/_admin/courses", data=body, headers={**ADMIN, "Content-Type": "application/json"}
    )
    answer = _small_json_error(response, 400)
    assert answer["error"] == "invalid_body"
    assert f"{constant} is not a JSON number" in answer["message"]
    assert client.get("/_admin/courses", headers=ADMIN).get_json() == before


def test_nesting_just_under_the_bound_is_read(client: Any) -> None:
    # A course with a Localization entry is 3 levels deep; the bound leaves ample room.
    value: Any = "x"
    for _ in range(MAX_JSON_DEPTH - 2):
        value = [value]
    response = client.post(
        "/_admin/faults", json={"spec": "latency:1", "pad": value}, headers=ADMIN
    )
    assert response.status_code == 201
    client.delete("/_admin/faults", headers=ADMIN)


def test_huge_field_gives_a_short_error(client: Any) -> None:
    response = client.post(
        "/_admin/courses", json={"ID": "BIG-1", "Title": "T" * 150_000}, headers=ADMIN
    )
    body = _small_json_error(response, 400)
    assert body["error"] == "invalid_course"


@given(st.binary(max_size=300))
def test_arbitrary_admin_bodies_never_give_500(app: flask.Flask, data: bytes) -> None:
    client = app.test_client()
    for method, path in (
        ("POST", "/_admin/courses"),
        ("PATCH", "/_admin/courses/CRS-00002"),
        ("POST", "/_admin/faults"),
        ("POST", "/_admin/clock"),
    ):
        response = client.open(
            path, method=method, data=data, headers={**ADMIN, "Content-Type": "application/json"}
        )
        assert response.status_code < 500, (method, path, response.get_data()[:200])
    client.delete("/_admin/faults", headers=ADMIN)


# ------------------------------------------------------------------------ odd IDs


@pytest.mark.parametrize("course_id", ["CRS-1\n", "CRS-1\r\n", "\nCRS-1", "CRS 1", "CRS-1\x00"])
def test_an_id_with_a_newline_or_control_character_is_refused(client: Any, course_id: str) -> None:
    response = client.post("/_admin/courses", json={"ID": course_id, "Title": "T"}, headers=ADMIN)
    body = _small_json_error(response, 400)
    assert body["error"] == "invalid_course"
    assert client.get("/_admin/courses", headers=ADMIN).status_code == 200


@pytest.mark.parametrize("quoted", ["CRS-00001%0A", "CRS-00001%0D%0A", "%0A", "CRS-00001%00"])
def test_paths_with_a_trailing_newline_never_give_500(client: Any, quoted: str) -> None:
    token = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("cckit-demo", "secret")
    ).json["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    answers = [
        client.get(f"/_admin/courses/{quoted}", headers=ADMIN),
        client.patch(f"/_admin/courses/{quoted}", json={"Title": "x"}, headers=ADMIN),
        client.post(f"/_admin/courses/{quoted}/deactivate", headers=ADMIN),
        client.put(f"/_admin/courses/{quoted}/package", headers=ADMIN),
        client.get(f"/api/v1/courses/{quoted}/package.zip", headers=bearer),
        client.delete(f"/_admin/faults/{quoted}", headers=ADMIN),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers)


def test_an_uploaded_package_for_a_refused_id_is_not_stored(client: Any, app: flask.Flask) -> None:
    package = base64.b64encode(b"PK\x05\x06" + b"\x00" * 18).decode()
    response = client.post(
        "/_admin/courses",
        json={"ID": "CRS-9\n", "Title": "T", "package_base64": package},
        headers=ADMIN,
    )
    assert response.status_code == 400
    assert "CRS-9\n" not in mock_vendor.get_state(app).default_tenant.by_id


@pytest.mark.parametrize("title", ["Line one\nline two", "Tab\tand\rreturn"])
def test_a_title_the_aicc_writer_refuses_is_400_not_500(client: Any, title: str) -> None:
    response = client.post("/_admin/courses", json={"ID": "CTRL-1", "Title": title}, headers=ADMIN)
    assert response.status_code in (201, 400), response.get_data()[:300]
    if response.status_code == 400:
        assert response.json["error"] == "invalid_course"
    else:  # written after all: then a rebuild with that title must not 500 either
        client.delete("/_admin/faults", headers=ADMIN)
    renamed = client.patch("/_admin/courses/CRS-00001", json={"Title": title}, headers=ADMIN)
    assert renamed.status_code in (200, 400)
    rebuilt = client.put("/_admin/courses/CRS-00001/package", headers=ADMIN)
    assert rebuilt.status_code in (200, 400), rebuilt.get_data()[:300]
