"""The catalog store: schema on first use, SQLite settings, transactions, upsert, UTC times.

The ``postgres`` test runs the same checks against PostgreSQL when
``CCKIT_TEST_POSTGRES_URL`` is set (e.g. ``postgresql+psycopg://user@localhost/cckit_test``).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector import db
from connector.config import Settings
from connector.errors import StoreError

TABLES = {
    "integrations",
    "courses",
    "package_versions",
    "sync_runs",
    "course_outcomes",
    "sync_locks",
}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = db.connect(f"sqlite:///{tmp_path / 'sub' / 'catalog.sqlite3'}")
    yield eng
    eng.dispose()


def _integration(conn: sa.Connection, name: str = "tts") -> int:
    now = db.utcnow()
    result = conn.execute(
        sa.insert(db.integrations).values(
            name=name,
            provider="TTS",
            provider_url="https://vendor.example/courses",
            auth_url="https://vendor.example/token",
            client_id="cid",
            client_secret_encrypted="x",
            sync_time="03:00",
            created_at=now,
            updated_at=now,
        )
    )
    return int(result.inserted_primary_key[0])


def _course(integration_id: int, vendor_id: str, title: str) -> dict[str, object]:
    now = db.utcnow()
    return {
        "integration_id": integration_id,
        "vendor_id": vendor_id,
        "title": title,
        "languages": ["en-US"],
        "subjects": [],
        "keywords": [],
        "localization": [],
        "protected_fields": [],
        "created_at": now,
        "updated_at": now,
    }


def test_schema_created_on_first_use_with_parent_directory(tmp_path: Path) -> None:
    settings = Settings.resolve(home=tmp_path / "home", environ={})
    eng = db.connect(settings)
    try:
        assert set(sa.inspect(eng).get_table_names()) >= TABLES
        assert (tmp_path / "home" / "catalog.sqlite3").is_file()
        # Connecting again to an existing database is harmless.
        db.connect(settings).dispose()
    finally:
        eng.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS


def test_failed_transaction_leaves_no_half_write(engine: Engine) -> None:
    with engine.begin() as conn:
        iid = _integration(conn)

    class Boom(Exception):
        pass

    def half_write() -> None:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(db.courses), [_course(iid, "C1", "one"), _course(iid, "C2", "two")]
            )
            conn.execute(sa.update(db.integrations).values(provider="changed"))
            raise Boom

    with pytest.raises(Boom):
        half_write()

    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.courses)).scalar() == 0
        assert conn.execute(sa.select(db.integrations.c.provider)).scalar() == "TTS"


def test_constraint_violation_rolls_back_the_whole_batch(engine: Engine) -> None:
    with engine.begin() as conn:
        iid = _integration(conn)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(db.courses), [_course(iid, "C1", "one"), _course(iid, "C1", "dup")])
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.courses)).scalar() == 0


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(db.courses), [_course(999, "C1", "orphan")])


def _check_upsert(eng: Engine) -> None:
    with eng.begin() as conn:
        iid = _integration(conn, f"up-{uuid.uuid4().hex[:8]}")
        db.upsert(
            conn,
            db.courses,
            [_course(iid, "C1", "first"), _course(iid, "C2", "second")],
            index_elements=["integration_id", "vendor_id"],
        )
    with eng.begin() as conn:
        db.upsert(
            conn,
            db.courses,
            [_course(iid, "C1", "renamed"), _course(iid, "C3", "third")],
            index_elements=["integration_id", "vendor_id"],
            update_columns=["title"],
        )
        # An empty update list means "insert if absent".
        db.upsert(
            conn,
            db.courses,
            [_course(iid, "C2", "ignored")],
            index_elements=["integration_id", "vendor_id"],
            update_columns=[],
        )
    with eng.connect() as conn:
        rows = conn.execute(
            sa.select(db.courses.c.vendor_id, db.courses.c.title)
            .where(db.courses.c.integration_id == iid)
            .order_by(db.courses.c.vendor_id)
        ).all()
    assert [tuple(r) for r in rows] == [("C1", "renamed"), ("C2", "second"), ("C3", "third")]


def _check_utc_roundtrip(eng: Engine) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    when = dt.datetime(2026, 11, 26, 10, 0, 0, 123000, tzinfo=paris)
    with eng.begin() as conn:
        iid = _integration(conn, f"tz-{uuid.uuid4().hex[:8]}")
        conn.execute(
            sa.update(db.integrations)
            .where(db.integrations.c.id == iid)
            .values(last_success_started_at=when)
        )
    with eng.connect() as conn:
        stored = conn.execute(
            sa.select(db.integrations.c.last_success_started_at).where(db.integrations.c.id == iid)
        ).scalar_one()
    assert stored == when
    assert stored.utcoffset() == dt.timedelta(0)
    assert stored.hour == 9


def test_upsert_inserts_and_updates_selected_columns(engine: Engine) -> None:
    _check_upsert(engine)


def test_utc_datetime_round_trips_aware_values(engine: Engine) -> None:
    _check_utc_roundtrip(engine)


def test_json_columns_round_trip_what_the_fast_encoder_refuses(engine: Engine) -> None:
    # A vendor's course object is stored whole; an integer past 64 bits in an unknown
    # field must not fail the batch (orjson refuses it, the standard library does not).
    raw = {
        "ID": "C1",
        "Big": 123456789012345678901234567890,
        "Title": "Caf\u00e9 \u2603",
        "Nested": {"a": [1.5, None]},
    }
    with engine.begin() as conn:
        iid = _integration(conn)
        conn.execute(sa.insert(db.courses).values({**_course(iid, "C1", "t"), "raw": raw}))
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(db.courses.c.raw).where(db.courses.c.vendor_id == "C1")
        ).scalar_one()
    assert stored == raw


def test_naive_datetime_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        iid = _integration(conn)
    naive = sa.update(db.integrations).where(db.integrations.c.id == iid)
    naive = naive.values(last_success_started_at=dt.datetime(2026, 1, 1))
    with engine.begin() as conn, pytest.raises(sa.exc.StatementError, match="naive datetime"):
        conn.execute(naive)


def test_missing_driver_is_a_clear_store_error() -> None:
    # psycopg2 is not a dependency: only psycopg 3 (the postgres extra) is.
    with pytest.raises(StoreError, match="not installed") as info:
        db.connect("postgresql+psycopg2://u:s3cr3tpw@localhost/x")
    assert "s3cr3tpw" not in str(info.value)


def test_unknown_dialect_is_a_store_error_without_password() -> None:
    with pytest.raises(StoreError, match="cannot use database") as info:
        db.connect("nosuchdb+driver://u:s3cr3tpw@localhost/x")
    assert "s3cr3tpw" not in str(info.value)


def test_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot"):
        db.connect("sqlite:////proc/definitely/not/here/catalog.sqlite3")


@pytest.mark.postgres
def test_postgresql_schema_transactions_and_upsert() -> None:
    url = os.environ.get("CCKIT_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set CCKIT_TEST_POSTGRES_URL to run the PostgreSQL store test")
    pytest.importorskip("psycopg", reason="install the 'postgres' extra")
    eng = db.connect(url)
    try:
        assert set(sa.inspect(eng).get_table_names()) >= TABLES
        _check_upsert(eng)
        _check_utc_roundtrip(eng)
        name = f"rb-{uuid.uuid4().hex[:8]}"

        def aborted() -> None:
            with eng.begin() as conn:
                _integration(conn, name)
                raise RuntimeError("abort")

        with pytest.raises(RuntimeError):
            aborted()
        with eng.connect() as conn:
            assert (
                conn.execute(
                    sa.select(db.integrations.c.id).where(db.integrations.c.name == name)
                ).first()
                is None
            )
    finally:
        eng.dispose()


@pytest.mark.postgres
@pytest.mark.live
def test_postgresql_catalog_through_a_metadata_sync(live_vendor: object, tmp_path: Path) -> None:
    url = os.environ.get("CCKIT_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set CCKIT_TEST_POSTGRES_URL to run the PostgreSQL store test")
    pytest.importorskip("psycopg", reason="install the 'postgres' extra")
    from connector import catalog
    from connector import integrations
    from connector.sync import SyncOptions
    from connector.sync import sync

    vendor: Any = live_vendor
    settings = Settings.resolve(home=tmp_path, db_url=url, environ={})
    eng = db.connect(settings)
    name = f"pg-{uuid.uuid4().hex[:8]}"
    try:
        item = integrations.add(
            eng,
            settings,
            name=name,
            provider="Mock",
            provider_url=vendor.course_list_url,
            auth_url=vendor.auth_url,
            client_id=vendor.client_id,
            client_secret=vendor.client_secret,
            sync_time="03:00",
        )
        metadata_only = SyncOptions(download_packages=False)
        first = sync(eng, settings, item, options=metadata_only)
        active = {c["ID"] for c in vendor.admin.courses() if c["IsActive"]}
        assert first.status == "succeeded"
        assert first.counts["new"] == len(active)
        assert {c["id"] for c in catalog.list_courses(eng, integration=name)} == active
        second = sync(eng, settings, integrations.get(eng, settings, name), options=metadata_only)
        assert second.status == "succeeded"
        assert second.counts["new"] == second.counts["updated"] == 0
        assert integrations.get(eng, settings, name).last_success_started_at == second.started_at
    finally:
        integrations.remove(eng, settings, name)
        eng.dispose()


def test_concurrent_read_then_write_transactions_wait_instead_of_failing(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE + busy_timeout: writers from several engines serialise cleanly."""
    import threading

    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    setup = db.connect(url)
    with setup.begin() as conn:
        iid = _integration(conn)
    setup.dispose()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        eng = db.connect(url)
        try:
            for i in range(15):
                with eng.begin() as conn:
                    # Read, then write in the same transaction: the pattern that fails with
                    # "database is locked" under pysqlite's deferred transactions.
                    count = conn.execute(
                        sa.select(sa.func.count()).select_from(db.courses)
                    ).scalar()
                    conn.execute(
                        sa.insert(db.courses).values(**_course(iid, f"W{n}-{i}", f"after {count}"))
                    )
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    check = db.connect(url)
    with check.connect() as conn:
        titles = conn.execute(sa.select(db.courses.c.title)).scalars().all()
    check.dispose()
    assert len(titles) == 60
    # Each transaction saw every earlier commit: the counts it read are all distinct.
    assert sorted(int(t.split()[1]) for t in titles) == list(range(60))


def test_unparseable_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        db.connect("::not a url::")
    assert db.safe_url("::not a url::") == "<unparseable database URL>"
    assert "pw" not in db.safe_url("postgresql+psycopg://u:pw@h/d")
