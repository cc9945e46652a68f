"""The admin API, driven live through ``mock_vendor.testing`` (the way scenarios use it)."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from typing import Any

import pytest
import requests

import aicc
from aicc.validator import validate
from mock_vendor._generate import build_course_model
from mock_vendor.testing import AdminError
from mock_vendor.testing import LiveVendor
from mock_vendor.testing import serve

pytestmark = pytest.mark.live


def token(vendor: LiveVendor, secret: str | None = None) -> requests.Response:
    return requests.post(
        vendor.auth_url,
        data={"grant_type": "client_credentials"},
        auth=(vendor.client_id, secret or vendor.client_secret),
        timeout=10,
    )


def bearer(vendor: LiveVendor) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(vendor).json()['access_token']}"}


def walk(vendor: LiveVendor, headers: dict[str, str]) -> list[dict[str, Any]]:
    url: str | None = vendor.course_list_url
    courses: list[dict[str, Any]] = []
    while url:
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 200
        courses.extend(response.json())
        url = response.links.get("next", {}).get("url")
    return courses


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_admin_needs_the_admin_token(live_vendor: LiveVendor) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, bearer(live_vendor)):
        response = requests.get(f"{live_vendor.admin_url}/", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"


def test_info_lists_tenants_and_clock(live_vendor: LiveVendor) -> None:
    info = live_vendor.admin.info()
    assert info["auth_mode"] == "oauth2"
    assert info["tenants"][0]["client_id"] == live_vendor.client_id
    assert info["tenants"][0]["courses"] == 12
    assert live_vendor.client_secret not in str(info)


def test_add_update_deactivate_course(live_vendor: LiveVendor) -> None:
    headers = bearer(live_vendor)
    added = live_vendor.admin.add_course(
        "NEW-1", "Brand new course", Languages=["fr-FR"], Duration="00:45:00"
    )
    assert added["IsActive"] is True
    ids = [c["ID"] for c in walk(live_vendor, headers)]
    assert ids[-1] == "NEW-1"
    package = requests.get(added["DownloadPackageUrl"], headers=headers, timeout=10).content
    report = validate(package)
    assert report.valid
    assert report.courses[0].course_title == "Brand new course"

    updated = live_vendor.admin.update_course("NEW-1", Title="Renamed")
    assert updated["Title"] == "Renamed"
    assert instant(updated["LastModifiedUTC"]) > instant(added["LastModifiedUTC"])
    gone = live_vendor.admin.deactivate_course("NEW-1")
    assert gone["IsActive"] is False
    assert "NEW-1" not in [c["ID"] for c in walk(live_vendor, headers)]
    assert live_vendor.admin.activate_course("NEW-1")["IsActive"] is True


def test_add_course_with_own_package(live_vendor: LiveVendor) -> None:
    import random

    course = build_course_model("OWN-1", "Own package", "", "1", 1, random.Random(3))
    data = aicc.write_zip(course, extra_files={"lesson1/index.html": b"<p>hi</p>"})
    live_vendor.admin.add_course("OWN-1", "Own package", package=data)
    served = requests.get(
        live_vendor.package_url("OWN-1"), headers=bearer(live_vendor), timeout=10
    ).content
    assert served == data


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"ID": "bad id", "Title": "x"}, "invalid_course"),
        ({"ID": "OK-1", "Title": "   "}, "invalid_course"),
        ({"ID": "OK-1", "Title": "x", "Languages": ["english"]}, "invalid_course"),
        ({"ID": "OK-1", "Title": "x", "Colour": "red"}, "invalid_body"),
        ({"ID": "OK-1", "Title": "x", "package_base64": "%%%"}, "invalid_body"),
        ({"ID": "CRS-00001", "Title": "dup"}, "conflict"),
    ],
)
def test_bad_course_bodies_are_rejected(
    live_vendor: LiveVendor, body: dict[str, Any], error: str
) -> None:
    with pytest.raises(AdminError) as caught:
        live_vendor.admin.request("POST", "courses", json=body)
    assert caught.value.body["error"] == error
    assert caught.value.status in (400, 409)


def test_non_object_body_and_unknown_course(live_vendor: LiveVendor) -> None:
    with pytest.raises(AdminError) as caught:
        live_vendor.admin.request("POST", "courses", json=[1, 2])
    assert caught.value.status == 400
    with pytest.raises(AdminError) as missing:
        live_vendor.admin.update_course("NOPE", Title="x")
    assert missing.value.status == 404


def test_replace_package_with_bytes(live_vendor: LiveVendor) -> None:
    before = live_vendor.admin.course("CRS-00003")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a course")
    after = live_vendor.admin.replace_package("CRS-00003", buffer.getvalue())
    assert after["PackageLastModifiedUTC"] != before["PackageLastModifiedUTC"]
    served = requests.get(
        live_vendor.package_url("CRS-00003"), headers=bearer(live_vendor), timeout=10
    )
    assert served.content == buffer.getvalue()


def test_clock_advance_expires_tokens(live_vendor: LiveVendor) -> None:
    headers = bearer(live_vendor)
    before = live_vendor.admin.clock()
    now = live_vendor.admin.advance_clock(3600)
    assert (instant(now) - instant(before)).total_seconds() >= 3600
    response = requests.get(live_vendor.course_list_url, headers=headers, timeout=10)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    with pytest.raises(AdminError):
        live_vendor.admin.advance_clock(-5)


def test_expire_tokens(live_vendor: LiveVendor) -> None:
    headers = bearer(live_vendor)
    assert live_vendor.admin.expire_tokens() >= 1
    assert requests.get(live_vendor.course_list_url, headers=headers, timeout=10).status_code == 401


def test_rotate_secret_and_reset(live_vendor: LiveVendor) -> None:
    new = live_vendor.admin.rotate_secret(live_vendor.client_id)
    assert new != live_vendor.client_secret
    assert token(live_vendor).status_code == 401
    assert token(live_vendor, secret=new).status_code == 200
    chosen = live_vendor.admin.rotate_secret(live_vendor.client_id, "chosen-secret")
    assert chosen == "chosen-secret"
    live_vendor.admin.add_course("TEMP-1", "Temporary")
    live_vendor.admin.set_fault("latency:1")
    live_vendor.admin.reset()
    assert token(live_vendor).status_code == 200
    assert "TEMP-1" not in [c["ID"] for c in live_vendor.admin.courses()]
    assert live_vendor.admin.faults() == []
    assert live_vendor.admin.journal()[-1]["path"] == "/oauth/token"
    with pytest.raises(AdminError):
        live_vendor.admin.rotate_secret("nobody")


def test_journal_records_requests_without_secrets(live_vendor: LiveVendor) -> None:
    live_vendor.admin.clear_journal()
    headers = bearer(live_vendor)
    requests.get(
        live_vendor.course_list_url,
        headers={**headers, "If-Modified-Since": "Wed, 25 Nov 2026 10:00:00 GMT"},
        timeout=10,
    )
    requests.get(
        live_vendor.package_url("CRS-00003"), headers={**headers, "Range": "bytes=0-3"}, timeout=10
    )
    requests.get(live_vendor.course_list_url, timeout=10)
    journal = live_vendor.admin.journal()
    assert [(e["method"], e["operation"], e["status"], e["auth"]) for e in journal] == [
        ("POST", "token", 200, "basic"),
        ("GET", "list", 200, "bearer"),
        ("GET", "package", 206, "bearer"),
        ("GET", "list", 401, "none"),
    ]
    assert journal[1]["if_modified_since"] == "Wed, 25 Nov 2026 10:00:00 GMT"
    assert journal[2]["range"] == "bytes=0-3"
    assert all(e["duration_ms"] >= 0 for e in journal)
    text = str(journal)
    assert live_vendor.client_secret not in text
    assert headers["Authorization"].split()[1] not in text
    assert live_vendor.admin.journal(limit=1) == journal[-1:]


def test_tenant_parameter_selects_a_catalog(live_vendor_factory: Any) -> None:
    vendor = live_vendor_factory(
        TENANTS=[
            {"client_id": "one", "client_secret": "s1", "courses": 2},
            {"client_id": "two", "client_secret": "s2", "courses": 5},
        ]
    )
    assert len(vendor.admin.courses()) == 2
    assert len(vendor.admin.courses(tenant="two")) == 5
    vendor.admin.add_course("ONLY-TWO", "Only two", tenant="two")
    assert vendor.credentials("two") == ("two", "s2")
    with pytest.raises(AdminError) as caught:
        vendor.admin.courses(tenant="three")
    assert caught.value.status == 404


def test_serve_reports_server_side_problems_at_exit(tmp_path: Any) -> None:
    from mock_vendor import MockVendorError
    from mock_vendor import get_state

    config = {"COURSES": 2, "CACHE_DIR": str(tmp_path), "VALIDATE_RESPONSES": True}
    with (  # noqa: PT012 - the error is raised when the with block ends
        pytest.raises(MockVendorError, match="does not match schema"),
        serve(config) as vendor,
    ):
        get_state(vendor.app).default_tenant.records[0].meta["Title"] = ""
        response = requests.get(vendor.course_list_url, headers=bearer(vendor), timeout=10)
        assert response.status_code == 500
