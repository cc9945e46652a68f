"""``cckit conformance run``: exit codes, reports, redaction, clear errors."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cckit.cli import main
from mock_vendor.testing import LiveVendor
from mock_vendor.testing import serve

pytestmark = [pytest.mark.live, pytest.mark.slow]


def _config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "COURSES": 10,
        "PAGE_SIZE": 4,
        "SEED": 5,
        "MAX_ASSET_BYTES": 4096,
        "CACHE_DIR": str(tmp_path / "mock-cache"),
    }
    config.update(overrides)
    return config


def _args(vendor: LiveVendor, *extra: str) -> list[str]:
    return [
        "conformance",
        "run",
        "--course-list-url",
        vendor.course_list_url,
        "--auth-url",
        vendor.auth_url,
        "--client-id",
        vendor.client_id,
        "--max-packages",
        "3",
        *extra,
    ]


def _invoke(args: list[str], secret: str | None) -> Any:
    env = {"CCKIT_CLIENT_SECRET": secret} if secret else {}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_clean_run_writes_every_report(tmp_path: Path) -> None:
    report, junit, page = tmp_path / "r.json", tmp_path / "junit.xml", tmp_path / "r.html"
    with serve(_config(tmp_path)) as vendor:
        result = _invoke(
            _args(
                vendor, "--report-json", str(report), "--junitxml", str(junit), "--html", str(page)
            ),
            vendor.client_secret,
        )
        secret = vendor.client_secret
    assert result.exit_code == 0, result.output
    assert "conformance: PASS" in result.output
    assert "cckit conformance: requirements" in result.output
    assert secret not in result.output

    data = json.loads(report.read_text(encoding="utf-8"))
    assert set(data) == {"kit_version", "target", "seed", "summary", "requirements"}
    assert set(data["summary"]) == {"passed", "failed", "warnings", "skipped", "expected"}
    assert data["seed"] == 0
    assert data["summary"]["failed"] == 0
    for entry in data["requirements"]:
        assert set(entry) == {"id", "level", "status", "message"}
        assert entry["status"] in {"passed", "failed", "warning", "skipped", "expected"}

    root = ET.parse(junit).getroot()  # noqa: S314 - our own file
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("name") == "cckit-conformance"
    assert int(suite.get("tests", "0")) > 50
    assert suite.get("failures") == "0"
    # One count per requirement everywhere: JUnit, JSON and the table's summary line; the
    # CLI does not show pytest's own per-check count.
    assert (
        int(suite.get("tests", "0")) == len(data["requirements"]) == sum(data["summary"].values())
    )
    s = data["summary"]
    assert f"{s['passed']} passed, 0 failed" in result.output
    assert f"({len(data['requirements'])} requirements;" in result.output
    assert " passed in " not in result.output

    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "PASS" in html
    assert "<script" not in html
    assert "<link" not in html
    assert "src=" not in html


def test_failing_run_explains_the_failure_without_the_secret(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    faults = ["missing_no_store", "no_range"]
    with serve(_config(tmp_path, FAULTS=faults), check_problems=False) as vendor:
        result = _invoke(_args(vendor, "--junitxml", str(junit)), vendor.client_secret)
        secret = vendor.client_secret
    assert result.exit_code == 1, result.output
    assert "conformance: FAIL (1 requirement(s) failed: AUTH-007)" in result.output
    assert "AUTH-007 (MUST) Token response carries Cache-Control: no-store" in result.output
    assert "expected: Cache-Control: no-store" in result.output
    assert "reproduce: curl" in result.output
    assert '-u "$CCKIT_CLIENT_ID:$CCKIT_CLIENT_SECRET"' in result.output
    assert secret not in result.output
    junit_text = junit.read_text(encoding="utf-8")
    assert "AUTH-007" in junit_text
    # The SHOULD warning passes but is visible in the JUnit report.
    assert "WARNING\nPKG-008 (SHOULD)" in junit_text
    assert secret not in junit_text


def test_connection_refused_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1/courses"
    result = CliRunner().invoke(
        main,
        [
            "conformance",
            "run",
            "--course-list-url",
            url,
            "--auth-url",
            url,
            "--client-id",
            "x",
            "--client-secret",
            "y",
        ],
    )
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"Error: course list URL {url}: cannot connect (connection refused)"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--client-secret (or the CCKIT_CLIENT_SECRET variable) is required"),
        # The CLI's own option names, not the pytest plugin's (--cc-auth-url).
        (
            ["--client-secret", "s", "--auth-mode", "oauth2"],
            "--auth-url is required with --auth-mode oauth2",
        ),
    ],
)
def test_usage_errors_exit_2(extra: list[str], message: str) -> None:
    result = CliRunner().invoke(
        main,
        [
            "conformance",
            "run",
            "--course-list-url",
            "http://127.0.0.1:9/x",
            "--client-id",
            "c",
            *extra,
        ],
        env={"CCKIT_CLIENT_SECRET": ""},
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "--cc-" not in result.output


def test_bad_expected_failures_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "expected.json"
    bad.write_text(json.dumps([{"requirement": "AUTH-999", "reason": "x"}]), encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "conformance",
            "run",
            "--course-list-url",
            "http://127.0.0.1:9/x",
            "--auth-url",
            "http://127.0.0.1:9/t",
            "--client-id",
            "c",
            "--client-secret",
            "s",
            "--expected-failures",
            str(bad),
        ],
    )
    assert result.exit_code == 2
    assert f"{bad}: unknown requirement ID 'AUTH-999'" in result.output


def test_progress_lines_on_long_fetches(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance._catalog import Progress
    from conformance._runner import pytest_arguments
    from conformance._settings import build

    quiet = Progress(False, every=0.0)
    quiet("course list: 1 page(s)")
    loud = Progress(True, every=0.0)
    loud("course list: 40 page(s), 2000 course(s)")
    throttled = Progress(True, every=3600.0)
    throttled("never shown: less than an hour since the start")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("cckit conformance: course list: 40 page(s), 2000 course(s) (")
    settings = build(course_list_url="http://127.0.0.1:9/x", auth_mode="basic", client_id="c",
                     client_secret="s")  # fmt: skip
    cli_args = pytest_arguments(settings, junitxml=None, quiet=False)
    assert {"--cc-progress", "-s", "-qq"} <= set(cli_args)
    assert "--cc-progress" not in pytest_arguments(settings, junitxml=None, quiet=True)
