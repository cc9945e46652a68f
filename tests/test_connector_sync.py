"""End-to-end sync runs against the live mock vendor, real SQLite files and content dirs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from cckit.cli import main
from connector import catalog
from connector import db
from connector import integrations
from connector import migrate
from connector.config import Settings
from connector.errors import SyncLockedError
from connector.integrations import Integration
from connector.sync import SyncEvent
from connector.sync import SyncOptions
from connector.sync import SyncResult
from connector.sync import sync

pytestmark = pytest.mark.live

FAST = SyncOptions(backoff_factor=0.0, max_retry_after=2.0, timeout=20.0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'cat.sqlite3'}")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = db.connect(settings)
    yield engine
    engine.dispose()


def register(engine: Engine, settings: Settings, vendor: Any, name: str = "acme") -> Integration:
    return integrations.add(
        engine,
        settings,
        name=name,
        provider="Acme Learning",
        provider_url=vendor.course_list_url,
        auth_url=vendor.auth_url if vendor.auth_mode == "oauth2" else None,
        client_id=vendor.client_id,
        client_secret=vendor.client_secret,
        auth_mode=vendor.auth_mode,
        sync_time="02:00",
    )


def run(engine: Engine, settings: Settings, name: str = "acme", **kwargs: Any) -> SyncResult:
    options = kwargs.pop("options", FAST)
    return sync(
        engine, settings, integrations.get(engine, settings, name), options=options, **kwargs
    )


def vendor_courses(vendor: Any) -> dict[str, dict[str, Any]]:
    return {c["ID"]: c for c in vendor.admin.courses()}


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table.name: [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.id))]
            for table in (db.courses, db.package_versions)
        }


def published(engine: Engine) -> dict[str, dict[str, Any]]:
    """vendor_id -> course row (+ its current version) for every course in the catalog."""
    c, pv = db.courses, db.package_versions
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(c, pv.c.sha256, pv.c.stored_path).outerjoin(
                pv, pv.c.id == c.c.current_package_id
            )
        ).mappings()
        return {r["vendor_id"]: dict(r) for r in rows}


def assert_consistent(engine: Engine, settings: Settings) -> None:
    """No half-published course: every current version is a complete folder of its course."""
    c, pv = db.courses, db.package_versions
    with engine.connect() as conn:
        ids = [r.vendor_id for r in conn.execute(sa.select(c.c.vendor_id))]
        assert len(ids) == len(set(ids)), "duplicated course"
        rows = conn.execute(
            sa.select(
                c.c.id, c.c.vendor_id, c.c.current_package_id, pv.c.course_id, pv.c.stored_path
            )
            .outerjoin(pv, pv.c.id == c.c.current_package_id)
            .where(c.c.current_package_id.is_not(None))
        ).all()
    for row in rows:
        assert row.course_id == row.id, f"{row.vendor_id}: current version of another course"
        folder = Path(row.stored_path)
        assert folder.is_dir(), f"{row.vendor_id}: {folder} missing"
        assert folder.parent.name == row.vendor_id
        names = [p.suffix.lower() for p in folder.rglob("*") if p.is_file()]
        for ext in (".crs", ".au", ".des", ".cst"):
            assert ext in names, f"{row.vendor_id}: {ext} missing in {folder}"


def assert_converged(engine: Engine, vendor: Any) -> None:
    """The catalog holds exactly the vendor's active courses, each with a current package."""
    expected = {i: c for i, c in vendor_courses(vendor).items() if c["IsActive"]}
    rows = published(engine)
    active = {i for i, r in rows.items() if r["is_active"]}
    assert active == set(expected)
    for vendor_id, course in expected.items():
        row = rows[vendor_id]
        assert row["current_package_id"] is not None, vendor_id
        assert row["title"] == course["Title"]
        assert row["vendor_package_last_modified"] == dt.datetime.fromisoformat(
            course["PackageLastModifiedUTC"]
        )


def operations(vendor: Any) -> list[str]:
    return [entry["operation"] for entry in vendor.admin.journal()]


# -- the basic cycle ---------------------------------------------------------------------


