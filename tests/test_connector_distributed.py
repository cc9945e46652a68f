"""The distributed mode: procrastinate jobs in the catalog's PostgreSQL database.

The end-to-end test runs what an operator runs: three ``cckit worker`` processes (each
with its own home, one shared ``CCKIT_CONTENT_DIR``, one ``CCKIT_SECRET_KEY``),
``cckit scheduler run --enqueue``, three live mock vendors; one worker is killed with
SIGKILL while it reads a list, and the catalog is compared with each vendor's truth.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from _distributed import OwnCluster
from _distributed import Processes
from _distributed import pg_url  # noqa: F401 - fixture
from _distributed import wait_until
from click.testing import CliRunner
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from cckit.cli import main
from connector import db
from connector import integrations
from connector.config import Settings

pytestmark = [pytest.mark.postgres]


def _engine(url: str) -> sa.Engine:
    engine = db.connect(url)
    from connector.jobs.app import ensure_schema

    ensure_schema(engine)
    return engine


def _add(engine: sa.Engine, settings: Settings, name: str, vendor: Any, at: str = "02:00") -> None:
    integrations.add(
        engine,
        settings,
        name=name,
        provider=name.title(),
        provider_url=vendor.course_list_url,
        auth_url=vendor.auth_url,
        client_id=vendor.client_id,
        client_secret=vendor.client_secret,
        sync_time=at,
    )


# -- no PostgreSQL needed ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["worker"], ["sync", "x", "--enqueue"], ["jobs", "list"], ["scheduler", "run", "--enqueue"]],
)
def test_an_sqlite_catalog_is_refused_in_one_line(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--home", str(tmp_path / "h")])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "needs a PostgreSQL catalog" in lines[0]
    assert "Traceback" not in result.output


def test_the_single_machine_path_never_imports_procrastinate() -> None:
    code = (
        "import sys\n"
        "import connector.sync, connector.scheduler, connector.cli.sync, connector.cli.scheduler\n"
        "from cckit.cli import main\n"
        "assert 'procrastinate' not in sys.modules, 'procrastinate imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_connection_info_comes_from_the_catalog_url() -> None:
    pytest.importorskip("psycopg")
    from connector.jobs.app import conninfo

    text = conninfo("postgresql+psycopg://cckit:s3cret@db.example:6543/cat?sslmode=require")
    parts = dict(item.split("=", 1) for item in text.split())
    assert parts == {
        "host": "db.example",
        "port": "6543",
        "dbname": "cat",
        "user": "cckit",
        "password": "s3cret",
        "sslmode": "require",
    }


def test_content_dir_comes_from_the_environment(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    settings = Settings.resolve(home=tmp_path / "h", environ={"CCKIT_CONTENT_DIR": str(shared)})
    assert settings.content_dir == shared
    assert Settings.resolve(home=tmp_path / "h", environ={}).content_dir == tmp_path / "h/content"


# -- PostgreSQL ---------------------------------------------------------------------------


def test_schema_is_applied_once_and_enqueue_twice_is_a_noop(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
    live_vendor: Any,
) -> None:
    engine = _engine(pg_url)
    _engine(pg_url).dispose()  # a second start finds the job tables: no error
    settings = Settings.resolve(home=tmp_path / "h", db_url=pg_url)
    _add(engine, settings, "acme", live_vendor)
    home = str(tmp_path / "h")

    def cckit(*args: str) -> subprocess.CompletedProcess[str]:
        # A subprocess: the command's connection pool ends with it.
        return subprocess.run(
            [sys.executable, "-m", "cckit", *args, "--db", pg_url, "--home", home],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    first = cckit("sync", "acme", "--enqueue")
    assert first.returncode == 0, first.stderr
    assert "sync queued (job" in first.stdout
    again = cckit("sync", "--all", "--enqueue")
    assert again.returncode == 0, again.stderr
    assert "acme: not queued: a sync job is already queued" in again.stdout
    listed = cckit("jobs", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    assert [(j["task"], j["status"], j["integration"]) for j in jobs] == [
        ("cckit.sync", "queued", "acme")
    ]
    assert json.loads(cckit("jobs", "list", "--status", "done", "--format", "json").stdout) == []
    text = cckit("jobs", "list", "--status", "queued", "--status", "running")
    assert text.returncode == 0, text.stderr
    header, row = text.stdout.strip().splitlines()
    assert header.split()[:5] == ["JOB", "TASK", "STATUS", "INTEGRATION", "RUN"]
    assert row.split()[1:4] == ["cckit.sync", "queued", "acme"]
    engine.dispose()


def test_the_catalog_migration_brings_the_job_tables(pg_url: str) -> None:  # noqa: F811
    from connector.jobs.app import has_procrastinate_schema

    engine = db.connect(pg_url)  # Alembic upgrade to the newest revision (0003)
    try:
        with engine.connect() as conn:
            assert has_procrastinate_schema(conn)
            tables = set(sa.inspect(conn).get_table_names())
        assert {"run_packages", "procrastinate_jobs", "procrastinate_workers"} <= tables
    finally:
        engine.dispose()


def test_an_older_package_never_replaces_a_newer_one(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
    live_vendor: Any,
) -> None:
    from connector.jobs.publish import publish_package
    from connector.packages import PackageVersion
    from connector.sync import SyncOptions
    from connector.sync import record

    engine = _engine(pg_url)
    settings = Settings.resolve(home=tmp_path / "h", db_url=pg_url)
    _add(engine, settings, "acme", live_vendor)
    item = integrations.get(engine, settings, "acme")
    run = record.open_run(engine, item, SyncOptions(), False)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(db.run_packages).values(run_id=run.run_id, pending=10, counts={}, downloads=0)
        )
    course = live_vendor.admin.courses()[0]
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def version(sha: str, when: dt.datetime) -> PackageVersion:
        folder = tmp_path / sha
        folder.mkdir(exist_ok=True)
        return PackageVersion(
            sha256=sha * 64, size=1, stored_path=folder, aicc_summary={}, package_last_modified=when
        )

    newer = publish_package(
        engine, item, run.run_id, course, "new", version("b", t0 + dt.timedelta(days=1))
    )
    assert newer.published
    assert newer.outcome == "new"
    older = publish_package(engine, item, run.run_id, course, "updated", version("a", t0))
    assert not older.published
    assert older.outcome == "unchanged"
    twice = publish_package(
        engine, item, run.run_id, course, "updated", version("b", t0 + dt.timedelta(days=1))
    )
    assert not twice.published
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.courses.c.id, db.courses.c.current_package_id)).all()
        versions = conn.execute(sa.select(db.package_versions.c.sha256)).scalars().all()
        pending = conn.execute(sa.select(db.run_packages.c.pending)).scalar_one()
    assert len(rows) == 1
    assert versions == ["b" * 64]
    assert pending == 7
    engine.dispose()


def _truth_matches(engine: sa.Engine, name: str, vendor: Any) -> None:
    """The catalog holds exactly the vendor's active courses, each with its newest package."""
    truth = {c["ID"]: c for c in vendor.admin.courses() if c["IsActive"]}
    c, pv, i = db.courses.c, db.package_versions.c, db.integrations.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(c.vendor_id, c.title, c.vendor_package_last_modified, pv.stored_path)
            .join(db.integrations, db.integrations.c.id == c.integration_id)
            .outerjoin(db.package_versions, pv.id == c.current_package_id)
            .where(i.name == name, c.is_active.is_(True))
        ).all()
    held = {r.vendor_id: r for r in rows}
    assert set(held) == set(truth), name
    for vendor_id, row in held.items():
        assert row.title == truth[vendor_id]["Title"]
        plm = dt.datetime.fromisoformat(truth[vendor_id]["PackageLastModifiedUTC"])
        assert row.vendor_package_last_modified == plm, vendor_id
        assert row.stored_path is not None, vendor_id
        assert Path(row.stored_path).is_dir(), vendor_id


