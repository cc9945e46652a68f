"""``cckit vendor serve``: first JSON line, real traffic, clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from cckit.cli import main

pytestmark = pytest.mark.live


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cckit", "vendor", "serve", "--port", "0",
         "--cache-dir", str(tmp_path / "cache"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    first = process.stdout.readline()
    if not first:
        process.wait(timeout=30)
        pytest.fail(f"no output; stderr: {process.stderr.read() if process.stderr else ''}")
    return process, json.loads(first)


def stop(process: subprocess.Popen[str], signum: int) -> str:
    process.send_signal(signum)
    # Read through the text wrapper: it may already hold lines after the JSON one.
    assert process.stdout is not None
    out = process.stdout.read()
    assert process.wait(timeout=30) == 0
    process.stdout.close()
    if process.stderr is not None:
        process.stderr.close()
    return out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_json_line_serves_and_stops_cleanly(tmp_path: Path, signum: int) -> None:
    process, info = start(tmp_path, "--courses", "7", "--seed", "3", "--page-size", "4")
    try:
        assert set(info) == {
            "base_url", "auth_url", "course_list_url", "client_id", "auth_mode",
            "client_secret", "admin_url", "admin_token",
        }  # fmt: skip
        assert info["base_url"].startswith("http://127.0.0.1:")
        assert info["auth_mode"] == "oauth2"
        token = requests.post(
            info["auth_url"],
            data={"grant_type": "client_credentials"},
            auth=(info["client_id"], info["client_secret"]),
            timeout=10,
        )
        assert token.status_code == 200
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        listing = requests.get(info["course_list_url"], headers=headers, timeout=10)
        assert listing.status_code == 200
        assert len(listing.json()) == 4
        assert 'rel="next"' in listing.headers["Link"]
        package = requests.get(listing.json()[0]["DownloadPackageUrl"], headers=headers, timeout=10)
        assert package.headers["Content-Type"] == "application/zip"
        admin = requests.get(
            f"{info['admin_url']}/",
            headers={"Authorization": f"Bearer {info['admin_token']}"},
            timeout=10,
        )
        assert admin.json()["tenants"][0]["courses"] == 7
    finally:
        out = stop(process, signum)
    assert "stopped" in out


def test_given_secrets_are_not_printed(tmp_path: Path) -> None:
    process, info = start(
        tmp_path, "--client-id", "lms-one", "--client-secret", "given-secret",
        "--admin-token", "given-admin", "--auth-mode", "basic", "--fault", "latency:1",
    )  # fmt: skip
    try:
        assert info["client_id"] == "lms-one"
        assert info["auth_mode"] == "basic"
        assert info["auth_url"] is None
        assert "client_secret" not in info
        assert "admin_token" not in info
        response = requests.get(
            info["course_list_url"], auth=("lms-one", "given-secret"), timeout=10
        )
        assert response.status_code == 200
    finally:
        out = stop(process, signal.SIGTERM)
    assert "given-secret" not in out
    assert "fault on: latency (transport)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "nope"], "unknown fault"),
        (["--fault", "latency:x"], "bad argument"),
        (["--clock-start", "yesterday"], "CLOCK_START"),
        (["--token-ttl", "10"], "10"),
    ],
)
def test_bad_options_give_a_clear_error_not_a_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        main, ["vendor", "serve", "--port", "0", "--cache-dir", str(tmp_path), *args]
    )
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert "Traceback" not in result.output


def test_config_file_sets_tenants(tmp_path: Path) -> None:
    config = tmp_path / "vendor.json"
    config.write_text(
        json.dumps(
            {
                "tenants": [
                    {"client_id": "a", "client_secret": "sa", "courses": 2},
                    {"client_id": "b", "client_secret": "sb", "courses": 3, "seed": 8},
                ]
            }
        )
    )
    process, info = start(tmp_path, "--config", str(config))
    try:
        assert info["client_id"] == "a"
        for client_id, secret, count in (("a", "sa", 2), ("b", "sb", 3)):
            token = requests.post(
                info["auth_url"],
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
                timeout=10,
            ).json()["access_token"]
            courses = requests.get(
                info["course_list_url"],
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()
            assert len(courses) <= count
    finally:
        stop(process, signal.SIGTERM)


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    process, info = start(tmp_path)
    try:
        port = info["base_url"].rsplit(":", 1)[1]
        # In a subprocess: waitress leaks its half-made server when the bind fails.
        result = subprocess.run(
            [sys.executable, "-m", "cckit", "vendor", "serve", "--port", port,
             "--cache-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
        assert result.returncode == 1
        assert "cannot listen" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        stop(process, signal.SIGTERM)


def test_faults_command_lists_every_fault() -> None:
    from mock_vendor.faults import FAULTS

    table = CliRunner().invoke(main, ["vendor", "faults"])
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert len(lines) == len(FAULTS)
    assert any(line.startswith("corrupt_zip") and "PKG-009" in line for line in lines)
    listed = json.loads(CliRunner().invoke(main, ["vendor", "faults", "--json"]).output)
    assert {item["name"]: item["requirement"] for item in listed} == {
        name: spec.requirement for name, spec in FAULTS.items()
    }


def test_catalog_folder_is_served(tmp_path: Path) -> None:
    import random

    import aicc
    from mock_vendor._generate import build_course_model

    folder = tmp_path / "zips"
    folder.mkdir()
    course = build_course_model("FOLDER-7", "From the folder", "", "2", 3, random.Random(7))
    (folder / "one.zip").write_bytes(aicc.write_zip(course))
    process, info = start(tmp_path, "--catalog", str(folder), "--client-secret", "s")
    try:
        token = requests.post(
            info["auth_url"],
            data={
                "grant_type": "client_credentials",
                "client_id": "cckit-demo",
                "client_secret": "s",
            },
            timeout=10,
        ).json()["access_token"]
        courses = requests.get(
            info["course_list_url"], headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        assert [(c["ID"], c["Title"]) for c in courses] == [("FOLDER-7", "From the folder")]
    finally:
        out = stop(process, signal.SIGTERM)
    assert "folder:" in out


def test_bad_catalog_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"nope")
    result = CliRunner().invoke(
        main, ["vendor", "serve", "--port", "0", "--catalog", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "broken.zip: not a zip archive" in result.output


def test_feature_switches_are_options(tmp_path: Path) -> None:
    process, info = start(
        tmp_path, "--courses", "4", "--client-secret", "s", "--admin-token", "a",
        "--list-inactive", "--no-etag", "--no-last-modified", "--no-head", "--no-range",
        "--no-form-client-auth",
    )  # fmt: skip
    try:
        admin = {"Authorization": "Bearer a"}
        summary = requests.get(f"{info['admin_url']}/", headers=admin, timeout=10).json()
        assert summary["features"] == {
            "LIST_INACTIVE": True, "ETAG": False, "LAST_MODIFIED_HEADER": False,
            "HEAD_SUPPORT": False, "RANGE_SUPPORT": False, "FORM_CLIENT_AUTH": False,
        }  # fmt: skip
        form = requests.post(
            info["auth_url"],
            data={"grant_type": "client_credentials", "client_id": "cckit-demo",
                  "client_secret": "s"},
            timeout=10,
        )  # fmt: skip
        assert form.status_code == 401
        token = requests.post(
            info["auth_url"],
            data={"grant_type": "client_credentials"},
            auth=("cckit-demo", "s"),
            timeout=10,
        ).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        requests.post(
            f"{info['admin_url']}/courses/CRS-00001/deactivate", headers=admin, timeout=10
        ).raise_for_status()
        courses = requests.get(info["course_list_url"], headers=bearer, timeout=10).json()
        assert {c["ID"]: c["IsActive"] for c in courses}["CRS-00001"] is False
        url = next(c["DownloadPackageUrl"] for c in courses if c["IsActive"])
        package = requests.get(url, headers={**bearer, "Range": "bytes=0-9"}, timeout=10)
        assert package.status_code == 200
        assert "ETag" not in package.headers
        assert "Last-Modified" not in package.headers
        assert requests.head(url, headers=bearer, timeout=10).status_code == 405
    finally:
        out = stop(process, signal.SIGTERM)
    assert "SHOULD features off: ETAG, LAST_MODIFIED_HEADER" in out
    assert "inactive courses too" in out