def test_first_sync_publishes_every_active_course(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    events: list[SyncEvent] = []
    result = run(engine, settings, progress=events.append)
    assert result.ok, result.to_dict()
    assert result.full
    assert result.if_modified_since is None
    active = [i for i, c in vendor_courses(live_vendor).items() if c["IsActive"]]
    assert result.counts["new"] == len(active) == result.downloads
    assert result.counts["failed"] == 0
    assert result.pages == operations(live_vendor).count("list")
    assert_converged(engine, live_vendor)
    assert_consistent(engine, settings)
    assert {e.kind for e in events} == {"page", "course", "queued", "download", "listed"}
    assert all(e.message() for e in events)
    # Every package is queued before the list ends; "listed" comes once, after the pages.
    kinds = [e.kind for e in events]
    assert kinds.count("listed") == 1
    assert kinds.count("queued") == len(active)
    assert "page" not in kinds[kinds.index("listed") :]
    # The run record and its outcome rows are stored.
    stored = catalog.get_run(engine, result.run_id)
    assert stored["status"] == "succeeded"
    assert sorted(o["id"] for o in stored["outcomes"]) == sorted(active)
    with engine.connect() as conn:
        row = conn.execute(sa.select(db.integrations)).mappings().one()
    assert row["last_success_started_at"] == result.started_at
    assert row["last_full_sync_at"] == result.started_at


def test_second_sync_without_change_downloads_and_writes_nothing(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    first = run(engine, settings)
    before = snapshot(engine)
    live_vendor.admin.clear_journal()
    second = run(engine, settings)
    assert second.ok
    assert not second.full
    assert second.if_modified_since == first.started_at - FAST.ims_margin
    assert second.downloads == 0
    assert second.outcomes == []
    assert "package" not in operations(live_vendor)
    lists = [e for e in live_vendor.admin.journal() if e["operation"] == "list"]
    assert lists
    assert all(e["if_modified_since"] for e in lists)
    assert snapshot(engine) == before


def vendor_session(vendor: Any) -> requests.Session:
    """A session authenticated to the vendor's public API, as an LMS would be."""
    session = requests.Session()
    if vendor.auth_mode == "oauth2":
        token = session.post(
            vendor.auth_url,
            data={"grant_type": "client_credentials"},
            auth=(vendor.client_id, vendor.client_secret),
            timeout=20,
        ).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
    else:
        session.auth = (vendor.client_id, vendor.client_secret)
    return session


def package_bytes(vendor: Any, course_id: str) -> bytes:
    """The package the vendor serves now for ``course_id`` (over its public API)."""
    response = vendor_session(vendor).get(vendor.package_url(course_id), timeout=20)
    response.raise_for_status()
    return response.content


def test_small_switch_batches_publish_each_course_its_own_package(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    # One worker: finished packages are switched in two at a time, so a run is many
    # batches; each course must end up with the package the vendor serves for it.
    register(engine, settings, live_vendor)
    result = run(engine, settings, options=dataclasses.replace(FAST, workers=1))
    assert result.ok, result.to_dict()
    assert result.downloads > 2
    assert_converged(engine, live_vendor)
    assert_consistent(engine, settings)
    for vendor_id, row in published(engine).items():
        if row["is_active"]:
            served = hashlib.sha256(package_bytes(live_vendor, vendor_id)).hexdigest()
            assert row["sha256"] == served, vendor_id


def test_a_slow_download_does_not_hold_back_finished_packages(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    active = sorted(i for i, c in vendor_courses(live_vendor).items() if c["IsActive"])
    slow = active[0]
    size = len(package_bytes(live_vendor, slow))
    # About three seconds for that one package; every other one takes milliseconds.
    live_vendor.admin.set_fault(f"slow_download:{max(1, size // 3)}@course:{slow}")
    published_at: dict[str, float] = {}
    downloaded_at: dict[str, float] = {}

    def progress(event: SyncEvent) -> None:
        if event.kind == "course" and event.outcome == "new":
            published_at[event.vendor_id or ""] = time.monotonic()
        if event.kind == "download":
            downloaded_at[event.vendor_id or ""] = time.monotonic()

    result = run(engine, settings, progress=progress)
    assert result.ok, result.to_dict()
    assert set(published_at) == set(active)
    # Everything else was published (in batches at most a second late) before the slow
    # package arrived, not in one batch with it at the end.
    assert all(published_at[other] < downloaded_at[slow] for other in active[1:])
    assert_converged(engine, live_vendor)


def test_finished_packages_are_published_while_later_pages_are_read(
    live_vendor_factory: Callable[..., Any], engine: Engine, settings: Settings
) -> None:
    live_vendor = live_vendor_factory(PAGE_SIZE=3)  # 12 courses: 4 pages
    register(engine, settings, live_vendor)
    run(engine, settings)
    first_page = vendor_session(live_vendor).get(live_vendor.course_list_url, timeout=20).json()
    repackaged = [c["ID"] for c in first_page if c["IsActive"]][:2]
    for course_id in repackaged:
        live_vendor.admin.replace_package(course_id)
    # Every page takes 1.5 s and only page 1 needs packages (nothing else changed).
    live_vendor.admin.set_fault("latency:1500@list")
    seen: list[tuple[str, Any]] = []

    def progress(event: SyncEvent) -> None:
        if event.kind == "page":
            seen.append(("page", event.page))
        elif event.kind == "course" and event.outcome == "updated":
            seen.append(("published", event.vendor_id))

    result = run(engine, settings, full=True, progress=progress)
    assert result.ok, result.to_dict()
    assert result.pages == 4
    # Published a page or two later, not held until the list ended (they were collected
    # at the end of page 2 and are due a second later, at the end of page 3).
    last_page = seen.index(("page", result.pages))
    for course_id in repackaged:
        assert seen.index(("published", course_id)) < last_page, seen


def test_a_vendor_going_back_to_an_earlier_package_reuses_its_version(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    run(engine, settings)
    course = sorted(i for i, c in vendor_courses(live_vendor).items() if c["IsActive"])[0]
    first = published(engine)[course]
    original = package_bytes(live_vendor, course)
    live_vendor.admin.replace_package(course)
    assert run(engine, settings).ok
    assert published(engine)[course]["sha256"] != first["sha256"]

    live_vendor.admin.replace_package(course, original)
    result = run(engine, settings)
    assert result.ok, result.to_dict()
    assert result.downloads == 1
    back = published(engine)[course]
    assert back["sha256"] == first["sha256"]
    assert back["current_package_id"] == first["current_package_id"]  # the same row
    with engine.connect() as conn:
        versions = conn.execute(
            sa.select(sa.func.count())
            .select_from(db.package_versions)
            .where(db.package_versions.c.course_id == first["id"])
        ).scalar_one()
    assert versions == 2
    assert_consistent(engine, settings)


def test_update_deactivation_and_package_replacement_are_applied(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    run(engine, settings)
    active = sorted(i for i, c in vendor_courses(live_vendor).items() if c["IsActive"])
    retitled, withdrawn, repackaged = active[:3]
    before = published(engine)
    live_vendor.admin.update_course(retitled, Title="A brand new title")
    live_vendor.admin.deactivate_course(withdrawn)
    live_vendor.admin.replace_package(repackaged)
    live_vendor.admin.clear_journal()

    result = run(engine, settings)
    assert result.ok, result.to_dict()
    by_id = {o.vendor_id: o.outcome for o in result.outcomes}
    assert by_id == {retitled: "updated", withdrawn: "deactivated", repackaged: "updated"}
    assert result.counts["unchanged"] == 0  # IMS: only the changed courses were listed
    assert result.downloads == 1
    packages = [e for e in live_vendor.admin.journal() if e["operation"] == "package"]
    assert [e["path"] for e in packages] == [f"/api/v1/courses/{repackaged}/package.zip"]

    after = published(engine)
    assert after[retitled]["title"] == "A brand new title"
    assert after[retitled]["current_package_id"] == before[retitled]["current_package_id"]
    assert not after[withdrawn]["is_active"]
    assert Path(after[withdrawn]["stored_path"]).is_dir()  # content kept
    assert after[repackaged]["sha256"] != before[repackaged]["sha256"]
    assert Path(before[repackaged]["stored_path"]).is_dir()  # old version kept
    assert_converged(engine, live_vendor)
    assert_consistent(engine, settings)
    # A re-activated course comes back with its content.
    live_vendor.admin.activate_course(withdrawn)
    assert run(engine, settings).ok
    assert_converged(engine, live_vendor)


def test_protected_fields_are_kept_and_subjects_only_appended(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    course_id = sorted(i for i, c in vendor_courses(live_vendor).items() if c["IsActive"])[0]
    live_vendor.admin.update_course(course_id, Subjects=["Safety", "Law"])
    run(engine, settings)
    catalog.protect(engine, course_id, ["title", "Keywords"])
    original = published(engine)[course_id]
    live_vendor.admin.update_course(
        course_id,
        Title="Vendor title",
        Description="Vendor description",
        Keywords=["new"],
        Subjects=["Law", "Health"],
    )
    assert run(engine, settings).ok
    row = published(engine)[course_id]
    assert row["title"] == original["title"]
    assert row["keywords"] == original["keywords"]
    assert row["description"] == "Vendor description"
    assert row["subjects"] == ["Safety", "Law", "Health"]


def test_local_deactivation_holds_until_the_vendor_changes_the_course(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    run(engine, settings)
    first, second = sorted(i for i, c in vendor_courses(live_vendor).items() if c["IsActive"])[:2]
    catalog.set_active(engine, first, False)
    catalog.set_active(engine, second, False)
    live_vendor.admin.update_course(second, Title="Revised")
    live_vendor.admin.update_course(first, Description="Lists it again, unchanged state")
    live_vendor.admin.clear_journal()
    # Incremental: the vendor changed both, so both get the vendor's IsActive again ...
    result = run(engine, settings)
    assert {o.vendor_id: o.outcome for o in result.outcomes} == {
        first: "updated",
        second: "updated",
    }
    assert published(engine)[second]["is_active"]
    # ... while an unchanged course stays deactivated until a full list re-applies it.
    catalog.set_active(engine, second, False)
    assert run(engine, settings).outcomes == []
    assert not published(engine)[second]["is_active"]
    full = run(engine, settings, full=True)
    assert [(o.vendor_id, o.outcome) for o in full.outcomes] == [(second, "updated")]
    assert published(engine)[second]["is_active"]


def test_full_sync_flags_courses_the_vendor_no_longer_lists(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    integration = register(engine, settings, live_vendor)
    run(engine, settings)
    # A published course that the vendor has since dropped from its list.
    model = next(iter(published(engine).values()))
    folder = integrations.content_root(settings, integration) / "GONE-1" / model["sha256"]
    shutil.copytree(model["stored_path"], folder)
    now = db.utcnow()
    with engine.begin() as conn:
        course_id = conn.execute(
            sa.insert(db.courses)
            .values(
                integration_id=integration.id,
                vendor_id="GONE-1",
                title="Dropped by the vendor",
                languages=["en-US"],
                subjects=[],
                keywords=[],
                localization=[],
                protected_fields=[],
                created_at=now,
                updated_at=now,
            )
            .returning(db.courses.c.id)
        ).scalar_one()
        version = conn.execute(
            sa.insert(db.package_versions)
            .values(
                course_id=course_id,
                sha256=model["sha256"],
                size=1,
                stored_path=str(folder),
                downloaded_at=now,
            )
            .returning(db.package_versions.c.id)
        ).scalar_one()
        conn.execute(
            sa.update(db.courses)
            .where(db.courses.c.id == course_id)
            .values(current_package_id=version)
        )
    incremental = run(engine, settings)
    assert incremental.counts["missing"] == 0  # an IMS list cannot tell
    full = run(engine, settings, full=True)
    assert full.ok
    assert [(o.vendor_id, o.outcome) for o in full.outcomes] == [("GONE-1", "missing")]
    row = published(engine)["GONE-1"]
    assert row["missing_from_vendor"]
    assert row["missing_since"] is not None
    again = run(engine, settings, full=True)
    assert again.counts["missing"] == 0  # flagged once, never deleted
    assert "GONE-1" in published(engine)


def test_full_list_every_n_days(live_vendor: Any, engine: Engine, settings: Settings) -> None:
    register(engine, settings, live_vendor)
    run(engine, settings)
    assert not run(engine, settings).full
    with engine.begin() as conn:
        conn.execute(
            sa.update(db.integrations).values(
                last_full_sync_at=db.utcnow() - dt.timedelta(days=7, minutes=1)
            )
        )
    result = run(engine, settings)
    assert result.full
    assert result.if_modified_since is None


def test_basic_auth_mode(
    live_vendor_factory: Callable[..., Any], engine: Engine, settings: Settings
) -> None:
    vendor = live_vendor_factory(AUTH_MODE="basic", COURSES=4)
    register(engine, settings, vendor)
    assert run(engine, settings).ok
    assert_converged(engine, vendor)
    assert {e["auth"] for e in vendor.admin.journal()} == {"basic"}


def test_metadata_only_run_then_packages(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    result = run(engine, settings, options=SyncOptions(download_packages=False))
    assert result.ok
    assert result.downloads == 0
    assert result.counts["new"] > 0
    assert "package" not in operations(live_vendor)
    assert all(r["current_package_id"] is None for r in published(engine).values())
    # The next normal run fetches every package although nothing changed at the vendor.
    assert run(engine, settings).downloads == result.counts["new"]
    assert_converged(engine, live_vendor)


# -- faults ------------------------------------------------------------------------------


def first_active(vendor: Any) -> str:
    return sorted(i for i, c in vendor_courses(vendor).items() if c["IsActive"])[1]


@pytest.mark.parametrize(
    "fault",
    [
        "server_error:2@list",
        "server_error:3@package",
        "server_error:1@token",
        "rate_limit:2,1",
        "token_expires_after:8",  # more uses than calls in flight (4 workers + list)
        "truncated_download",
        "lying_content_length@course:{course}",
        "corrupt_zip@course:{course}",
        "aicc_defect@course:{course}",
        "slow_download:40000@course:{course}",
    ],
)
def test_transport_faults_end_consistent_and_converge(
    fault: str, live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    course = first_active(live_vendor)
    live_vendor.admin.set_fault(fault.format(course=course))
    result = run(engine, settings)
    assert_consistent(engine, settings)
    assert result.status in ("succeeded", "partial"), result.to_dict()
    failed = {o.vendor_id: o for o in result.outcomes if o.outcome == "failed"}
    for outcome in failed.values():
        assert outcome.reason
        assert outcome.rule_ids
    rows = published(engine)
    for vendor_id in {i for i, c in vendor_courses(live_vendor).items() if c["IsActive"]}:
        # Every active course is either published or reported failed with its reason.
        assert (rows.get(vendor_id, {}).get("current_package_id") is not None) != (
            vendor_id in failed
        )
    name = fault.partition(":")[0].partition("@")[0]
    if name in ("corrupt_zip", "aicc_defect"):
        assert set(failed) == {course}
        assert result.status == "partial"
        assert result.counts["failed"] == 1
        expected_rule = "PKG-009" if name == "corrupt_zip" else "AICC-001"
        assert expected_rule in failed[course].rule_ids
        # Never half-published: the new course waits as pending, with the reason.
        assert rows[course]["current_package_id"] is None
        assert rows[course]["failing_since"] is not None
        assert rows[course]["failure_reason"] == failed[course].reason
    if name in ("server_error", "rate_limit", "token_expires_after", "slow_download"):
        assert result.ok, result.to_dict()
    # The watermark moves when the list was read completely, failed courses or not
    # (they are in the retry set).
    with engine.connect() as conn:
        mark = conn.execute(sa.select(db.integrations.c.last_success_started_at)).scalar()
    assert (mark == result.started_at) == result.complete

    live_vendor.admin.clear_fault()
    again = run(engine, settings)
    assert again.ok, again.to_dict()
    assert_converged(engine, live_vendor)
    assert_consistent(engine, settings)


def test_failed_package_update_keeps_previous_version_live(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    run(engine, settings)
    course = first_active(live_vendor)
    before = published(engine)[course]
    live_vendor.admin.replace_package(course)
    live_vendor.admin.set_fault(f"aicc_defect@course:{course}")
    result = run(engine, settings)
    assert result.status == "partial"
    (outcome,) = result.outcomes
    assert outcome.vendor_id == course
    assert outcome.outcome == "failed"
    assert "AICC-001" in outcome.rule_ids
    assert len(outcome.rule_ids) > 1
    assert ":" in (outcome.reason or "")  # file:line of the AICC error
    row = published(engine)[course]
    assert row["current_package_id"] == before["current_package_id"]
    assert row["vendor_package_last_modified"] == before["vendor_package_last_modified"]
    live_vendor.admin.clear_fault()
    assert run(engine, settings).ok
    assert published(engine)[course]["sha256"] != before["sha256"]


def test_unusable_list_fails_the_run_and_keeps_the_watermark(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    first = run(engine, settings)
    live_vendor.admin.set_fault("list_wrapped")
    live_vendor.admin.update_course(first_active(live_vendor), Title="Changed")
    failed = run(engine, settings)
    assert failed.status == "failed"
    assert failed.error
    assert live_vendor.course_list_url in failed.error
    assert "not an array" in failed.error
    live_vendor.admin.clear_fault()
    retry = run(engine, settings)
    assert retry.if_modified_since == first.started_at - FAST.ims_margin
    assert retry.counts["updated"] == 1


def test_bad_course_object_fails_alone(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    course = first_active(live_vendor)
    live_vendor.admin.set_fault(f"bad_timestamp@course:{course}")
    result = run(engine, settings)
    assert result.status == "partial"
    (failed,) = [o for o in result.outcomes if o.outcome == "failed"]
    assert failed.vendor_id == course
    assert failed.rule_ids == ("COURSE-008",)
    assert (failed.reason or "").startswith("$.LastModifiedUTC")
    assert (
        result.counts["new"]
        == len([c for c in vendor_courses(live_vendor).values() if c["IsActive"]]) - 1
    )


def test_concurrent_runs_of_one_integration(
    live_vendor: Any, engine: Engine, settings: Settings
) -> None:
    register(engine, settings, live_vendor)
    live_vendor.admin.set_fault("latency:300@list")
    results: list[SyncResult] = []
    worker = threading.Thread(target=lambda: results.append(run(engine, settings)))
    worker.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(sa.select(db.sync_locks.c.run_id)).scalar() is not None:
                break
        time.sleep(0.02)
    with pytest.raises(SyncLockedError, match="another sync run holds the lock"):
        run(engine, settings)
    worker.join()
    assert results[0].ok
    assert run(engine, settings).ok  # released afterwards


# -- secrets -----------------------------------------------------------------------------


def test_secrets_never_in_logs_json_or_database(
    live_vendor: Any,
    engine: Engine,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    from mock_vendor.app import get_state

    caplog.set_level("DEBUG")
    register(engine, settings, live_vendor)
    live_vendor.admin.set_fault(f"corrupt_zip@course:{first_active(live_vendor)}")
    live_vendor.admin.set_fault("token_expires_after:8")
    result = run(engine, settings)
    assert result.counts["failed"] >= 1
    # The CLI's JSON run record (`cckit sync acme --format json`), with verbose logs.
    live_vendor.admin.update_course(first_active(live_vendor), Title="Changed for the CLI")
    cli = CliRunner().invoke(
        main,
        [
            "sync", "acme", "--format", "json", "--verbose",
            "--home", str(settings.home), "--db", settings.database_url,
        ],
    )  # fmt: skip
    assert cli.exit_code == 1, cli.output  # the corrupt package still fails
    assert json.loads(cli.stdout)["run_id"] == result.run_id + 1
    tokens = list(get_state(live_vendor.app).tokens)
    assert len(tokens) >= 2  # re-authenticated mid-sync
    engine.dispose()  # flush the WAL so the file holds everything
    blobs = {
        "log": caplog.text.encode(),
        "json": json.dumps(result.to_dict()).encode(),
        "repr": repr(result).encode(),
        "cli": cli.output.encode(),
    }
    for path in tmp_path.glob("cat.sqlite3*"):
        blobs[path.name] = path.read_bytes()
    assert "cat.sqlite3" in blobs
    for secret in [live_vendor.client_secret, *tokens]:
        for where, blob in blobs.items():
            assert secret.encode() not in blob, f"secret found in {where}"


@pytest.mark.postgres
def test_sync_cycle_on_postgresql(live_vendor: Any, tmp_path: Path) -> None:
    url = os.environ.get("CCKIT_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set CCKIT_TEST_POSTGRES_URL to run the sync on PostgreSQL")
    fresh = db.create_engine(url)
    db.metadata.drop_all(fresh)  # a clean catalog for this test
    with fresh.begin() as conn:  # and its schema version, so that connect() rebuilds it
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {migrate.VERSION_TABLE}")
    fresh.dispose()
    settings = Settings(home=tmp_path / "home", database_url=url)
    engine = db.connect(settings)
    try:
        register(engine, settings, live_vendor)
        first = run(engine, settings)
        assert first.ok, first.to_dict()
        assert_converged(engine, live_vendor)
        assert_consistent(engine, settings)
        course = first_active(live_vendor)
        live_vendor.admin.update_course(course, Title="On PostgreSQL")
        live_vendor.admin.replace_package(course)
        second = run(engine, settings)
        assert second.ok
        assert [(o.vendor_id, o.outcome) for o in second.outcomes] == [(course, "updated")]
        assert_converged(engine, live_vendor)
    finally:
        engine.dispose()
