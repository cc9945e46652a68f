"""The catalog store: SQLAlchemy 2.x Core tables, engine creation and upsert helper.

The schema is created, or upgraded to this release's revision, on first use by
:func:`connect` (Alembic, :mod:`connector.migrate`); the tables below must always equal
the newest revision in ``connector/migrations/versions/``. Code that writes uses
``with engine.begin() as conn:`` so that a failure rolls the whole transaction back and
never leaves a half write. The same code runs on SQLite (default) and PostgreSQL
(``postgresql+psycopg://...``, the ``postgres`` extra); dialect differences are confined
to this module (:func:`insert_for`, :func:`upsert`).

Date-time columns use :class:`UTCDateTime`: bind timezone-aware datetimes, get
timezone-aware UTC datetimes back, on every backend.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.exc import SQLAlchemyError

from connector.config import Settings
from connector.errors import StoreError

#: Milliseconds an SQLite connection waits for a lock held by another process.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Mode of a new SQLite catalog file (and of its -wal/-shm files, which SQLite gives the
#: database's mode): owner only. It holds the integrations (secrets encrypted) and the
#: catalog; a web server serving content needs none of it.
SQLITE_FILE_MODE = 0o600


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (UTC).

    SQLite has no time-zone-aware type, so values are stored as naive UTC there;
    PostgreSQL stores ``timestamptz``. Naive datetimes are refused on the way in, because
    guessing their zone is how watermarks drift.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):  # pragma: no cover - driver contract
            raise TypeError(f"unexpected value {type(value).__name__} in a timestamp column")
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


def _new_uid() -> str:
    return uuid.uuid4().hex


def _name_key(context: Any) -> str:
    """Default of ``integrations.name_key``: the case-folded name being inserted."""
    return str(context.get_current_parameters()["name"]).casefold()


metadata = sa.MetaData()

integrations = sa.Table(
    "integrations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    # Immutable identity: content folders are keyed by it, so a rename or a new
    # integration reusing an old name never shares folders with another one.
    sa.Column("uid", sa.String(32), nullable=False, unique=True, default=_new_uid),
    # casefold(name): names are unique case-insensitively (content on a
    # case-insensitive disk, and "mock" vs "MOCK" in an admin's head).
    sa.Column("name_key", sa.String(100), nullable=False, unique=True, default=_name_key),
    sa.Column("provider", sa.String(200), nullable=False),
    sa.Column("provider_url", sa.String(2000), nullable=False),
    sa.Column("auth_url", sa.String(2000), nullable=True),
    sa.Column("client_id", sa.String(500), nullable=False),
    sa.Column("client_secret_encrypted", sa.Text, nullable=False),
    sa.Column("auth_mode", sa.String(10), nullable=False, server_default="oauth2"),
    sa.Column("sync_time", sa.String(5), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("full_every_days", sa.Integer, nullable=False, server_default="7"),
    # Hosts a DownloadPackageUrl on another origin may name (a CDN); none by default.
    sa.Column("allowed_package_hosts", sa.JSON, nullable=False, default=list),
    # Per-integration overrides of the network and size limits (connector.limits).
    sa.Column("limits", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_success_started_at", UTCDateTime, nullable=True),
    sa.Column("last_full_sync_at", UTCDateTime, nullable=True),
)

courses = sa.Table(
    "courses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "integration_id",
        sa.Integer,
        sa.ForeignKey("integrations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("vendor_id", sa.String(50), nullable=False),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("course_type", sa.String(20), nullable=False, server_default="AICC"),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("languages", sa.JSON, nullable=False),
    sa.Column("duration", sa.String(20), nullable=True),
    sa.Column("thumbnail", sa.String(2000), nullable=True),
    sa.Column("subjects", sa.JSON, nullable=False),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("version", sa.String(100), nullable=True),
    sa.Column("localization", sa.JSON, nullable=False),
    sa.Column("vendor_last_modified", UTCDateTime, nullable=True),
    sa.Column("vendor_package_last_modified", UTCDateTime, nullable=True),
    sa.Column("protected_fields", sa.JSON, nullable=False),
    sa.Column("missing_from_vendor", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("missing_since", UTCDateTime, nullable=True),
    # The retry set: a course whose last attempt failed (package or metadata) is
    # re-attempted by later runs even when the incremental list does not name it.
    sa.Column("failing_since", UTCDateTime, nullable=True),
    sa.Column("failure_reason", sa.Text, nullable=True),
    sa.Column("failure_rules", sa.JSON, nullable=True),
    sa.Column("retry_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_retry_at", UTCDateTime, nullable=True),
    # No foreign key: courses <-> package_versions would be a cycle, which SQLite cannot
    # add with ALTER; the sync sets it in the same transaction as the version row.
    sa.Column("current_package_id", sa.Integer, nullable=True),
    sa.Column("raw", sa.JSON, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("integration_id", "vendor_id", name="uq_courses_integration_vendor"),
)

package_versions = sa.Table(
    "package_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "course_id", sa.Integer, sa.ForeignKey("courses.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("stored_path", sa.String(4000), nullable=False),
    sa.Column("aicc_summary", sa.JSON, nullable=True),
    sa.Column("package_last_modified", UTCDateTime, nullable=True),
    sa.Column("downloaded_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("course_id", "sha256", name="uq_package_versions_course_sha256"),
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "integration_id",
        sa.Integer,
        sa.ForeignKey("integrations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    # running | succeeded | partial | failed | interrupted | abandoned (see connector.runs)
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("full", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("if_modified_since", UTCDateTime, nullable=True),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
    sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
    sa.Column("downloads", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=True),
    # Refreshed with the lock's heartbeat: when a process dies, the run is closed as
    # abandoned at this time, not at the next run's start.
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),
    sa.Index("ix_sync_runs_integration_started", "integration_id", "started_at"),
)

course_outcomes = sa.Table(
    "course_outcomes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id", sa.Integer, sa.ForeignKey("sync_runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("vendor_id", sa.String(200), nullable=False),
    # new | updated | unchanged | deactivated | failed | missing
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("rule_ids", sa.JSON, nullable=False),
    sa.Index("ix_course_outcomes_run", "run_id"),
)

#: A run whose packages are fanned out as jobs (``connector.jobs``, distributed mode):
#: ``pending`` counts the package jobs not yet finished plus one for the list job; the
#: job that brings it to zero closes the run. ``counts``/``downloads`` are the package
#: jobs' share, added to the run row's own when it is closed.
run_packages = sa.Table(
    "run_packages",
    metadata,
    sa.Column(
        "run_id",
        sa.Integer,
        sa.ForeignKey("sync_runs.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("sync_job_id", sa.BigInteger, nullable=True),
    sa.Column("pending", sa.Integer, nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("downloads", sa.Integer, nullable=False, server_default="0"),
)

sync_locks = sa.Table(
    "sync_locks",
    metadata,
    sa.Column(
        "integration_id",
        sa.Integer,
        sa.ForeignKey("integrations.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("run_id", sa.Integer, nullable=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
)


def safe_url(url: str) -> str:
    """``url`` with its password masked, or a placeholder when it cannot be parsed."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _sqlite_file(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            "not a database URL (expected e.g. sqlite:///path/catalog.sqlite3 or "
            "postgresql+psycopg://user@host/dbname)"
        ) from None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout and real ``BEGIN IMMEDIATE`` transactions.

    pysqlite's own transaction handling starts transactions lazily and never for
    ``SELECT``, so a read-then-write transaction could be upgraded too late and fail with
    "database is locked" without waiting. Taking the write lock at ``BEGIN`` makes
    concurrent writers (another sync, the CLI) wait up to the busy timeout instead.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _json_text(value: Any) -> str:
    """Serialise a JSON column's value (compact, UTF-8).

    orjson refuses what the standard library accepts from a vendor's JSON, such as an
    integer beyond 64 bits in an unknown field of a course object: such values take the
    standard library's path rather than failing the batch.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def create_engine(url: str, *, create: bool = True) -> Engine:
    """Create an engine for ``url`` configured for the catalog (no schema work).

    Args:
        url: SQLAlchemy database URL.
        create: Create a missing SQLite file (mode :data:`SQLITE_FILE_MODE`) and its
            directory; when false a missing file is refused.

    Returns:
        The engine.

    Raises:
        StoreError: The URL names a driver that is not installed, the SQLite file is
            missing (``create=False``), or it or its directory cannot be created.
    """
    sqlite_path = _sqlite_file(url)
    if sqlite_path is not None:
        if create:
            _create_sqlite_file(sqlite_path)
        elif not sqlite_path.is_file():
            raise StoreError(
                f"no catalog database at {sqlite_path} (check --home/CCKIT_HOME or "
                "--db/CCKIT_DATABASE_URL); create one with `cckit db upgrade` or by adding "
                "an integration"
            )
    try:
        engine = sa.create_engine(
            url,
            pool_pre_ping=sqlite_path is None,
            # Reads keep the standard library: orjson would turn an integer past 64 bits
            # into a float without a word.
            json_serializer=_json_text,
        )
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the database driver {exc.name!r} is not installed; for PostgreSQL install the "
            "'postgres' extra: pip install 'catalog-connector-kit[postgres]'"
        ) from None
    except (SQLAlchemyError, ValueError) as exc:
        raise StoreError(f"cannot use database {safe_url(url)}: {_short(exc)}") from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _create_sqlite_file(path: Path) -> None:
    """Create ``path`` (an empty file is an empty SQLite database) with the catalog's mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create {path.parent}: {exc.strerror}") from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE)
    except FileExistsError:
        return  # an existing catalog keeps the mode its administrator gave it
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, SQLITE_FILE_MODE)  # whatever the umask
    finally:
        os.close(fd)


