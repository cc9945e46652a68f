"""Package downloads of the mock vendor: headers, HEAD, ranges, conditional GET (section 4)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import flask
import pytest
import requests
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import mock_vendor


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> flask.Flask:
    return mock_vendor.create_app(
        {
            "TESTING": True,
            "COURSES": 6,
            "SEED": 4,
            "MAX_ASSET_BYTES": 150_000,
            "CLIENT_SECRET": "secret",
            "ADMIN_TOKEN": "admin",
            "CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
            "VALIDATE_RESPONSES": True,
            "CLOCK_START": "2026-11-26T10:00:00Z",
            "CLOCK_FROZEN": True,
        }
    )


@pytest.fixture(scope="module")
def client(app: flask.Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def auth(client: FlaskClient) -> dict[str, str]:
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("cckit-demo", "secret")
    )
    return {"Authorization": f"Bearer {response.json['access_token']}"}  # type: ignore[index]


@pytest.fixture(scope="module")
def course(client: FlaskClient, auth: dict[str, str]) -> dict[str, Any]:
    courses: list[dict[str, Any]] = client.get("/api/v1/courses", headers=auth).json  # type: ignore[assignment]
    return max(courses, key=lambda c: c["ID"])


def test_get_streams_the_zip_with_metadata_headers(
    client: FlaskClient, auth: dict[str, str], course: dict[str, Any]
) -> None:
    response = client.get(course["DownloadPackageUrl"], headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert response.headers["Accept-Ranges"] == "bytes"
    digest = hashlib.sha256(response.data).hexdigest()
    assert response.headers["ETag"] == f'"sha256-{digest[:32]}"'
    assert response.headers["Last-Modified"].endswith(" GMT")
    assert zipfile.ZipFile(io.BytesIO(response.data)).testzip() is None


def test_head_is_get_without_body(
    client: FlaskClient, auth: dict[str, str], course: dict[str, Any]
) -> None:
    get = client.get(course["DownloadPackageUrl"], headers=auth)
    head = client.head(course["DownloadPackageUrl"], headers=auth)
    assert head.status_code == 200
    assert head.data == b""
    for name in ("Content-Length", "Content-Type", "ETag", "Last-Modified", "Accept-Ranges"):
        assert head.headers[name] == get.headers[name]


def test_single_range_gets_206(
    client: FlaskClient, auth: dict[str, str], course: dict[str, Any]
) -> None:
    full = client.get(course["DownloadPackageUrl"], headers=auth).data
    response = client.get(course["DownloadPackageUrl"], headers={**auth, "Range": "bytes=10-99"})
    assert response.status_code == 206
    assert response.data == full[10:100]
    assert response.headers["Content-Range"] == f"bytes 10-99/{len(full)}"
    assert response.headers["Content-Length"] == "90"
    tail = client.get(course["DownloadPackageUrl"], headers={**auth, "Range": "bytes=-5"})
    assert tail.status_code == 206
    assert tail.data == full[-5:]


@given(start=st.integers(0, 400_000), length=st.integers(1, 400_000))
@settings(max_examples=40)
def test_any_satisfiable_range_returns_exactly_those_bytes(
    client: FlaskClient, auth: dict[str, str], course: dict[str, Any], start: int, length: int
) -> None:
    full = client.get(course["DownloadPackageUrl"], headers=auth).data
    end = start + length - 1
    response = client.get(
        course["DownloadPackageUrl"], headers={**auth, "Range": f"bytes={start}-{end}"}
    )
    if start >= len(full):
        assert response.status_code == 416
        assert response.headers["Content-Range"] == f"bytes */{len(full)}"
    else:
        assert response.status_code == 206
        assert response.data == full[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=abc", "bytes=5-2", "bytes="])
def test_unsatisfiable_or_malformed_byte_range_is_416_json(
    client: FlaskClient, auth: dict[str, str], course: dict[str, Any], header: str
) -> None:
    response = client.get(course["DownloadPackageUrl"], headers={**auth, "Range": header})
    assert response.status_code == 416
    assert response.json["error"] == "range_not_satisfiable"  # type: ignore[index]
    assert response.headers["Content-Range"].startswith("bytes */")


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5"])
def test_multi_range_and_other_units_get_the_whole_body(
    client: FlaskClient, auth: dict[str, str], course: dict[str, Any], header: str
) -> None:
    response = client.get(course["DownloadPackageUrl"], headers={**auth, "Range": header})
    assert response.status_code == 200
    assert len(response.data) == int(response.headers["Content-Length"])


def test_conditional_requests(
    client: FlaskClient, auth: dict[str, str], course: dict[str, Any]
) -> None:
    first = client.get(course["DownloadPackageUrl"], headers=auth)
    etag = first.headers["ETag"]
    cached = client.get(course["DownloadPackageUrl"], headers={**auth, "If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.data == b""
    stale = client.get(
        course["DownloadPackageUrl"],
        headers={**auth, "Range": "bytes=0-9", "If-Range": '"sha256-old"'},
    )
    assert stale.status_code == 200
    assert stale.data == first.data
    fresh = client.get(
        course["DownloadPackageUrl"], headers={**auth, "Range": "bytes=0-9", "If-Range": etag}
    )
    assert fresh.status_code == 206


@pytest.mark.parametrize("course_id", ["NOPE", "CRS-99999", "..", "a%20b", "x" * 300])
def test_unknown_course_is_404_json(
    client: FlaskClient, auth: dict[str, str], course_id: str
) -> None:
    response = client.get(f"/api/v1/courses/{course_id}/package.zip", headers=auth)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"  # type: ignore[index]


def test_package_without_credentials_is_401(client: FlaskClient, course: dict[str, Any]) -> None:
    assert client.get(course["DownloadPackageUrl"]).status_code == 401
    assert client.head(course["DownloadPackageUrl"]).status_code == 401


def test_inactive_course_has_no_package(tmp_path: Path) -> None:
    app = mock_vendor.create_app(
        {"COURSES": 2, "CLIENT_SECRET": "s", "ADMIN_TOKEN": "a", "CACHE_DIR": str(tmp_path)}
    )
    client = app.test_client()
    admin = {"Authorization": "Bearer a"}
    client.post("/_admin/courses/CRS-00001/deactivate", headers=admin)
    token = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("cckit-demo", "s")
    ).json["access_token"]  # type: ignore[index]
    response = client.get(
        "/api/v1/courses/CRS-00001/package.zip", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 404
    assert "inactive" in response.json["message"]  # type: ignore[index]


def instant(course: Any, name: str) -> datetime:
    return datetime.fromisoformat(course[name].replace("Z", "+00:00"))


def test_package_last_modified_moves_exactly_when_bytes_change(tmp_path: Path) -> None:
    app = mock_vendor.create_app(
        {
            "COURSES": 2,
            "CLIENT_SECRET": "s",
            "ADMIN_TOKEN": "a",
            "CACHE_DIR": str(tmp_path),
            "CLOCK_START": "2026-11-26T10:00:00Z",
            "CLOCK_FROZEN": True,
        }
    )
    client = app.test_client()
    admin = {"Authorization": "Bearer a"}
    before = client.get("/_admin/courses/CRS-00001", headers=admin).json
    old_bytes = mock_vendor.get_state(app).default_tenant.by_id["CRS-00001"].package.read_bytes()
    # The same bytes again: no change of PackageLastModifiedUTC (PKG-018).
    same = client.put("/_admin/courses/CRS-00001/package", data=old_bytes, headers=admin).json
    assert same["PackageLastModifiedUTC"] == before["PackageLastModifiedUTC"]  # type: ignore[index]
    # New bytes: it moves forward, even on a frozen clock (PKG-017).
    rebuilt = client.put("/_admin/courses/CRS-00001/package", headers=admin).json
    assert instant(rebuilt, "PackageLastModifiedUTC") > instant(before, "PackageLastModifiedUTC")
    assert rebuilt["LastModifiedUTC"] == before["LastModifiedUTC"]  # type: ignore[index]
    again = client.put("/_admin/courses/CRS-00001/package", headers=admin).json
    assert instant(again, "PackageLastModifiedUTC") > instant(rebuilt, "PackageLastModifiedUTC")
    new_bytes = mock_vendor.get_state(app).default_tenant.by_id["CRS-00001"].package.read_bytes()
    assert new_bytes != old_bytes


@pytest.mark.live
def test_live_download_streams_large_package(live_vendor_factory: Any) -> None:
    vendor = live_vendor_factory(COURSES=3, MAX_ASSET_BYTES=3_000_000, SEED=11)
    token = requests.post(
        vendor.auth_url,
        data={"grant_type": "client_credentials"},
        auth=(vendor.client_id, vendor.client_secret),
        timeout=10,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    courses = requests.get(vendor.course_list_url, headers=headers, timeout=10).json()
    for course in courses:
        with requests.get(
            course["DownloadPackageUrl"], headers=headers, stream=True, timeout=30
        ) as response:
            assert response.status_code == 200
            digest = hashlib.sha256()
            size = 0
            for chunk in response.iter_content(32 * 1024):
                digest.update(chunk)
                size += len(chunk)
            assert size == int(response.headers["Content-Length"])
            assert response.headers["ETag"] == f'"sha256-{digest.hexdigest()[:32]}"'


@pytest.mark.parametrize("course_id", ["CRS-00002", "ADDED-1"])
def test_rebuilt_package_follows_the_current_title(tmp_path: Path, course_id: str) -> None:
    from aicc.validator import validate

    app = mock_vendor.create_app(
        {"COURSES": 2, "ADMIN_TOKEN": "a", "CACHE_DIR": str(tmp_path), "MAX_ASSET_BYTES": 3_000}
    )
    client = app.test_client()
    admin = {"Authorization": "Bearer a"}
    if course_id == "ADDED-1":
        client.post("/_admin/courses", json={"ID": course_id, "Title": "First"}, headers=admin)
    client.patch(f"/_admin/courses/{course_id}", json={"Title": "Second title"}, headers=admin)
    record = mock_vendor.get_state(app).default_tenant.by_id[course_id]
    assert validate(record.package.read_bytes()).courses[0].course_title != "Second title"
    client.put(f"/_admin/courses/{course_id}/package", headers=admin)
    assert validate(record.package.read_bytes()).courses[0].course_title == "Second title"


# --- SHOULD feature switches (PKG-005..PKG-008) -------------------------------------------


@pytest.fixture(scope="module")
def switched(app: flask.Flask, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``switched(KEY=False, ...)``: ``(test client, Bearer headers)`` of a mock like ``app``
    with feature keys changed (same seed: same courses, URLs and package bytes)."""
    cache = str(tmp_path_factory.mktemp("switched-cache"))

    def make(**features: bool) -> tuple[FlaskClient, dict[str, str]]:
        config = {**app.config, "CACHE_DIR": cache, **features}
        other = mock_vendor.create_app(config).test_client()
        response = other.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("cckit-demo", "secret"),
        )
        return other, {"Authorization": f"Bearer {response.json['access_token']}"}  # type: ignore[index]

    return make