def _next_minute(now: dt.datetime) -> dt.datetime:
    """The next whole minute at least 8 s away (the scheduler must be up before it)."""
    at = (now + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    return at if (at - now).total_seconds() >= 8 else at + dt.timedelta(minutes=1)


@pytest.mark.live
@pytest.mark.slow
def test_three_workers_scheduler_and_a_killed_worker_converge(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
    live_vendor_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = _engine(pg_url)
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("CCKIT_SECRET_KEY", key)  # every machine shares the key
    env = {
        **os.environ,
        "CCKIT_DATABASE_URL": pg_url,
        "CCKIT_SECRET_KEY": key,
        "CCKIT_CONTENT_DIR": str(tmp_path / "shared-content"),
        "PYTHONPATH": os.getcwd(),
    }
    settings = Settings.resolve(home=tmp_path / "admin", db_url=pg_url, environ=env)
    at = _next_minute(dt.datetime.now(dt.UTC))
    vendors = {
        # A slow list: its sync job is still reading pages when the worker is killed.
        "slowlist": live_vendor_factory(
            COURSES=16, PAGE_SIZE=2, SEED=3, FAULTS=["latency:700@list"]
        ),
        "slowpkg": live_vendor_factory(COURSES=10, SEED=4, FAULTS=["slow_download:60000"]),
        "plain": live_vendor_factory(COURSES=12, SEED=5),
    }
    for name, vendor in vendors.items():
        _add(engine, settings, name, vendor, at=at.strftime("%H:%M"))
    procs = Processes(env, tmp_path)
    try:
        workers = [
            procs.cckit(
                "worker",
                "--concurrency",
                "2",
                "--heartbeat",
                "0.5",
                "--stalled-after",
                "3",
                home=tmp_path / f"machine{n}",
            )
            for n in range(3)
        ]
        procs.cckit("scheduler", "run", "--enqueue", "-v", home=tmp_path / "scheduler")

        def lock_owner() -> str | None:
            with engine.connect() as conn:
                return conn.execute(
                    sa.select(db.sync_locks.c.owner)
                    .join(db.integrations, db.integrations.c.id == db.sync_locks.c.integration_id)
                    .where(
                        db.integrations.c.name == "slowlist", db.sync_locks.c.run_id.is_not(None)
                    )
                ).scalar()

        def deferred(name: str) -> int:
            with engine.connect() as conn:
                return int(
                    conn.execute(
                        sa.text(
                            "SELECT count(*) FROM procrastinate_jobs j JOIN integrations i "
                            "ON (j.args->>'integration_id')::int = i.id "
                            "WHERE j.task_name = 'cckit.package' AND i.name = :n"
                        ),
                        {"n": name},
                    ).scalar_one()
                )

        def started() -> bool:
            procs.check()
            return lock_owner() is not None and deferred("slowlist") >= 2

        wait_until(started, "the slow list's sync job to defer its first packages", timeout=120)
        owner = lock_owner()
        assert owner is not None
        pid = int(owner.split(":")[1])
        victim = next(w for w in workers if w.pid == pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)

        def all_closed() -> bool:
            procs.check(spare=(victim,))
            with engine.connect() as conn:
                runs = conn.execute(
                    sa.select(db.integrations.c.name, db.sync_runs.c.status).join(
                        db.integrations, db.integrations.c.id == db.sync_runs.c.integration_id
                    )
                ).all()
            done = {n for n, s in runs if s in ("succeeded", "partial")}
            return done == set(vendors)

        wait_until(all_closed, "every integration's run to close", timeout=120)
    finally:
        procs.stop_all()
    for name, vendor in vendors.items():
        _truth_matches(engine, name, vendor)
    with engine.connect() as conn:
        statuses = {
            name: [
                s
                for n, s in conn.execute(
                    sa.select(db.integrations.c.name, db.sync_runs.c.status)
                    .join(db.integrations, db.integrations.c.id == db.sync_runs.c.integration_id)
                    .order_by(db.sync_runs.c.id)
                ).all()
                if n == name
            ]
            for name in vendors
        }
        retried = conn.execute(
            sa.text("SELECT count(*) FROM procrastinate_events WHERE type = 'deferred_for_retry'")
        ).scalar_one()
        failed_jobs = conn.execute(
            sa.text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'")
        ).scalar_one()
        duplicate_versions = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT course_id, sha256 FROM package_versions "
                "GROUP BY course_id, sha256 HAVING count(*) > 1) d"
            )
        ).scalar_one()
    # The killed worker's sync job was run again by another worker: its first run is
    # recorded as abandoned, the second one read the list and published everything.
    assert statuses["slowlist"] == ["abandoned", "succeeded"], statuses
    assert statuses["slowpkg"] == ["succeeded"]
    assert statuses["plain"] == ["succeeded"]
    assert retried >= 1
    assert failed_jobs == 0
    assert duplicate_versions == 0
    # Content went to the shared store, not to the workers' homes.
    assert (tmp_path / "shared-content").is_dir()
    assert not any((tmp_path / f"machine{n}" / "content").exists() for n in range(3))
    engine.dispose()


