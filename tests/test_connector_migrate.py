"""Schema migrations: baseline, upgrade of a 0.1.0 catalog, backups, the schema lock.

The fixtures under ``tests/fixtures/catalog/`` were made by cckit 0.1.0 (before
migrations: ``metadata.create_all``) with ``cckit demo`` plus a second integration whose
sync failed: 2 integrations, 4 courses, 5 package versions, 3 runs, 7 outcomes. The
PostgreSQL variants need ``CCKIT_TEST_POSTGRES_URL``; each runs in a schema of its own.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import sqlite3
import stat
import threading
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from connector import db
from connector import migrate
from connector.errors import StoreError
from connector.migrations import SCRIPT_LOCATION

FIXTURES = Path(__file__).parent / "fixtures" / "catalog"
SQLITE_FIXTURE = FIXTURES / "catalog-0.1.0.sqlite3"
POSTGRES_FIXTURE = FIXTURES / "catalog-0.1.0.postgresql.sql"
FIXTURE_ROWS = {
    "integrations": 2,
    "courses": 4,
    "package_versions": 5,
    "sync_runs": 3,
    "course_outcomes": 7,
    "sync_locks": 0,
}


def _postgres_base_url() -> str:
    url = os.environ.get("CCKIT_TEST_POSTGRES_URL", "")
    if not url:
        pytest.skip("set CCKIT_TEST_POSTGRES_URL to run the PostgreSQL migration tests")
    pytest.importorskip("psycopg", reason="install the 'postgres' extra")
    return url


@pytest.fixture
def pg_schema() -> Iterator[Callable[[], str]]:
    """Make URLs whose connections work in a fresh, empty schema (dropped afterwards)."""
    base = _postgres_base_url()
    admin = sa.create_engine(base)
    schemas: list[str] = []

    def make() -> str:
        schema = f"migr_{uuid.uuid4().hex[:10]}"
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        schemas.append(schema)
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def pg_url(pg_schema: Callable[[], str]) -> str:
    """A URL whose connections work in a fresh, empty schema."""
    return pg_schema()


def _load_postgres_fixture(url: str) -> None:
    schema = sa.make_url(url).query["options"].partition("=")[2]
    assert isinstance(schema, str)
    script = POSTGRES_FIXTURE.read_text(encoding="utf-8").replace("public.", f"{schema}.")
    engine = sa.create_engine(url)
    try:
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:  # no parameters: the data's '%' stay as they are
                cursor.execute(script)
            raw.commit()
        finally:
            raw.invalidate()  # the dump emptied search_path of this session
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The database kind a test runs on."""
    kind: str = request.param
    return kind


@pytest.fixture
def new_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], str]:
    """Make URLs of empty databases of the test's backend (SQLite files not yet created)."""
    if backend == "sqlite":
        return lambda: f"sqlite:///{tmp_path / uuid.uuid4().hex[:8] / 'catalog.sqlite3'}"
    make: Callable[[], str] = request.getfixturevalue("pg_schema")
    return make


@pytest.fixture
def old_catalog(backend: str, new_url: Callable[[], str]) -> str:
    """URL of a copy of the 0.1.0 catalog fixture."""
    url = new_url()
    if backend == "sqlite":
        target = Path(sa.make_url(url).database or "")
        target.parent.mkdir(parents=True)
        shutil.copyfile(SQLITE_FIXTURE, target)
    else:
        _load_postgres_fixture(url)
    return url


@pytest.fixture
def empty_url(new_url: Callable[[], str]) -> str:
    """URL of an empty database."""
    return new_url()


def _rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every baseline table, by primary key, through plain reflection."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine, only=sorted(migrate.BASELINE_TABLES))
        with engine.connect() as conn:
            return {
                name: [
                    dict(r._mapping)
                    for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
                ]
                for name, table in meta.tables.items()
            }
    finally:
        engine.dispose()


