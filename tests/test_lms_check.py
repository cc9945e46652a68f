"""The LMS check grades clients: a good one passes, each broken one fails its requirement.

The clients are real programs run through the adapter protocol against in-process mock
vendors on loopback: ``tests/lms_clients/reference_client.py`` (requests-based, with one
switchable defect each) and cckit's own connector through ``lms_check.adapters.cckit``.
"""

from __future__ import annotations

import json
import shlex
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

import schemas
from cckit.cli import main
from lms_check import run_check
from lms_check._stage import wait_for_next_second
from lms_check.scenarios import SCENARIOS

CLIENT = Path(__file__).parent / "lms_clients" / "reference_client.py"
PYTHON = shlex.quote(sys.executable)
REFERENCE = f"{PYTHON} {shlex.quote(str(CLIENT))}"
CATALOG = f"{REFERENCE} catalog"
CLIENT_IDS = [r.id for r in schemas.requirements("client")]
MUSTS = {r.id for r in schemas.requirements("client") if r.level == "MUST"}

#: Each defect of the reference client and the one requirement it must fail.
DEFECTS = {
    "token-per-request": "CAUTH-002",
    "no-retry-after": "CNET-001",
    "first-page-only": "CLIST-001",
    "watermark-on-failure": "CLIST-004",
    "broken-package-published": "CPKG-002",
    "deactivation-ignored": "CCAT-002",
    "mass-deactivation": "CCAT-003",
    "token-cross-origin": "CAUTH-005",
}

#: Known defects of cckit's connector, each with its issue (none since issue 10's credential
#: scoping landed: before it, CAUTH-005 failed). The test asserts the set exactly, so an
#: entry goes when its fix lands and a new failure cannot pass unnoticed.
CONNECTOR_KNOWN: set[str] = set()

pytestmark = pytest.mark.live


def test_scenarios_cover_every_client_requirement_and_the_issue_list() -> None:
    judged = {rid for s in SCENARIOS for rid in s.requirements}
    assert judged == set(CLIENT_IDS)
    names = {s.name for s in SCENARIOS}
    assert {
        "first-sync", "incremental-change", "deactivation", "replaced-package",
        "truncated-package", "invalid-aicc-package", "token-expiry", "token-revoked",
        "invalid-client", "rate-limited", "unavailable-bursts", "many-courses",
        "list-page-failure", "next-link-other-origin", "package-other-origin", "cut-download",
    } <= names  # fmt: skip


@pytest.mark.slow
def test_the_reference_client_passes_every_requirement_strictly(tmp_path: Path) -> None:
    result = run_check(f"{REFERENCE} sync", catalog_cmd=CATALOG, strict=True, jobs=4, timeout=60)
    statuses = {r.id: r.status for r in result.requirements}
    assert statuses == dict.fromkeys(CLIENT_IDS, "passed"), result.failures()
    assert result.exit_code == 0
    assert len(result.scenarios) == len(SCENARIOS)
    assert all(s.error is None for s in result.scenarios)


@pytest.mark.slow
@pytest.mark.parametrize(("defect", "requirement"), DEFECTS.items())
def test_each_broken_client_fails_its_requirement_and_no_other_must(
    defect: str, requirement: str
) -> None:
    result = run_check(f"{REFERENCE} sync {defect}", catalog_cmd=CATALOG, jobs=4, timeout=60)
    failed = {r.id for r in result.requirements if r.status == "failed"}
    assert failed == {requirement}, result.failures()
    assert result.exit_code == 1
    item = next(r for r in result.requirements if r.id == requirement)
    # The failure anatomy: expected, received and the evidence that proves it.
    assert "expected:" in item.details[0]
    assert "received:" in item.details[0]
    assert "evidence:" in item.details[0]
    others = {r.id: r.status for r in result.requirements if r.id != requirement}
    assert set(others.values()) <= {"passed", "warning"}
    assert not {rid for rid, status in others.items() if status != "passed"} & MUSTS


