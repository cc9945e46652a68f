"""The per-integration sync lock on SQLite, and on PostgreSQL when
``CCKIT_TEST_POSTGRES_URL`` is set (e.g. ``postgresql+psycopg://user@localhost/cckit_test``;
the tests drop and recreate the catalog tables there)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector import db
from connector import integrations
from connector import migrate
from connector.config import Settings
from connector.errors import SyncLockedError
from connector.lock import acquire


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    else:
        url = os.environ.get("CCKIT_TEST_POSTGRES_URL", "")
        if not url:
            pytest.skip("set CCKIT_TEST_POSTGRES_URL to run the PostgreSQL lock tests")
        fresh = db.create_engine(url)
        db.metadata.drop_all(fresh)
        with fresh.begin() as conn:  # and its schema version, so that connect() rebuilds it
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {migrate.VERSION_TABLE}")
        fresh.dispose()
    return Settings(home=tmp_path, database_url=url)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = db.connect(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def integration_id(engine: Engine, settings: Settings) -> int:
    return integrations.add(
        engine,
        settings,
        name="acme",
        provider="Acme",
        provider_url="https://vendor.example/courses",
        auth_url="https://vendor.example/token",
        client_id="id",
        client_secret="secret",
        sync_time="02:00",
    ).id


def test_second_acquire_is_refused_until_release(engine: Engine, integration_id: int) -> None:
    first = acquire(engine, integration_id, name="acme")
    first.set_run(41)
    with pytest.raises(SyncLockedError, match=r"integration 'acme'.*\(run 41\)"):
        acquire(engine, integration_id, name="acme")
    first.release()
    second = acquire(engine, integration_id, name="acme")
    second.release()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.sync_locks)).scalar() == 0


def test_stale_heartbeat_is_taken_over(engine: Engine, integration_id: int) -> None:
    old = acquire(engine, integration_id, heartbeat=False)
    with engine.begin() as conn:
        conn.execute(
            sa.update(db.sync_locks).values(heartbeat_at=db.utcnow() - dt.timedelta(hours=1))
        )
    new = acquire(engine, integration_id, stale_after=dt.timedelta(minutes=5))
    # The old holder notices on its next heartbeat and cannot remove the new lock.
    old.heartbeat()
    assert old.lost
    old.release()
    with pytest.raises(SyncLockedError):
        acquire(engine, integration_id)
    new.release()


def test_heartbeat_keeps_a_live_lock(engine: Engine, integration_id: int) -> None:
    held = acquire(engine, integration_id, heartbeat=False)
    with engine.begin() as conn:
        conn.execute(
            sa.update(db.sync_locks).values(heartbeat_at=db.utcnow() - dt.timedelta(minutes=4))
        )
    held.heartbeat()
    assert not held.lost
    with pytest.raises(SyncLockedError):
        acquire(engine, integration_id, stale_after=dt.timedelta(minutes=5))
    held.release()


def test_lock_of_a_dead_process_is_taken_over(
    engine: Engine, integration_id: int, settings: Settings
) -> None:
    # A child process takes the lock and exits without releasing (as after SIGKILL).
    code = (
        "import sys; from connector import db; from connector.lock import acquire\n"
        f"engine = db.connect({settings.database_url!r})\n"
        f"acquire(engine, {integration_id}, heartbeat=False)\n"
        "import os; os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.getcwd())
    with engine.connect() as conn:
        assert conn.execute(sa.select(db.sync_locks.c.owner)).scalar_one() is not None
    held = acquire(engine, integration_id)  # not stale by time, but its owner is gone
    held.release()


def test_concurrent_acquires_let_exactly_one_win(engine: Engine, integration_id: int) -> None:
    winners: list[object] = []
    losers: list[Exception] = []
    barrier = threading.Barrier(4)

    def contend() -> None:
        barrier.wait()
        try:
            winners.append(acquire(engine, integration_id, heartbeat=False))
        except SyncLockedError as exc:
            losers.append(exc)

    threads = [threading.Thread(target=contend) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert len(losers) == 3


def test_locks_are_per_integration(engine: Engine, settings: Settings, integration_id: int) -> None:
    other = integrations.add(
        engine,
        settings,
        name="other",
        provider="Other",
        provider_url="https://other.example/courses",
        auth_url="https://other.example/token",
        client_id="id",
        client_secret="secret",
        sync_time="03:00",
    ).id
    with acquire(engine, integration_id), acquire(engine, other):
        pass