def _schema(url: str) -> dict[str, Any]:
    """Tables, columns (type, nullability, default), keys and indexes, as reflected."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        result: dict[str, Any] = {}
        for table in sorted(migrate.BASELINE_TABLES):
            result[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in inspector.get_columns(table)
                ],
                "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                "fks": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"], str(f["options"]))
                    for f in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    (u["name"] or "", tuple(u["column_names"]))
                    for u in inspector.get_unique_constraints(table)
                ),
            }
        return result
    finally:
        engine.dispose()


def _version(url: str) -> tuple[str, ...]:
    engine = db.create_engine(url, create=False)
    try:
        return migrate.status(engine).current
    finally:
        engine.dispose()


def _heads() -> tuple[str, ...]:
    engine = db.create_engine("sqlite://")
    try:
        return migrate.status(engine).heads
    finally:
        engine.dispose()


# --- the schema -----------------------------------------------------------------------


def test_fixture_is_the_0_1_0_catalog_it_claims() -> None:
    with closing(sqlite3.connect(f"file:{SQLITE_FIXTURE}?mode=ro&immutable=1", uri=True)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - our names
            for t in FIXTURE_ROWS
        }
    assert tables == set(migrate.BASELINE_TABLES)  # no version table: made before migrations
    assert counts == FIXTURE_ROWS


def test_baseline_creates_exactly_the_0_1_0_schema(old_catalog: str, empty_url: str) -> None:
    """Revision 0001 on an empty database gives the schema 0.1.0's create_all made."""
    from alembic import command

    engine = db.create_engine(empty_url)
    try:
        with engine.begin() as conn:
            command.upgrade(migrate._config(SCRIPT_LOCATION, conn), migrate.BASELINE)
    finally:
        engine.dispose()
    assert _schema(empty_url) == _schema(old_catalog)


def test_newest_revision_equals_the_tables_the_code_uses(empty_url: str) -> None:
    """connector.db's tables and the migrations may never drift apart."""
    engine = db.connect(empty_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "version_table": migrate.VERSION_TABLE,
                    "compare_type": True,
                    "include_name": migrate.include_name,
                },
            )
            assert compare_metadata(context, db.metadata) == []
        assert migrate.status(engine).up_to_date
    finally:
        engine.dispose()


def test_exactly_one_baseline_and_one_head() -> None:
    engine = db.create_engine("sqlite://")
    try:
        state = migrate.status(engine)
    finally:
        engine.dispose()
    assert state.current == ()
    assert len(state.heads) == 1
    assert state.pending[0] == migrate.BASELINE


# --- upgrading a 0.1.0 catalog --------------------------------------------------------


def test_upgrade_of_a_0_1_0_catalog_keeps_every_row(old_catalog: str) -> None:
    before = _rows(old_catalog)
    assert {t: len(r) for t, r in before.items()} == FIXTURE_ROWS
    engine = db.connect(old_catalog)  # first use after an install: automatic upgrade
    try:
        assert migrate.status(engine).up_to_date
        with engine.connect() as conn:  # the catalog reads through today's tables
            names = conn.execute(sa.select(db.integrations.c.name)).scalars().all()
        assert sorted(names) == ["demo-vendor", "second"]
    finally:
        engine.dispose()
    after = _rows(old_catalog)
    for table, rows in before.items():
        kept = [{k: row[k] for k in rows[0]} for row in after[table]] if rows else after[table]
        assert kept == rows, table
    assert _version(old_catalog) == _heads()
    # Revision 0002 filled the new integration columns.
    uids = [r["uid"] for r in after["integrations"]]
    assert len(set(uids)) == 2
    assert all(len(u) == 32 for u in uids)
    assert [r["name_key"] for r in after["integrations"]] == ["demo-vendor", "second"]
    assert [(r["allowed_package_hosts"], r["limits"]) for r in after["integrations"]] == [
        ([], {}),
        ([], {}),
    ]
    assert {r["retry_count"] for r in after["courses"]} == {0}


def test_names_differing_only_in_case_are_made_unique_by_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    shutil.copyfile(SQLITE_FIXTURE, path)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE integrations SET name = 'Demo-Vendor' WHERE name = 'second'")
    db.connect(f"sqlite:///{path}").dispose()
    names = [r["name"] for r in _rows(f"sqlite:///{path}")["integrations"]]
    assert names[0] == "demo-vendor"
    assert names[1].startswith("Demo-Vendor-")


def test_unversioned_catalog_is_stamped_not_recreated(old_catalog: str) -> None:
    engine = db.create_engine(old_catalog)
    try:
        state = migrate.status(engine)
        assert state.unversioned
        assert not state.current
        result = migrate.upgrade(engine)
        assert result.stamped
        assert not result.created
        assert migrate.upgrade(engine).changed is False  # idempotent
    finally:
        engine.dispose()


_NEXT_REVISION = '''
"""Test revision: a NOT NULL column on integrations, which SQLite adds by a table copy."""

import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "always": on SQLite, copy the table (drop and rename) as a real change would.
    sqlite = op.get_context().dialect.name == "sqlite"
    with op.batch_alter_table("integrations", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("colour", sa.String(20), nullable=False, server_default="red"))


def downgrade() -> None:
    raise NotImplementedError
'''


