"""Packages from a second origin with signed, expiring URLs (PKG-019, PKG-020).

The list and same-origin packages keep requiring the token (AUTH-016, PKG-004); packages
on the second origin download without credentials, and a forged, altered or expired URL
is refused with 403.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import pytest
import requests

import mock_vendor
from mock_vendor.testing import LiveVendor
from mock_vendor.testing import serve

pytestmark = pytest.mark.live

START = "2026-11-26T10:00:00Z"


def _config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "COURSES": 8,
        "SEED": 4,
        "PAGE_SIZE": 5,
        "MAX_ASSET_BYTES": 5_000,
        "CACHE_DIR": str(tmp_path / "cache"),
        "CLOCK_START": START,
        "CLOCK_FROZEN": True,
        "VALIDATE_RESPONSES": True,
        **extra,
    }


def _bearer(vendor: LiveVendor) -> dict[str, str]:
    response = requests.post(
        vendor.auth_url,
        data={"grant_type": "client_credentials"},
        auth=(vendor.client_id, vendor.client_secret),
        timeout=10,
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _walk(vendor: LiveVendor, headers: dict[str, str]) -> list[dict[str, Any]]:
    courses: list[dict[str, Any]] = []
    url: str | None = vendor.course_list_url
    while url:
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 200
        courses.extend(response.json())
        url = response.links.get("next", {}).get("url")
    return courses


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _split(courses: list[dict[str, Any]], vendor: LiveVendor) -> tuple[list[str], list[str]]:
    urls = [c["DownloadPackageUrl"] for c in courses if c["IsActive"]]
    home = _origin(vendor.base_url)
    return [u for u in urls if _origin(u) == home], [u for u in urls if _origin(u) != home]


def test_some_mode_mixes_both_origins_and_each_keeps_its_rule(tmp_path: Path) -> None:
    with serve(_config(tmp_path, PACKAGE_ORIGIN="some")) as vendor:
        assert vendor.package_origin_url is not None
        headers = _bearer(vendor)
        same, other = _split(_walk(vendor, headers), vendor)
        assert same
        assert other
        assert all(u.startswith(vendor.package_origin_url + "/signed/") for u in other)
        # Other origin: no credentials needed, and the bytes are the course's package.
        for url in other:
            response = requests.get(url, timeout=10)
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "application/zip"
            course_id = urlsplit(url).path.split("/")[3]
            direct = requests.get(vendor.package_url(course_id), headers=headers, timeout=10)
            assert direct.content == response.content
        # Same origin and the list: still 401 without the token.
        assert requests.get(same[0], timeout=10).status_code == 401
        assert requests.get(vendor.course_list_url, timeout=10).status_code == 401
        journal = vendor.admin.journal()
        signed = [e for e in journal if e["path"].startswith("/signed/")]
        assert signed
        assert all(e["operation"] == "package" for e in signed)
        assert all(e["auth"] == "none" and e["status"] == 200 for e in signed)


def test_forged_altered_and_expired_urls_get_403(tmp_path: Path) -> None:
    with serve(_config(tmp_path, PACKAGE_ORIGIN="all", PACKAGE_URL_TTL=120)) as vendor:
        courses = _walk(vendor, _bearer(vendor))
        url = next(c["DownloadPackageUrl"] for c in courses if c["IsActive"])
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        expires, signature = query["expires"][0], query["signature"][0]

        def variant(path: str | None = None, query_text: str | None = None) -> str:
            return urlunsplit(
                (
                    parts.scheme,
                    parts.netloc,
                    path or parts.path,
                    parts.query if query_text is None else query_text,
                    "",
                )
            )

        other_course = parts.path.replace(parts.path.split("/")[3], "CRS-00002")
        refused = {
            "forged": variant(query_text=f"expires={expires}&signature={'A' * len(signature)}"),
            "later expiry": variant(
                query_text=f"expires={int(expires) + 3600}&signature={signature}"
            ),
            "other course": variant(path=other_course),
            "unsigned": variant(query_text=""),
            "no expiry": variant(query_text=f"signature={signature}"),
        }
        for what, bad in refused.items():
            response = requests.get(bad, timeout=10)
            assert response.status_code == 403, what
            assert response.json()["error"] == "forbidden", what
        assert requests.get(url, timeout=10).status_code == 200
        assert requests.head(url, timeout=10).status_code == 200
        ranged = requests.get(url, headers={"Range": "bytes=0-9"}, timeout=10)
        assert ranged.status_code == 206
        assert len(ranged.content) == 10
        # Expiry is on the mock clock: move it past the URL's lifetime.
        vendor.admin.advance_clock(int(expires) - mock_vendor_clock_seconds(vendor) + 1)
        expired = requests.get(url, timeout=10)
        assert expired.status_code == 403
        assert expired.json()["error"] == "expired"
        # Listing again gives fresh URLs that work.
        fresh = _walk(vendor, _bearer(vendor))
        fresh_url = next(c["DownloadPackageUrl"] for c in fresh if c["IsActive"])
        assert fresh_url != url
        assert requests.get(fresh_url, timeout=10).status_code == 200


def mock_vendor_clock_seconds(vendor: LiveVendor) -> int:
    return int(mock_vendor.get_state(vendor.app).clock.now().timestamp())


def test_urls_are_valid_for_at_least_the_ttl(tmp_path: Path) -> None:
    with serve(_config(tmp_path, PACKAGE_ORIGIN="all", PACKAGE_URL_TTL=300)) as vendor:
        url = next(c["DownloadPackageUrl"] for c in _walk(vendor, _bearer(vendor)))
        vendor.admin.advance_clock(299)
        assert requests.get(url, timeout=10).status_code == 200


def test_admin_switch_turns_the_second_origin_on_and_off(tmp_path: Path) -> None:
    with serve(_config(tmp_path), package_origin=True) as vendor:
        headers = _bearer(vendor)
        same, other = _split(_walk(vendor, headers), vendor)
        assert other == []
        assert vendor.admin.set_package_origin("all")["mode"] == "all"
        same, other = _split(_walk(vendor, headers), vendor)
        assert same == []
        assert other
        assert vendor.admin.info()["package_origin"]["mode"] == "all"
        vendor.admin.set_package_origin(None)
        same, other = _split(_walk(vendor, headers), vendor)
        assert other == []
        assert same


def test_admin_switch_without_a_listener_is_409(tmp_path: Path) -> None:
    app = mock_vendor.create_app({**_config(tmp_path), "TESTING": True, "ADMIN_TOKEN": "a"})
    client = app.test_client()
    answer = client.post(
        "/_admin/package-origin", json={"mode": "all"}, headers={"Authorization": "Bearer a"}
    )
    assert answer.status_code == 409
    bad = client.post(
        "/_admin/package-origin", json={"mode": "cdn"}, headers={"Authorization": "Bearer a"}
    )
    assert bad.status_code == 400


def test_bad_package_origin_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(mock_vendor.ConfigError, match="PACKAGE_ORIGIN"):
        mock_vendor.create_app({**_config(tmp_path), "PACKAGE_ORIGIN": "cdn"})
    with pytest.raises(mock_vendor.ConfigError, match="PACKAGE_URL_TTL"):
        mock_vendor.create_app({**_config(tmp_path), "PACKAGE_URL_TTL": 30})


@pytest.mark.parametrize("auth_mode", ["oauth2", "basic"])
def test_conformance_suite_passes_the_signed_origin(tmp_path: Path, auth_mode: str) -> None:
    from conformance import check_vendor

    config = _config(tmp_path, PACKAGE_ORIGIN="some", COURSES=12, AUTH_MODE=auth_mode)
    with serve(config) as vendor:
        result = check_vendor(
            course_list_url=vendor.course_list_url,
            auth_url=vendor.auth_url if auth_mode == "oauth2" else None,
            auth_mode=auth_mode,
            client_id=vendor.client_id,
            client_secret=vendor.client_secret,
            strict=True,
        )
    statuses = {r.id: r.status for r in result.requirements}
    assert result.exit_code == 0, result.table()
    credentials = ("AUTH-016", "AUTH-017") if auth_mode == "oauth2" else ("AUTH-018", "AUTH-019")
    for requirement in ("PKG-019", "PKG-020", "PKG-004", "LIST-016", "PKG-001", *credentials):
        assert statuses[requirement] == "passed", (requirement, result.table())


def test_conformance_suite_fails_a_second_origin_that_wants_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CDN that refuses requests without the LMS's token breaks PKG-019; one that serves
    altered URLs breaks PKG-020."""
    from conformance import check_vendor
    from mock_vendor import origin
    from mock_vendor.errors import APIError

    def wants_token(*args: Any) -> None:
        raise APIError(401, "unauthorized", "This CDN wants the LMS's token.")

    def accepts_anything(*args: Any) -> None:
        return None

    results = {}
    for name, check in (("wants_token", wants_token), ("accepts_anything", accepts_anything)):
        monkeypatch.setattr(origin, "_check_signature", check)
        with serve(_config(tmp_path, PACKAGE_ORIGIN="all", COURSES=6)) as vendor:
            results[name] = check_vendor(
                course_list_url=vendor.course_list_url,
                auth_url=vendor.auth_url,
                client_id=vendor.client_id,
                client_secret=vendor.client_secret,
                strict=True,
            )
    assert results["wants_token"].status_of("PKG-019") == "failed"
    assert results["accepts_anything"].status_of("PKG-020") == "failed"


def test_cli_serves_the_second_origin(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cckit", "vendor", "serve", "--port", "0", "--courses", "4",
         "--cache-dir", str(tmp_path / "cache"), "--package-origin", "all",
         "--package-origin-host", "127.0.0.2"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["package_origin_url"].startswith("http://127.0.0.2:")
        token = requests.post(
            info["auth_url"],
            data={"grant_type": "client_credentials"},
            auth=(info["client_id"], info["client_secret"]),
            timeout=10,
        ).json()["access_token"]
        courses = requests.get(
            info["course_list_url"], headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        url = next(c["DownloadPackageUrl"] for c in courses if c["IsActive"])
        assert url.startswith(info["package_origin_url"])
        response = requests.get(url, timeout=10)
        assert response.status_code == 200
        assert response.content[:2] == b"PK"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