@pytest.mark.live
@pytest.mark.slow
def test_a_worker_goes_on_after_postgresql_restarts(
    tmp_path: Path, live_vendor_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(tempfile.mkdtemp(prefix="cckit-pg-"))
    cluster = OwnCluster(root)
    procs = Processes({}, tmp_path)
    engine = _engine(cluster.url)
    try:
        key = Fernet.generate_key().decode()
        monkeypatch.setenv("CCKIT_SECRET_KEY", key)
        env = {
            **os.environ,
            "CCKIT_DATABASE_URL": cluster.url,
            "CCKIT_CONTENT_DIR": str(tmp_path / "shared-content"),
            "PYTHONPATH": os.getcwd(),
        }
        procs.env = env
        settings = Settings.resolve(home=tmp_path / "admin", db_url=cluster.url, environ=env)
        vendor = live_vendor_factory(COURSES=12, SEED=6, FAULTS=["slow_download:40000"])
        _add(engine, settings, "acme", vendor)
        worker = procs.cckit(
            "worker",
            "--concurrency",
            "2",
            "--heartbeat",
            "0.5",
            "--stalled-after",
            "5",
            home=tmp_path / "machine",
        )
        queued = subprocess.run(
            [sys.executable, "-m", "cckit", "sync", "acme", "--enqueue"],
            env={**env, "CCKIT_HOME": str(tmp_path / "admin")},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert queued.returncode == 0, queued.stderr

        def versions() -> int:
            procs.check()
            with engine.connect() as conn:
                count = conn.execute(sa.select(sa.func.count()).select_from(db.package_versions))
                return int(count.scalar_one())

        wait_until(lambda: versions() >= 2, "the first packages to be published")
        cluster.stop()  # mid-run: package downloads are in flight
        time.sleep(1.0)
        cluster.start()

        def closed() -> bool:
            procs.check()
            with engine.connect() as conn:
                status = conn.execute(sa.select(db.sync_runs.c.status)).scalars().all()
            return status == ["succeeded"]

        wait_until(closed, "the run to close after the restart", timeout=120)
        _truth_matches(engine, "acme", vendor)
        assert worker.poll() is None  # the same worker went on
        worker.send_signal(signal.SIGTERM)  # graceful stop: exit 0, "stopped"
        assert worker.wait(timeout=30) == 0
        assert "worker: stopped" in (tmp_path / "worker-0.log").read_text()
    finally:
        procs.stop_all()
        engine.dispose()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


# -- the compare-and-set, whatever the order (SQLite: the rule, not the row locks) --------

#: Package jobs of one course: a letter names a package (its bytes, so its sha256) and
#: its date (a later letter is a later PackageLastModifiedUTC); repeats are retried jobs.
_VERSIONS = st.lists(st.sampled_from("abcdef"), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None)
@given(jobs=_VERSIONS)
def test_package_jobs_in_any_order_leave_the_newest_package_live(
    jobs: list[str],
) -> None:
    """Package jobs of one course, run in any order (duplicates included, as a job retried
    after its worker died): the newest ``PackageLastModifiedUTC`` is live, each
    (course, sha256) is recorded once, and every job is counted once."""
    from connector.jobs.publish import publish_package
    from connector.packages import PackageVersion
    from connector.sync import SyncOptions
    from connector.sync import record

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        store = Settings(home=home, database_url=f"sqlite:///{home / 'cat.sqlite3'}")
        engine = db.connect(store)
        try:
            integrations.add(
                engine,
                store,
                name="acme",
                provider="Acme",
                provider_url="https://v.test/c",
                auth_url=None,
                client_id="id",
                client_secret="s",
                sync_time="02:00",
                auth_mode="basic",
            )
            item = integrations.get(engine, store, "acme")
            run = record.open_run(engine, item, SyncOptions(), False)
            with engine.begin() as conn:
                conn.execute(
                    sa.insert(db.run_packages).values(
                        run_id=run.run_id, pending=len(jobs) + 1, counts={}, downloads=0
                    )
                )
            t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            course = {
                "ID": "C-1",
                "Title": "T",
                "Description": "",
                "CourseType": "AICC",
                "IsActive": True,
                "Languages": ["en"],
                "LastModifiedUTC": "2026-01-01T00:00:00Z",
            }
            for letter in jobs:
                # A package's sha256 names its bytes: one letter is one package, one date.
                when = t0 + dt.timedelta(days="abcdef".index(letter))
                folder = home / letter
                folder.mkdir(exist_ok=True)
                version = PackageVersion(
                    sha256=letter * 64,
                    size=1,
                    stored_path=folder,
                    aicc_summary={},
                    package_last_modified=when,
                )
                publish_package(engine, item, run.run_id, course, "updated", version)
            with engine.connect() as conn:
                live = conn.execute(
                    sa.select(db.package_versions.c.sha256).join(
                        db.courses, db.courses.c.current_package_id == db.package_versions.c.id
                    )
                ).scalar_one()
                shas = conn.execute(sa.select(db.package_versions.c.sha256)).scalars().all()
                pending = conn.execute(sa.select(db.run_packages.c.pending)).scalar_one()
                courses = conn.execute(sa.select(sa.func.count()).select_from(db.courses))
                course_count = courses.scalar_one()
        finally:
            engine.dispose()
    newest = max(jobs)
    assert live == newest * 64
    assert len(shas) == len(set(shas))
    assert pending == 1
    assert course_count == 1