@pytest.fixture
def scripts_with_next_revision(tmp_path: Path) -> Path:
    """A copy of the migration scripts with one more revision after today's head."""
    location = tmp_path / "migrations"
    shutil.copytree(SCRIPT_LOCATION, location, ignore=shutil.ignore_patterns("__pycache__"))
    (head,) = _heads()
    text = _NEXT_REVISION.format(down=head)
    (location / "versions" / "v9001_colour.py").write_text(text, encoding="utf-8")
    return location


def test_a_new_revision_backs_up_the_sqlite_file_and_keeps_every_row(
    tmp_path: Path, scripts_with_next_revision: Path
) -> None:
    path = tmp_path / "catalog.sqlite3"
    shutil.copyfile(SQLITE_FIXTURE, path)
    url = f"sqlite:///{path}"
    before = _rows(url)
    engine = db.create_engine(url)
    try:
        result = migrate.ensure_schema(engine, location=scripts_with_next_revision)
        assert result.stamped
        assert result.applied[-1] == "9001"
        assert result.after == ("9001",)
        assert migrate.ensure_schema(engine, location=scripts_with_next_revision).changed is False
    finally:
        engine.dispose()
    after = _rows(url)
    # The table copy of integrations must not cascade-delete courses, runs, outcomes.
    for table, rows in before.items():
        kept = [{k: row[k] for k in rows[0]} for row in after[table]] if rows else after[table]
        assert kept == rows, table
    assert {r["colour"] for r in after["integrations"]} == {"red"}
    # The backup is the file as it was, next to it, owner-only.
    assert result.backup is not None
    assert result.backup.parent == path.parent
    assert stat.S_IMODE(result.backup.stat().st_mode) == 0o600
    assert _rows(f"sqlite:///{result.backup}") == before
    with closing(sqlite3.connect(result.backup)) as conn:
        assert "cckit_schema_version" not in {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master")
        }


@pytest.mark.postgres
def test_a_new_revision_on_postgresql_keeps_every_row(
    pg_url: str, scripts_with_next_revision: Path
) -> None:
    _load_postgres_fixture(pg_url)
    before = _rows(pg_url)
    engine = db.create_engine(pg_url)
    try:
        result = migrate.ensure_schema(engine, location=scripts_with_next_revision)
    finally:
        engine.dispose()
    assert result.after == ("9001",)
    assert result.backup is None  # PostgreSQL: your own backups; the upgrade is one transaction
    after = _rows(pg_url)
    for table, rows in before.items():
        kept = [{k: row[k] for k in rows[0]} for row in after[table]] if rows else after[table]
        assert kept == rows, table


def test_a_failing_revision_changes_nothing(
    tmp_path: Path, scripts_with_next_revision: Path
) -> None:
    broken = scripts_with_next_revision / "versions" / "v9002_broken.py"
    broken.write_text(
        "from alembic import op\n"
        'revision = "9002"\n'
        'down_revision = "9001"\n'
        "branch_labels = None\n"
        "depends_on = None\n"
        "def upgrade() -> None:\n"
        '    op.execute("UPDATE no_such_table SET x = 1")\n',
        encoding="utf-8",
    )  # fails after the stamp and 9001 ran in the same transaction
    path = tmp_path / "catalog.sqlite3"
    shutil.copyfile(SQLITE_FIXTURE, path)
    url = f"sqlite:///{path}"
    before = _rows(url)
    engine = db.create_engine(url)
    try:
        with pytest.raises(StoreError, match="cannot upgrade the catalog schema"):
            migrate.ensure_schema(engine, location=scripts_with_next_revision)
        state = migrate.status(engine, location=scripts_with_next_revision)
        assert state.unversioned  # not even the stamp stayed
    finally:
        engine.dispose()
    assert _rows(url) == before


_SECOND_BRANCH = '''
"""Test revision: another schema's first revision (say, a job queue) in the same database."""

import sqlalchemy as sa
from alembic import op

revision = "q001"
down_revision = None
branch_labels = ("queue",)
depends_on = None


def upgrade() -> None:
    op.create_table("queue_jobs", sa.Column("id", sa.Integer, primary_key=True))
'''


