"""Daily operation: runs converge with a broken course, honest run records, content identity."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from cckit.cli import main as cckit_main
from connector import catalog
from connector import db
from connector import integrations
from connector.config import Settings
from connector.errors import IntegrationExists
from connector.errors import InvalidField
from connector.sync import SyncOptions
from connector.sync import SyncResult
from connector.sync import batch as sync_batch
from connector.sync import retry_delay
from connector.sync import sync

pytestmark = pytest.mark.live

FAST = SyncOptions(backoff_factor=0.0, max_retry_after=2.0, timeout=20.0)


def register(engine: Engine, settings: Settings, vendor: Any, name: str = "acme") -> Any:
    return integrations.add(
        engine,
        settings,
        name=name,
        provider="Acme Learning",
        provider_url=vendor.course_list_url,
        auth_url=vendor.auth_url,
        client_id=vendor.client_id,
        client_secret=vendor.client_secret,
        sync_time="02:00",
    )


def run(engine: Engine, settings: Settings, name: str = "acme") -> SyncResult:
    return sync(engine, settings, integrations.get(engine, settings, name), options=FAST)


def active_ids(vendor: Any) -> list[str]:
    return sorted(c["ID"] for c in vendor.admin.courses() if c["IsActive"])


def list_requests(vendor: Any) -> list[dict[str, Any]]:
    return [e for e in vendor.admin.journal() if e["operation"] == "list"]


def package_requests(vendor: Any, course: str) -> int:
    return sum(
        1
        for e in vendor.admin.journal()
        if e["operation"] == "package" and course in str(e.get("path", ""))
    )


def test_retry_delay_doubles_from_the_second_failure_and_is_capped() -> None:
    assert retry_delay(1) == dt.timedelta(0)  # the next run retries at once
    assert retry_delay(2) == dt.timedelta(minutes=15)
    assert retry_delay(3) == dt.timedelta(minutes=30)
    assert retry_delay(50) == dt.timedelta(hours=24)


def test_three_daily_syncs_with_a_broken_course_make_one_full_and_two_incremental(
    live_vendor: Any, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Daily runs are a day apart, longer than the longest backoff (24 h); these runs are
    # seconds apart, so the backoff is taken out of this test (its own test is above).
    monkeypatch.setattr(sync_batch, "_RETRY_BASE", dt.timedelta(0))
    register(engine, settings, live_vendor)
    broken, changed, other = active_ids(live_vendor)[:3]
    live_vendor.admin.set_fault(f"corrupt_zip@course:{broken}")
    live_vendor.admin.clear_journal()

    results = [run(engine, settings)]
    live_vendor.admin.update_course(changed, Title="Renamed on day 2")
    results.append(run(engine, settings))
    live_vendor.admin.update_course(other, Title="Renamed on day 3")
    results.append(run(engine, settings))

    assert [r.status for r in results] == ["partial"] * 3
    assert [r.full for r in results] == [True, False, False]
    ims = [bool(e["if_modified_since"]) for e in list_requests(live_vendor)]
    full_pages = ims.index(True)
    # The first run's pages are a full list; every later list request is incremental.
    assert full_pages >= 1
    assert ims == [False] * full_pages + [True] * (len(ims) - full_pages)
    assert len(ims) - full_pages >= 2
    # The broken course was retried on every run although the deltas did not list it.
    for result in results:
        failed = [o for o in result.outcomes if o.outcome == "failed"]
        assert [o.vendor_id for o in failed] == [broken]
        assert "PKG-009" in failed[0].rule_ids
    assert package_requests(live_vendor, broken) >= 3
    # Every other change landed.
    assert catalog.get_course(engine, changed)["title"] == "Renamed on day 2"
    assert catalog.get_course(engine, other)["title"] == "Renamed on day 3"
    # The broken course is in the catalog as pending, failing since the first run.
    course = catalog.get_course(engine, broken)
    assert course["state"] == "pending"
    assert course["current_package"] is None
    assert results[0].to_dict()["started_at"] <= course["failing_since"]
    assert course["failing_since"] <= results[1].to_dict()["started_at"]
    assert course["retry_count"] == 3
    assert "unsafe or corrupt zip" in course["failure_reason"]
    assert "PKG-009" in course["failure_rules"]
    milestones = catalog.sync_milestones(engine)[1]
    assert milestones["last_complete"] == results[2].to_dict()["started_at"]
    assert milestones["last_clean"] is None

    # The vendor fixes it: the next (incremental) run publishes it and clears the failure.
    live_vendor.admin.clear_fault()
    fixed = run(engine, settings)
    assert fixed.ok, fixed.to_dict()
    course = catalog.get_course(engine, broken)
    assert course["state"] == "active"
    assert course["failing_since"] is None
    assert catalog.sync_milestones(engine)[1]["last_clean"] == fixed.to_dict()["started_at"]


def test_backoff_holds_back_a_course_that_keeps_failing(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    broken = active_ids(live_vendor)[0]
    live_vendor.admin.set_fault(f"corrupt_zip@course:{broken}")
    run(engine, settings)  # fails once: due again at the next run
    run(engine, settings)  # fails twice: due in 15 minutes
    live_vendor.admin.clear_journal()
    third = run(engine, settings)
    assert third.ok  # nothing was due, nothing failed in this run
    assert package_requests(live_vendor, broken) == 0
    course = catalog.get_course(engine, broken)
    assert course["state"] == "pending"
    assert course["retry_count"] == 2
    assert course["next_retry_at"] is not None


def test_a_failed_update_keeps_the_live_version_and_shows_failing(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    run(engine, settings)
    course_id = active_ids(live_vendor)[1]
    before = catalog.get_course(engine, course_id)["current_package"]["sha256"]
    live_vendor.admin.replace_package(course_id)
    live_vendor.admin.set_fault(f"aicc_defect@course:{course_id}")
    assert run(engine, settings).status == "partial"
    course = catalog.get_course(engine, course_id)
    assert course["state"] == "failing"
    assert course["current_package"]["sha256"] == before
    assert "AICC-001" in course["failure_rules"]
    listed = CliRunner().invoke(
        cckit_main,
        ["catalog", "show", course_id, "--home", str(settings.home)],
        env={"CCKIT_DATABASE_URL": settings.database_url},
    )
    assert "State:" in listed.output
    assert "failing: failing since" in listed.output
    assert "AICC-001" in listed.output


# -- interrupted and abandoned runs ------------------------------------------------------


def _cli_sync(settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cckit", "sync", "acme", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={
            **os.environ,
            "PYTHONPATH": os.getcwd(),
            "CCKIT_HOME": str(settings.home),
            "CCKIT_DATABASE_URL": settings.database_url,
        },
    )


def _versions(engine: Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(db.package_versions)
        return int(conn.execute(query).scalar_one())


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_sync_records_an_interrupted_run_with_true_counts(
    live_vendor_factory: Any, engine: Engine, settings: Settings, signum: int, status: int
) -> None:
    vendor = live_vendor_factory(COURSES=30, FAULTS=["slow_download:200000"])
    register(engine, settings, vendor)
    process = _cli_sync(settings)
    deadline = time.monotonic() + 60
    while _versions(engine) < 2:
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        assert time.monotonic() < deadline, "no package was published in time"
        time.sleep(0.02)
    process.send_signal(signum)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    message = err.decode()
    assert "Traceback" not in message
    assert "Aborted!" not in message
    assert f"interrupted by {signal.Signals(signum).name}" in message
    (record,) = catalog.list_runs(engine)
    assert record["status"] == "interrupted"
    assert record["finished_at"] is not None
    published = _versions(engine)
    assert record["downloads"] == published  # true counts: every kept download is counted
    detail = catalog.get_run(engine, record["run_id"])
    assert len([o for o in detail["outcomes"] if o["outcome"] == "new"]) == published
    assert record["counts"]["new"] == published
    assert f"run {record['run_id']} interrupted" in message
    # The next run converges.
    vendor.admin.clear_fault()
    assert run(engine, settings).ok


def test_a_dead_process_leaves_a_run_the_next_start_marks_abandoned_at_its_heartbeat(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    item = register(engine, settings, live_vendor)
    beat = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(db.sync_runs).values(
                integration_id=item.id,
                started_at=beat - dt.timedelta(minutes=10),
                heartbeat_at=beat,
                status="running",
                counts={"new": 3},
                downloads=3,
            )
        )
    later = run(engine, settings)
    dead = catalog.get_run(engine, 1)
    assert dead["status"] == "abandoned"
    assert dead["finished_at"] == "2026-12-01T03:00:00Z"  # its last heartbeat
    assert dead["counts"] == {"new": 3}
    assert "last heartbeat 2026-12-01T03:00:00Z" in dead["error"]
    assert later.ok


# -- content identity ---------------------------------------------------------------------


def test_names_are_unique_case_insensitively(engine: Engine, settings: Settings) -> None:
    fields = {
        "provider": "P",
        "provider_url": "https://vendor.example/api/courses",
        "auth_url": "https://vendor.example/oauth/token",
        "client_id": "id",
        "client_secret": "secret",
        "sync_time": "02:00",
    }
    integrations.add(engine, settings, name="mock", **fields)
    with pytest.raises(IntegrationExists, match="'mock' already exists"):
        integrations.add(engine, settings, name="MOCK", **fields)
    other = integrations.add(engine, settings, name="other", **fields)
    with pytest.raises(IntegrationExists):
        integrations.update(engine, settings, "other", new_name="Mock")
    assert integrations.get(engine, settings, "MOCK").name == "mock"
    assert other.uid
    assert other.uid != integrations.get(engine, settings, "mock").uid


def test_a_renamed_integration_and_a_new_one_with_its_old_name_never_share_content(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    first = register(engine, settings, live_vendor, name="mock")
    run(engine, settings, "mock")
    integrations.update(engine, settings, "mock", new_name="mock2")
    second = register(engine, settings, live_vendor, name="mock")
    run(engine, settings, "mock")
    root_one = integrations.content_root(settings, first)
    root_two = integrations.content_root(settings, second)
    assert root_one != root_two
    assert any(root_one.iterdir())
    assert any(root_two.iterdir())
    # Purging one deletes its content and rows only; the other's courses stay live.
    removed = integrations.remove(engine, settings, "mock", purge=True)
    assert root_two.resolve() in removed
    assert not root_two.exists()
    assert root_one.is_dir()
    for course in catalog.list_courses(engine, integration="mock2"):
        version = catalog.get_course(engine, course["id"], integration="mock2")
        assert Path(version["current_package"]["stored_path"]).is_dir()


def test_remove_purge_from_the_cli_asks_first_and_says_what_it_deleted(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    item = register(engine, settings, live_vendor)
    run(engine, settings)
    env = {"CCKIT_HOME": str(settings.home), "CCKIT_DATABASE_URL": settings.database_url}
    refused = CliRunner().invoke(
        cckit_main, ["integrations", "remove", "ACME", "--purge"], input="n\n", env=env
    )
    assert refused.exit_code == 1
    assert integrations.content_root(settings, item).is_dir()
    done = CliRunner().invoke(
        cckit_main, ["integrations", "remove", "ACME", "--purge", "--yes"], env=env
    )
    assert done.exit_code == 0, done.output
    assert "Removed integration acme and 1 content folder(s)." in done.output
    assert not integrations.content_root(settings, item).exists()
    assert catalog.list_courses(engine) == []


def test_allowed_package_hosts_are_validated_and_stored(engine: Engine, settings: Settings) -> None:
    fields = {
        "name": "cdn",
        "provider": "P",
        "provider_url": "https://vendor.example/api/courses",
        "auth_url": "https://vendor.example/oauth/token",
        "client_id": "id",
        "client_secret": "secret",
        "sync_time": "02:00",
    }
    item = integrations.add(
        engine, settings, allowed_package_hosts=["CDN.Example.com", "*.akamai.example"], **fields
    )
    assert item.allowed_package_hosts == ("cdn.example.com", "*.akamai.example")
    for bad in ("https://cdn.example.com", "cdn.example.com:443", "10.0.0.1", "a/b"):
        with pytest.raises(InvalidField, match="allowed_package_hosts"):
            integrations.update(engine, settings, "cdn", allowed_package_hosts=[bad])
    cleared = integrations.update(engine, settings, "cdn", allowed_package_hosts=[])
    assert cleared.allowed_package_hosts == ()


# -- vendor text on a terminal -------------------------------------------------------------


HOSTILE = "Evil\x1b]8;;http://x\x07link\x1b[2J\r\nForged: line\u202eTXT\x00"


def test_vendor_text_is_escaped_in_catalog_and_run_output(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    course_id = active_ids(live_vendor)[0]
    live_vendor.admin.update_course(course_id, Title=HOSTILE)
    live_vendor.admin.set_fault(f"corrupt_zip@course:{course_id}")
    result = run(engine, settings)
    env = {"CCKIT_HOME": str(settings.home), "CCKIT_DATABASE_URL": settings.database_url}
    outputs = [
        CliRunner().invoke(cckit_main, args, env=env).output
        for args in (
            ["catalog", "list"],
            ["catalog", "show", course_id],
            ["runs", "show", str(result.run_id)],
            ["runs", "list"],
        )
    ]
    for output in outputs:
        for raw in ("\x1b", "\x07", "\r", "\x00", "\u202e"):
            assert raw not in output
    assert "Evil\\x1b]8;;http://x\\x07link\\x1b[2J\\x0d\\x0aForged: line\\u202eTXT" in outputs[1]
    assert not any(line.startswith("Forged") for out in outputs for line in out.splitlines())
    # Stored exactly as received, and JSON output stays exact.
    assert catalog.get_course(engine, course_id)["title"] == HOSTILE


def test_a_package_over_the_size_cap_fails_with_its_requirement_id(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    small = SyncOptions(backoff_factor=0.0, timeout=20.0, max_package_bytes=1_000)
    result = sync(engine, settings, integrations.get(engine, settings, "acme"), options=small)
    failed = [o for o in result.outcomes if o.outcome == "failed"]
    assert failed
    # The rule comes with the error itself, not from searching its message.
    assert all(o.rule_ids == ("PKG-016",) for o in failed), failed
    assert all("size cap" in (o.reason or "") for o in failed)