def test_etag_off_drops_etag_and_conditional_requests(
    switched: Any, client: FlaskClient, auth: dict[str, str], course: dict[str, Any]
) -> None:
    url = course["DownloadPackageUrl"]
    etag = client.get(url, headers=auth).headers["ETag"]
    other, headers = switched(ETAG=False)
    plain = other.get(url, headers=headers)
    assert plain.status_code == 200
    assert "ETag" not in plain.headers
    assert plain.headers["Last-Modified"].endswith(" GMT")  # the other features stay on
    # No validator: If-None-Match never matches, If-Range never lets a range through.
    again = other.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 200
    assert again.data == plain.data
    ranged = other.get(url, headers={**headers, "Range": "bytes=0-9", "If-Range": etag})
    assert ranged.status_code == 200
    assert ranged.data == plain.data
    assert other.get(url, headers={**headers, "Range": "bytes=0-9"}).status_code == 206


def test_last_modified_header_off(
    switched: Any, course: dict[str, Any], client: FlaskClient, auth: dict[str, str]
) -> None:
    other, headers = switched(LAST_MODIFIED_HEADER=False)
    response = other.get(course["DownloadPackageUrl"], headers=headers)
    assert response.status_code == 200
    assert "Last-Modified" not in response.headers
    assert (
        response.headers["ETag"]
        == client.get(course["DownloadPackageUrl"], headers=auth).headers["ETag"]
    )