def test_the_cli_writes_every_report_with_one_count(tmp_path: Path) -> None:
    paths = {name: tmp_path / name for name in ("r.json", "r.xml", "r.html")}
    outcome = CliRunner().invoke(
        main,
        [
            "lms-check", "run", "--sync-cmd", f"{REFERENCE} sync", "--catalog-cmd", CATALOG,
            "--scenario", "first-sync", "--scenario", "deactivation",
            "--report-json", str(paths["r.json"]), "--junitxml", str(paths["r.xml"]),
            "--html", str(paths["r.html"]),
        ],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    assert "lms-check [ 1/2]" in outcome.output
    assert "lms-check: PASS" in outcome.output
    report = json.loads(paths["r.json"].read_text())
    assert [r["id"] for r in report["requirements"]] == CLIENT_IDS
    assert sum(report["summary"].values()) == len(CLIENT_IDS)
    suite = ET.parse(paths["r.xml"]).getroot().find("testsuite")  # noqa: S314 - our own file
    assert suite is not None
    assert int(suite.get("tests", "0")) == len(CLIENT_IDS) == len(suite.findall("testcase"))
    assert int(suite.get("skipped", "0")) == (
        report["summary"]["not_checked"] + report["summary"]["skipped"]
    )
    line = next(x for x in outcome.output.splitlines() if "client requirements" in x)
    passed = report["summary"]["passed"]
    assert line.startswith(f"{passed} passed, 0 failed")
    assert "<!DOCTYPE html>" in paths["r.html"].read_text()


def test_without_a_catalog_command_state_is_not_checked_never_passed() -> None:
    result = run_check(f"{REFERENCE} sync", scenarios=["deactivation", "truncated-package"])
    assert result.status_of("CCAT-002") == "not checked"
    assert result.status_of("CPKG-002") == "not checked"
    assert result.status_of("CAUTH-001") == "passed"
    assert "no --catalog-cmd" in result.summary_line()
    assert result.exit_code == 0


def test_a_sync_that_hangs_is_killed_and_fails_cnet_004() -> None:
    result = run_check("sleep 30", scenarios=["basic-auth"], timeout=1)
    assert result.status_of("CNET-004") == "failed"
    assert "--timeout" in " ".join(result.failures().splitlines())


def test_a_bad_catalog_is_a_clear_failure() -> None:
    result = run_check(
        f"{REFERENCE} sync", catalog_cmd='echo \'{"not": "a list"}\'', scenarios=["deactivation"]
    )
    assert result.status_of("CCAT-002") == "failed"
    assert "not an array" in result.failures()


def test_usage_errors_exit_2() -> None:
    runner = CliRunner()
    unknown = runner.invoke(main, ["lms-check", "run", "--sync-cmd", "true", "--scenario", "nope"])
    assert unknown.exit_code == 2
    assert "unknown scenario 'nope'" in unknown.output
    assert runner.invoke(main, ["lms-check", "run"]).exit_code == 2


def test_scenarios_command_lists_steps_and_requirements() -> None:
    outcome = CliRunner().invoke(main, ["lms-check", "scenarios", "--format", "json"])
    assert outcome.exit_code == 0
    listed = json.loads(outcome.output)
    assert [s["name"] for s in listed] == [s.name for s in SCENARIOS]
    assert all(s["steps"] and s["requirements"] for s in listed)
    text = CliRunner().invoke(main, ["lms-check", "scenarios"]).output
    assert "next-link-other-origin" in text
    assert "judges: " in text


def test_tls_serves_https_with_the_ca_in_the_environment(tmp_path: Path) -> None:
    seen = tmp_path / "env.txt"
    sync = (
        f'echo "$CCKIT_LMS_PROVIDER_URL $CCKIT_LMS_CA_FILE $REQUESTS_CA_BUNDLE" >> {seen} && '
        f"{REFERENCE} sync"
    )
    result = run_check(sync, catalog_cmd=CATALOG, scenarios=["first-sync"], tls=True)
    url, ca_file, bundle = seen.read_text().split()
    assert url.startswith("https://127.0.0.1:")
    assert ca_file == bundle
    assert ca_file.endswith(".pem")
    assert result.exit_code == 0, result.failures()


@pytest.mark.slow
def test_cckit_connector_through_its_adapter() -> None:
    adapter = f"{PYTHON} -m lms_check.adapters.cckit"
    result = run_check(f"{adapter} sync", catalog_cmd=f"{adapter} catalog", jobs=4, timeout=90)
    failed = {r.id for r in result.requirements if r.status == "failed"}
    assert failed == CONNECTOR_KNOWN, result.failures()
    assert all(s.error is None for s in result.scenarios)


def test_vendor_serve_tls_prints_the_ca_file_and_serves_https(tmp_path: Path) -> None:
    import subprocess

    import requests

    process = subprocess.Popen(
        [sys.executable, "-m", "cckit", "vendor", "serve", "--tls", "--port", "0",
         "--courses", "3", "--cache-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = json.loads(process.stdout.readline())
        assert line["base_url"].startswith("https://127.0.0.1:")
        ca_file = line["ca_file"]
        assert Path(ca_file).read_text().startswith("-----BEGIN CERTIFICATE-----")
        answer = requests.get(line["course_list_url"], verify=ca_file, timeout=10)
        assert answer.status_code == 401  # https works; credentials still required
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(line["course_list_url"], timeout=10)  # not trusted without the CA
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.mark.parametrize(
    ("first_request", "now", "wait"),
    [(10.95, 10.96, 0.04), (10.0, 10.0, 1.0), (10.3, 11.0, 0.0), (10.3, 12.5, 0.0)],
)
def test_a_sync_starts_in_a_later_second_than_the_previous_first_request(
    first_request: float, now: float, wait: float
) -> None:
    """A watermark kept from the wrong sync must be a later HTTP date (CLIST-003/004)."""
    assert wait_for_next_second(first_request, now) == pytest.approx(wait)
    started = now + wait_for_next_second(first_request, now)
    assert int(started) > first_request  # the HTTP date of the next sync's start