@pytest.mark.parametrize("start", ["empty", "unversioned"])
def test_a_second_branch_of_revisions_is_applied_beside_the_catalog(
    start: str, tmp_path: Path
) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(SCRIPT_LOCATION, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / "vq001_queue.py").write_text(_SECOND_BRANCH, encoding="utf-8")
    path = tmp_path / "catalog.sqlite3"
    if start == "unversioned":
        shutil.copyfile(SQLITE_FIXTURE, path)
    engine = db.create_engine(f"sqlite:///{path}")
    try:
        result = migrate.ensure_schema(engine, location=location)
        assert "q001" in result.applied
        state = migrate.status(engine, location=location)
        assert state.up_to_date
        assert set(state.current) == {*_heads(), "q001"}
        assert "queue_jobs" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


# --- refusals -------------------------------------------------------------------------


def test_read_only_open_refuses_a_missing_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "catalog.sqlite3"
    with pytest.raises(StoreError, match=r"no catalog database at .*typo.*cckit db upgrade"):
        db.connect(f"sqlite:///{path}", create=False)
    assert not path.parent.exists()


@pytest.mark.postgres
def test_read_only_open_refuses_an_empty_postgresql_database(pg_url: str) -> None:
    with pytest.raises(StoreError, match=r"no catalog in the database .*cckit db upgrade"):
        db.connect(pg_url, create=False)
    engine = sa.create_engine(pg_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_a_catalog_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    db.connect(url).dispose()
    with closing(sqlite3.connect(tmp_path / "catalog.sqlite3")) as conn, conn:
        conn.execute(f"UPDATE {migrate.VERSION_TABLE} SET version_num = 'zz99'")  # noqa: S608
    with pytest.raises(StoreError, match=r"revision zz99.*newer cckit.*upgrade cckit"):
        db.connect(url)


def test_a_database_with_only_some_catalog_tables_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE integrations (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreError, match=r"some catalog tables but not .*courses"):
        db.connect(f"sqlite:///{path}")


def test_new_sqlite_catalog_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o002)
    try:
        engine = db.connect(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
        with engine.begin() as conn:  # a write creates the -wal file too
            conn.execute(sa.delete(db.sync_locks))
    finally:
        os.umask(previous)
    try:
        for path in tmp_path.glob("catalog.sqlite3*"):
            assert stat.S_IMODE(path.stat().st_mode) == db.SQLITE_FILE_MODE == 0o600, path
    finally:
        engine.dispose()


# --- concurrency ----------------------------------------------------------------------


def _open_and_report(url: str, barrier: Any) -> tuple[tuple[str, ...], bool]:
    barrier.wait()
    engine = db.create_engine(url)
    try:
        result = migrate.ensure_schema(engine)
        return result.applied, result.stamped
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("start", ["empty", "unversioned"])
def test_processes_opening_a_catalog_at_once_migrate_it_once(start: str, empty_url: str) -> None:
    url = empty_url
    if start == "unversioned":
        if url.startswith("sqlite"):
            path = Path(sa.make_url(url).database or "")
            path.parent.mkdir(parents=True)
            shutil.copyfile(SQLITE_FIXTURE, path)
        else:
            _load_postgres_fixture(url)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(4)
        with context.Pool(4) as pool:
            results = pool.starmap(_open_and_report, [(url, barrier)] * 4)
    did_work = [r for r in results if r[0] or r[1]]
    assert len(did_work) == 1, results
    assert _version(url) == _heads()


def _hold_schema_lock(url: str) -> tuple[Any, Any]:
    """Hold what an upgrade needs (SQLite write lock / the advisory lock) from outside."""
    if url.startswith("sqlite"):
        path = Path(sa.make_url(url).database or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")  # as every cckit connection
        conn.execute("BEGIN IMMEDIATE")

        def release_sqlite() -> None:
            conn.execute("COMMIT")
            conn.close()

        return conn, release_sqlite
    engine = sa.create_engine(url)
    sa_conn = engine.connect()
    sa_conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": migrate.PG_LOCK_KEY})
    sa_conn.commit()

    def release() -> None:
        sa_conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": migrate.PG_LOCK_KEY})
        sa_conn.close()
        engine.dispose()

    return sa_conn, release


def test_an_upgrade_waits_for_the_schema_lock(empty_url: str) -> None:
    _holder, release = _hold_schema_lock(empty_url)
    outcome: list[object] = []

    def opener() -> None:
        try:
            engine = db.connect(empty_url)
            outcome.append(migrate.status(engine).up_to_date)
            engine.dispose()
        except Exception as exc:  # reported by the assertion below
            outcome.append(exc)

    thread = threading.Thread(target=opener)
    thread.start()
    try:
        thread.join(1.0)
        assert thread.is_alive(), outcome  # waiting for the lock, not migrating beside it
    finally:
        release()
    thread.join(60)
    assert outcome == [True]


# --- the CLI --------------------------------------------------------------------------


def _cli(*args: str) -> Any:
    from click.testing import CliRunner

    from cckit.cli import main

    return CliRunner().invoke(main, list(args))


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CCKIT_HOME", "CCKIT_DATABASE_URL", "CCKIT_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("isolated")
def test_cli_db_status_and_upgrade_of_a_0_1_0_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    shutil.copyfile(SQLITE_FIXTURE, path)
    url = f"sqlite:///{path}"
    status = _cli("db", "status", "--db", url)
    assert status.exit_code == 0, status.output
    assert "made before schema versions" in status.output
    assert "cckit db upgrade" in status.output
    upgraded = _cli("db", "upgrade", "--db", url)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"stamped it {migrate.BASELINE}" in upgraded.output
    current = _cli("db", "current", "--db", url, "--format", "json")
    assert json.loads(current.output)["current"] == list(_heads())
    assert "Up to date." in _cli("db", "status", "--db", url).output
    assert "up to date" in _cli("db", "upgrade", "--db", url).output


@pytest.mark.usefixtures("isolated")
def test_cli_commands_upgrade_a_0_1_0_catalog_on_first_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "connector.migrate")
    path = tmp_path / "catalog.sqlite3"
    shutil.copyfile(SQLITE_FIXTURE, path)
    listed = _cli("catalog", "list", "--db", f"sqlite:///{path}", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)) == 3  # the active courses of the fixture
    assert _version(f"sqlite:///{path}") == _heads()
    (backup,) = tmp_path.glob("catalog.sqlite3.*.before-upgrade-from-0.1.0.bak")
    assert str(backup) in caplog.text  # the administrator is told where the copy went