def test_head_support_off_answers_405_and_get_still_works(
    switched: Any, course: dict[str, Any]
) -> None:
    other, headers = switched(HEAD_SUPPORT=False)
    head = other.head(course["DownloadPackageUrl"], headers=headers)
    assert head.status_code == 405
    assert head.headers["Allow"] == "GET"
    assert head.data == b""
    get = other.get(course["DownloadPackageUrl"], headers=headers)
    assert get.status_code == 200
    assert int(get.headers["Content-Length"]) == len(get.data)


@pytest.mark.parametrize("header", ["bytes=0-9", "bytes=999999999-", "bytes=abc"])
def test_range_support_off_ignores_range(
    switched: Any, course: dict[str, Any], header: str
) -> None:
    other, headers = switched(RANGE_SUPPORT=False)
    whole = other.get(course["DownloadPackageUrl"], headers=headers)
    assert whole.headers["Accept-Ranges"] == "none"
    response = other.get(course["DownloadPackageUrl"], headers={**headers, "Range": header})
    assert response.status_code == 200
    assert "Content-Range" not in response.headers
    assert response.data == whole.data
    assert other.head(course["DownloadPackageUrl"], headers=headers).status_code == 200


def test_feature_switches_must_be_booleans(app: flask.Flask) -> None:
    with pytest.raises(mock_vendor.ConfigError, match="RANGE_SUPPORT"):
        mock_vendor.create_app({**app.config, "RANGE_SUPPORT": "no"})
