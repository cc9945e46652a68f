"""The procrastinate side of the distributed mode: connection, app, schema, job names.

Jobs live in the catalog's own PostgreSQL database (procrastinate's tables next to
ours), so a job is enqueued in the same transaction as the catalog write that needs it:
:func:`defer_in` takes an open SQLAlchemy connection and defers through its psycopg
connection. Only this package imports procrastinate; the single-machine path (SQLite,
``cckit sync``, ``cckit scheduler run``) never loads it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url

from connector.errors import DistributedError

if TYPE_CHECKING:
    import procrastinate

#: Task names (stored in ``procrastinate_jobs.task_name``).
TASK_SYNC = "cckit.sync"
TASK_PACKAGE = "cckit.package"
#: Queues: a worker may serve only one of them (``cckit worker --queue packages``).
QUEUE_SYNCS = "syncs"
QUEUE_PACKAGES = "packages"
QUEUES = (QUEUE_SYNCS, QUEUE_PACKAGES)

_EXTRA_HINT = "install the 'distributed' extra: pip install 'catalog-connector-kit[distributed]'"


def sync_lock(integration_id: int) -> str:
    """Lock and queueing lock of an integration's sync job: one at a time, one queued."""
    return f"sync:{integration_id}"


def course_lock(integration_id: int, vendor_id: str) -> str:
    """Lock of a course's package jobs: they publish one after the other."""
    return f"course:{integration_id}:{vendor_id}"


def conninfo(database_url: str) -> str:
    """The libpq connection string of a ``postgresql+psycopg://`` catalog URL.

    Raises:
        DistributedError: the catalog is not PostgreSQL (one line, no password shown).
    """
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend != "postgresql":
        raise DistributedError(
            f"the distributed mode needs a PostgreSQL catalog (--db or CCKIT_DATABASE_URL "
            f"= postgresql+psycopg://user@host/dbname); this catalog is {backend}"
        )
    psycopg_conninfo = _module("psycopg.conninfo")
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
    }
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else ",".join(value)
    text: str = psycopg_conninfo.make_conninfo(
        **{k: str(v) for k, v in params.items() if v is not None}
    )
    return text


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        package = name.split(".")[0]
        raise DistributedError(f"the distributed mode needs {package}: {_EXTRA_HINT}") from None


def worker_app(database_url: str) -> procrastinate.App:
    """An app for ``cckit worker``: an async connection pool that survives restarts.

    procrastinate's pool checks a connection before lending it, so after a PostgreSQL
    restart the broken ones are replaced instead of failing the next job.
    """
    procrastinate_mod = _module("procrastinate")
    connector = procrastinate_mod.PsycopgConnector(
        conninfo=conninfo(database_url),
        min_size=1,
        max_size=8,
    )
    app: procrastinate.App = procrastinate_mod.App(connector=connector)
    from connector.jobs import tasks

    tasks.register(app)
    return app


def defer_app(database_url: str) -> procrastinate.App:
    """An app that only defers, on a connection the caller passes (no pool is opened)."""
    procrastinate_mod = _module("procrastinate")
    connector = procrastinate_mod.SyncPsycopgConnector(conninfo=conninfo(database_url))
    app: procrastinate.App = procrastinate_mod.App(connector=connector)
    return app


@dataclass(frozen=True)
class NewJob:
    """One job to defer: task, queue, locks and arguments (JSON)."""

    task: str
    queue: str
    kwargs: dict[str, Any]
    lock: str | None = None
    queueing_lock: str | None = None


def defer_in(conn: Connection, app: procrastinate.App, new_jobs: Sequence[NewJob]) -> list[int]:
    """Defer ``new_jobs`` inside ``conn``'s transaction (one statement); returns their IDs.

    Raises:
        procrastinate.exceptions.AlreadyEnqueued: a job with the same queueing lock waits
            (the caller's transaction is then unusable: roll it back).
    """
    if not new_jobs:
        return []
    jobs_mod = _module("procrastinate.jobs")
    jobs = [
        jobs_mod.Job(
            queue=item.queue,
            lock=item.lock,
            queueing_lock=item.queueing_lock,
            task_name=item.task,
            task_kwargs=item.kwargs,
        )
        for item in new_jobs
    ]
    driver = conn.connection.driver_connection
    deferred = app.job_manager.batch_defer_jobs(jobs=jobs, connection=driver)
    return [int(job.id) for job in deferred if job.id is not None]


# -- schema ------------------------------------------------------------------------------


def procrastinate_schema_sql() -> str:
    """The schema procrastinate ships as package data (its tables, types, functions)."""
    schema_mod = _module("procrastinate.schema")
    sql: str = schema_mod.SchemaManager.get_schema()
    return sql


def apply_procrastinate_schema(conn: Connection) -> bool:
    """Create procrastinate's tables in ``conn``'s transaction when they are missing.

    The shipped SQL is not idempotent, so it is applied only to a database that has no
    ``procrastinate_jobs`` yet; SQLite databases are left alone (no distributed mode).
    Our Alembic revision calls this; tests call it on a fresh database.

    Returns:
        True when the schema was applied now.
    """
    if conn.dialect.name != "postgresql":
        return False
    if has_procrastinate_schema(conn):
        return False
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cursor:
        # No parameters: the SQL (with its % signs) is sent as it is.
        cursor.execute(procrastinate_schema_sql())
    return True


def has_procrastinate_schema(conn: Connection) -> bool:
    """True when procrastinate's job table exists in this database."""
    found = conn.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar()
    return found is not None


def ensure_schema(engine: Engine) -> None:
    """Apply procrastinate's schema once per database (safe when several workers start).

    A transaction-scoped advisory lock makes concurrent callers wait for the first, which
    applies it; the others then find it. (The Alembic revision of the catalog calls
    :func:`apply_procrastinate_schema` too, so a migrated database is already complete.)

    Raises:
        DistributedError: the catalog is not PostgreSQL.
    """
    from connector.migrate import PG_LOCK_KEY

    if engine.dialect.name != "postgresql":
        conninfo(str(engine.url))  # raises the one-line refusal
    with engine.begin() as conn:
        # The catalog's schema lock: waits for a migration or another worker's start.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        apply_procrastinate_schema(conn)