@pytest.mark.usefixtures("isolated")
def test_cli_db_upgrade_creates_an_owner_only_catalog(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = _cli("db", "upgrade", "--home", str(home))
    assert created.exit_code == 0, created.output
    assert "Created the catalog schema" in created.output
    assert stat.S_IMODE((home / "catalog.sqlite3").stat().st_mode) == 0o600


READ_ONLY = [
    ("catalog", "list"),
    ("catalog", "show", "CRS-1"),
    ("runs", "list"),
    ("runs", "show", "1"),
    ("integrations", "list"),
    ("integrations", "show", "mock"),
]


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_refuse_a_home_that_does_not_exist(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    home = tmp_path / "hmoe"
    result = _cli(*command, "--home", str(home))
    assert result.exit_code == 1
    assert f"no connector home at {home}" in result.output
    assert "cckit integrations add" in result.output
    assert "Traceback" not in result.output
    assert not home.exists()


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_refuse_a_database_that_does_not_exist(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    path = tmp_path / "catlog.sqlite3"
    result = _cli(*command, "--db", f"sqlite:///{path}")
    assert result.exit_code == 1
    assert f"no catalog database at {path}" in result.output
    assert "cckit db upgrade" in result.output
    assert not path.exists()


def test_an_upgrade_on_first_use_names_the_backup_on_stderr(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "catalog.sqlite3"
    shutil.copyfile(SQLITE_FIXTURE, path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCKIT_")}
    args = ["catalog", "list", "--db", f"sqlite:///{path}", "--format", "json"]
    result = subprocess.run(
        [sys.executable, "-m", "cckit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 3
    (backup,) = tmp_path.glob("catalog.sqlite3.*.bak")
    assert result.stderr.strip() == (
        f"catalog schema of sqlite:///{path} upgraded from 0.1.0 (unversioned) to "
        f"{'/'.join(_heads())}; the previous file was copied to {backup}"
    )


def test_the_quick_head_reading_agrees_with_alembic(
    tmp_path: Path, scripts_with_next_revision: Path
) -> None:
    (tmp_path / "branch").mkdir()
    branched = tmp_path / "branch" / "migrations"
    shutil.copytree(scripts_with_next_revision, branched)
    (branched / "versions" / "vq001_queue.py").write_text(_SECOND_BRANCH, encoding="utf-8")
    for location in (SCRIPT_LOCATION, scripts_with_next_revision, branched):
        expected = set(migrate._script(location).get_heads())
        assert migrate._heads_of(location) == expected, location
    assert migrate._heads_of(branched) == {"9001", "q001"}


def test_opening_an_up_to_date_catalog_does_not_load_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    db.connect(url).dispose()
    code = (
        "import sys; from connector import db; db.connect(sys.argv[1]).dispose(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
