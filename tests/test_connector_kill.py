"""SIGKILL a sync process at several points: nothing half-published, the next run converges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector import archive
from connector import db
from connector import integrations
from connector.config import Settings
from connector.sync import SyncOptions
from connector.sync import sync

pytestmark = [pytest.mark.live, pytest.mark.slow]

CHILD = """
import sys
from connector import db, integrations
from connector.config import Settings
from connector.sync import SyncOptions, sync
settings = Settings.resolve(home=sys.argv[1], db_url=sys.argv[2])
engine = db.connect(settings)
integration = integrations.get(engine, settings, "acme")
sync(engine, settings, integration, options=SyncOptions(workers=2, backoff_factor=0.0))
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'cat.sqlite3'}")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = db.connect(settings)
    yield engine
    engine.dispose()


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def wait_for(predicate: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            errors = process.stderr.read() if process.stderr else b""
            pytest.fail(f"the sync process ended before {what}: {errors!r}")
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


def assert_nothing_half_published(engine: Engine) -> None:
    c, pv = db.courses, db.package_versions
    with engine.connect() as conn:
        ids = [r.vendor_id for r in conn.execute(sa.select(c.c.vendor_id))]
        rows = conn.execute(
            sa.select(c.c.id, c.c.vendor_id, pv.c.course_id, pv.c.stored_path).join(
                pv, pv.c.id == c.c.current_package_id
            )
        ).all()
        # A new course is inserted together with its package: none is visible without one.
        without = conn.execute(
            sa.select(sa.func.count()).select_from(c).where(c.c.current_package_id.is_(None))
        ).scalar_one()
    assert len(ids) == len(set(ids))
    assert without == 0
    for row in rows:
        assert row.course_id == row.id
        folder = Path(row.stored_path)
        assert folder.is_dir(), folder
        suffixes = {p.suffix.lower() for p in folder.rglob("*") if p.is_file()}
        assert {".crs", ".au", ".des", ".cst"} <= suffixes, row.vendor_id


def kill_at(settings: Settings, engine: Engine, point: Callable[[], bool], what: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(settings.home), settings.database_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        wait_for(point, process, what)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.stderr is not None
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert_nothing_half_published(engine)


def test_sigkill_at_several_points_then_converge(
    live_vendor_factory: Callable[..., Any], engine: Engine, settings: Settings
) -> None:
    # Slow package bodies so that the run is reliably caught in the middle.
    vendor = live_vendor_factory(COURSES=12, FAULTS=["slow_download:30000"])
    integrations.add(
        engine,
        settings,
        name="acme",
        provider="Acme",
        provider_url=vendor.course_list_url,
        auth_url=vendor.auth_url,
        client_id=vendor.client_id,
        client_secret=vendor.client_secret,
        sync_time="02:00",
    )
    active = {c["ID"] for c in vendor.admin.courses() if c["IsActive"]}

    def package_requests() -> int:
        return sum(1 for e in vendor.admin.journal() if e["operation"] == "package")

    # 1. While the lock is held and the list is being read, before any download.
    kill_at(settings, engine, lambda: count(engine, db.sync_runs) >= 1, "the run started")
    assert count(engine, db.courses) == 0
    # 2. While package bodies are streaming (temporary files exist, nothing published).
    kill_at(settings, engine, lambda: package_requests() >= 2, "downloads started")
    # 3. After some courses were published.
    kill_at(settings, engine, lambda: count(engine, db.package_versions) >= 3, "3 published")
    published = count(engine, db.courses)
    assert 3 <= published < len(active)
    # 4. Again, later, with a vendor change in between.
    changed = sorted(active)[0]
    vendor.admin.update_course(changed, Title="Changed between kills")
    kill_at(
        settings,
        engine,
        lambda: count(engine, db.package_versions) >= published + 2,
        "2 more published",
    )
    assert count(engine, db.sync_runs) == 4
    # The killed runs' records say what they really did: the downloads they recorded add
    # up to the versions they published (counts travel with each publishing batch).
    versions_before = count(engine, db.package_versions)

    # A clean run takes over the dead process's lock at once and converges.
    vendor.admin.clear_fault()
    integration = integrations.get(engine, settings, "acme")
    result = sync(engine, settings, integration, options=SyncOptions(backoff_factor=0.0))
    assert result.ok, result.to_dict()
    assert result.full  # no killed run ever succeeded, so there is no watermark yet
    assert_nothing_half_published(engine)
    with engine.connect() as conn:
        rows = {
            r.vendor_id: r
            for r in conn.execute(sa.select(db.courses.c.vendor_id, db.courses.c.title))
        }
        runs = conn.execute(sa.select(db.sync_runs).order_by(db.sync_runs.c.id)).all()
        outcome_rows = conn.execute(
            sa.select(db.course_outcomes.c.run_id, db.course_outcomes.c.outcome)
        ).all()
    assert set(rows) == active
    assert rows[changed].title == "Changed between kills"
    assert [r.status for r in runs] == ["abandoned"] * 4 + ["succeeded"]
    killed = runs[:4]
    assert sum(r.downloads for r in killed) == versions_before
    published_outcomes = [o for o in outcome_rows if o.run_id <= killed[-1].id]
    assert len([o for o in published_outcomes if o.outcome in ("new", "updated")]) >= (
        versions_before
    )
    for dead, after in zip(killed, runs[1:], strict=True):
        # Closed at its last heartbeat, not when the next run found it.
        assert dead.finished_at is not None
        assert dead.finished_at <= after.started_at
        assert dead.error
        assert "abandoned" in dead.error
    # Orphans of the killed runs are gone: no temporary files or unreferenced folders.
    content = integrations.content_root(settings, integration)
    leftovers = [p for p in content.rglob("*") if p.name.startswith(archive.TEMP_PREFIX)]
    assert leftovers == []
    assert {p.name for p in content.iterdir()} == active
    for course_dir in content.iterdir():
        assert len(list(course_dir.iterdir())) == 1