def connect(settings_or_url: Settings | str, *, create: bool = True) -> Engine:
    """Open the catalog database, creating or upgrading its schema on first use.

    A database at an older revision is upgraded (an SQLite file is copied aside first,
    see :mod:`connector.migrate`); a catalog made before migrations is recognised.

    Args:
        settings_or_url: Resolved settings (their ``database_url``) or a URL.
        create: Create the database and schema when there is none; read-only commands
            pass false so that a mistyped home or URL is refused, not made into an empty
            catalog.

    Returns:
        An engine; use ``engine.begin()`` for each transaction.

    Raises:
        StoreError: The database cannot be reached, does not exist (``create=False``),
            or its schema cannot be created or upgraded.
    """
    from connector import migrate  # Alembic is loaded only when a database is opened

    url = settings_or_url if isinstance(settings_or_url, str) else settings_or_url.database_url
    engine = create_engine(url, create=create)
    try:
        migrate.ensure_schema(engine, create=create)
    except StoreError:
        engine.dispose()
        raise
    return engine


def _short(exc: Exception) -> str:
    """The first line of a driver error, without the SQL statement and parameters."""
    original = getattr(exc, "orig", None)
    text = str(original) if original is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def insert_for(conn: Connection | Engine, table: sa.Table) -> Any:
    """Return the dialect-specific ``INSERT`` construct for ``table``.

    Both SQLite's and PostgreSQL's inserts offer ``on_conflict_do_update`` and
    ``on_conflict_do_nothing`` with the same signature.

    Args:
        conn: The connection (or engine) the statement will run on.
        table: The table to insert into.

    Returns:
        A ``sqlite.Insert`` or ``postgresql.Insert``.

    Raises:
        StoreError: The database is neither SQLite nor PostgreSQL.
    """
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise StoreError(f"unsupported database dialect {name!r} (use SQLite or PostgreSQL)")


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    index_elements: Iterable[str],
    update_columns: Iterable[str] | None = None,
) -> None:
    """Insert ``rows``, updating ``update_columns`` where ``index_elements`` conflict.

    Args:
        conn: Connection inside a transaction.
        table: Target table.
        rows: Rows as mappings of column name to value (all with the same keys).
        index_elements: Columns of the unique constraint that decides a conflict.
        update_columns: Columns overwritten on conflict; ``None`` means every given
            column except the conflict columns; an empty iterable means do nothing.
    """
    if not rows:
        return
    keys = list(index_elements)
    stmt = insert_for(conn, table)
    if update_columns is None:
        columns = [c for c in rows[0] if c not in keys]
    else:
        columns = list(update_columns)
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={c: stmt.excluded[c] for c in columns}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    conn.execute(stmt, [dict(r) for r in rows])


__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_FILE_MODE",
    "UTCDateTime",
    "connect",
    "course_outcomes",
    "courses",
    "create_engine",
    "insert_for",
    "integrations",
    "metadata",
    "package_versions",
    "safe_url",
    "sync_locks",
    "sync_runs",
    "upsert",
    "utcnow",
]
