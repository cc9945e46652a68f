"""Schema migrations of the catalog database (Alembic), run safely on first use.

:func:`ensure_schema` is what :func:`connector.db.connect` calls on every open: one
query when the database is at the newest revision; otherwise it takes the schema lock,
looks again (another process may have just migrated), and then

* creates the schema on an empty database (unless told not to create one),
* recognises a catalog made before migrations existed (cckit 0.1.0's tables, no
  version table) and stamps it at the baseline revision,
* copies an existing SQLite file aside before running any revision on it, and
* runs the pending revisions in one transaction: a failure leaves the database as it was.

The lock: SQLite takes the database's write lock (``BEGIN IMMEDIATE``) for the whole
upgrade, so a second process waits (up to SCHEMA_WAIT_S) and then finds nothing to do;
PostgreSQL takes a transaction-level advisory lock (``pg_advisory_xact_lock``).
The revision scripts live in :mod:`connector.migrations`; the version is kept in the
table :data:`VERSION_TABLE`.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from connector.errors import StoreError
from connector.migrations import SCRIPT_LOCATION

_T = TypeVar("_T")

if TYPE_CHECKING:  # Alembic is imported only when the schema needs work (it is slow to load)
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

#: Table holding the schema's revision. Not Alembic's default ``alembic_version``: the
#: catalog may share a PostgreSQL database with an LMS that uses Alembic itself.
VERSION_TABLE = "cckit_schema_version"
#: The first revision: the schema of cckit 0.1.0.
BASELINE = "0001"
#: Tables of the baseline, by which an unversioned 0.1.0 catalog is recognised.
BASELINE_TABLES = frozenset(
    {"integrations", "courses", "package_versions", "sync_runs", "course_outcomes", "sync_locks"}
)
#: Key of the PostgreSQL advisory lock serialising schema upgrades ("cckit" in ASCII).
PG_LOCK_KEY = 0x63636B6974
#: Tables in the catalog's database that are not ours: the job queue's (procrastinate,
#: created by revision 0003 from procrastinate's own SQL). Schema comparisons skip them.
FOREIGN_TABLE_PREFIXES = ("procrastinate_",)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic ``include_name`` hook: leave the job queue's tables out of comparisons."""
    return not (type_ == "table" and name is not None and name.startswith(FOREIGN_TABLE_PREFIXES))


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands.

    Attributes:
        current: Revisions recorded in the version table (empty when there is none).
        heads: The newest revisions this installation knows.
        pending: Revisions an upgrade would run, oldest first.
        unversioned: Catalog tables exist but no version (made before migrations).
    """

    current: tuple[str, ...]
    heads: tuple[str, ...]
    pending: tuple[str, ...]
    unversioned: bool

    @property
    def up_to_date(self) -> bool:
        """Whether nothing needs to run."""
        return not self.pending and not self.unversioned

    @property
    def empty(self) -> bool:
        """Whether the database holds no catalog at all."""
        return not self.current and not self.unversioned


@dataclass(frozen=True)
class UpgradeResult:
    """What :func:`upgrade` did.

    Attributes:
        before: Revisions before the upgrade (``()`` for an empty or unversioned database).
        after: Revisions after it.
        applied: Revisions that ran, oldest first.
        stamped: An unversioned 0.1.0 catalog was stamped at the baseline.
        backup: Copy of the SQLite file taken before any revision ran, if one was.
    """

    before: tuple[str, ...]
    after: tuple[str, ...]
    applied: tuple[str, ...] = ()
    stamped: bool = False
    backup: Path | None = None

    @property
    def changed(self) -> bool:
        """Whether the database was changed."""
        return bool(self.applied) or self.stamped

    @property
    def created(self) -> bool:
        """Whether the schema was created in an empty database."""
        return bool(self.applied) and not self.before and not self.stamped


@functools.cache
def _script(location: Path) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(location))


def _config(location: Path, connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    # Config values are interpolated: a '%' in the path must be doubled.
    config.set_main_option("script_location", str(location).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def _current(conn: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return tuple(sorted(context.get_current_heads()))


def _status(conn: Connection, location: Path) -> SchemaStatus:
    script = _script(location)
    heads = tuple(sorted(script.get_heads()))
    current = _current(conn)
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = [r for r in current if r not in known]
    if unknown:
        raise StoreError(
            f"the catalog {_safe(conn.engine)} has schema revision {'/'.join(unknown)}, which "
            "this installation does not know (made by a newer cckit); upgrade cckit"
        )
    unversioned = False
    if not current:
        present = BASELINE_TABLES & set(sa.inspect(conn).get_table_names())
        if present and present != BASELINE_TABLES:
            missing = ", ".join(sorted(BASELINE_TABLES - present))
            raise StoreError(
                f"the database has some catalog tables but not {missing}, and no schema "
                "version: not a cckit catalog, or a damaged one (restore a backup)"
            )
        unversioned = bool(present)
    start = (BASELINE,) if unversioned else current
    # What is applied: the recorded revisions and their ancestors. Everything else is
    # pending, also on a second branch (another schema in the same database).
    applied = {rev.revision for head in start for rev in script.iterate_revisions(head, "base")}
    pending = [rev.revision for rev in script.walk_revisions() if rev.revision not in applied]
    return SchemaStatus(current, heads, tuple(reversed(pending)), unversioned)


def _recorded(conn: Connection) -> tuple[str, ...]:
    """The revisions in the version table (plain SQL; ``()`` when there is no table)."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return ()
    rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608
    return tuple(sorted(str(v) for v in rows.scalars()))


@functools.cache
def _heads_of(location: Path) -> frozenset[str]:
    """The newest revisions of the scripts, read with :mod:`ast` instead of Alembic.

    Only a shortcut: when it does not match the database, Alembic decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (location / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target, value = _assignment(node)
            if target == "revision" and isinstance(value, str):
                revisions.add(value)
            elif target == "down_revision" and isinstance(value, str):
                parents.add(value)
            elif target == "down_revision" and isinstance(value, tuple | list):
                parents.update(str(v) for v in value)  # a merge revision
    return frozenset(revisions - parents)


def _assignment(node: ast.stmt) -> tuple[str | None, object]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value = node.targets[0], node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target, value = node.target, node.value
    else:
        return None, None
    if not isinstance(target, ast.Name) or target.id not in ("revision", "down_revision"):
        return None, None
    try:
        return target.id, ast.literal_eval(value)
    except ValueError:
        return None, None


def status(engine: Engine, *, location: Path = SCRIPT_LOCATION) -> SchemaStatus:
    """Read where the schema of ``engine``'s database stands (changes nothing).

    Waits (up to :data:`SCHEMA_WAIT_S`) while another process upgrades it.

    Raises:
        StoreError: The database cannot be read or is not a cckit catalog.
    """
    return _waiting(engine, lambda: _status_once(engine, location))


def _status_once(engine: Engine, location: Path) -> SchemaStatus:
    try:
        with engine.connect() as conn:
            return _status(conn, location)
    except SQLAlchemyError as exc:
        if _is_busy(exc):
            raise _Busy from None
        raise StoreError(
            f"cannot open the catalog database {_safe(engine)}: {_short(exc)}"
        ) from None


#: How long opening a catalog waits while another process upgrades it. SQLite's own busy
#: timeout (30 s) is for ordinary writes; an upgrade of a large catalog on a loaded
#: machine can hold the write lock longer, and the waiting process then finds it done.
SCHEMA_WAIT_S = 600.0


class _Busy(Exception):
    """Another process holds the SQLite write lock (it may be upgrading the schema)."""


def _is_busy(exc: SQLAlchemyError) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def ensure_schema(
    engine: Engine, *, create: bool = True, location: Path = SCRIPT_LOCATION
) -> UpgradeResult:
    """Bring the schema to the newest revision when it is not there yet.

    Args:
        engine: The catalog database (from :func:`connector.db.create_engine`).
        create: Create the schema in an empty database; when false an empty database is
            refused (read-only commands must not create a catalog by accident).
        location: Directory of the revision scripts (tests use a copy).

    Returns:
        What was done (nothing, in the usual case).

    Raises:
        StoreError: The database is empty and ``create`` is false, is not a catalog,
            is newer than this installation, or a revision failed (nothing changed then),
            or another process held it locked for longer than :data:`SCHEMA_WAIT_S`.
    """
    return _waiting(engine, lambda: _ensure_schema_once(engine, create, location))


def _waiting(engine: Engine, attempt: Callable[[], _T]) -> _T:
    """``attempt()``, again every half second while another process holds the lock."""
    deadline = time.monotonic() + SCHEMA_WAIT_S
    while True:
        try:
            return attempt()
        except _Busy:
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"cannot open the catalog database {_safe(engine)}: another process "
                    f"held it locked for over {SCHEMA_WAIT_S:g} s"
                ) from None
            time.sleep(0.5)


def _ensure_schema_once(engine: Engine, create: bool, location: Path) -> UpgradeResult:
    try:
        with engine.connect() as conn:
            recorded = _recorded(conn)
    except SQLAlchemyError as exc:
        if _is_busy(exc):
            raise _Busy from None
        raise StoreError(
            f"cannot open the catalog database {_safe(engine)}: {_short(exc)}"
        ) from None
    if recorded and set(recorded) == _heads_of(location):
        return UpgradeResult(recorded, recorded)  # the usual case: Alembic not even loaded
    state = _status_once(engine, location)
    if state.up_to_date:
        return UpgradeResult(state.current, state.current)
    if state.empty and not create:
        raise StoreError(
            f"no catalog in the database {_safe(engine)}; create one with `cckit db upgrade` "
            "(or by adding an integration)"
        )
    return _upgrade_once(engine, location)


def upgrade(engine: Engine, *, location: Path = SCRIPT_LOCATION) -> UpgradeResult:
    """Run every pending revision under the schema lock (see the module docstring).

    Returns:
        What was done; :attr:`UpgradeResult.backup` names the SQLite copy if one was made.

    Raises:
        StoreError: The schema lock was not obtained, the database is newer than this
            installation, or a revision failed (the transaction is rolled back).
    """
    return _waiting(engine, lambda: _upgrade_once(engine, location))


def _upgrade_once(engine: Engine, location: Path) -> UpgradeResult:
    try:
        with _locked(engine) as conn:
            result = _upgrade_locked(conn, engine, location)
    except SQLAlchemyError as exc:
        if _is_busy(exc):
            raise _Busy from None
        raise StoreError(
            f"cannot upgrade the catalog schema of {_safe(engine)}: {_short(exc)}"
        ) from None
    if result.created:
        log.info(
            "catalog schema created in %s (revision %s)", _safe(engine), "/".join(result.after)
        )
    elif result.applied:
        where = f"; the previous file was copied to {result.backup}" if result.backup else ""
        log.warning(
            "catalog schema of %s upgraded from %s to %s%s",
            _safe(engine),
            "/".join(result.before) or "0.1.0 (unversioned)",
            "/".join(result.after),
            where,
        )
    return result


def _upgrade_locked(conn: Connection, engine: Engine, location: Path) -> UpgradeResult:
    from alembic import command

    state = _status(conn, location)  # again: another process may have migrated meanwhile
    if state.up_to_date:
        return UpgradeResult(state.current, state.current)
    config = _config(location, conn)
    backup = None
    if state.pending and not state.empty:
        backup = _backup_sqlite(engine, state)
    if state.unversioned:
        command.stamp(config, BASELINE)
    if state.pending:
        command.upgrade(config, "heads")
    _check_foreign_keys(conn)
    return UpgradeResult(
        state.current,
        _current(conn),
        applied=state.pending,
        stamped=state.unversioned,
        backup=backup,
    )


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction holding the schema lock; commits on success."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            raw = conn.connection.dbapi_connection
            assert raw is not None
            # A table copy (batch ALTER) drops the old table: with foreign keys on, that
            # would cascade-delete the rows referring to it. Only settable outside BEGIN.
            raw.execute("PRAGMA foreign_keys = OFF")
            try:
                with conn.begin():  # BEGIN IMMEDIATE (connector.db): the write lock
                    yield conn
            finally:
                raw.execute("PRAGMA foreign_keys = ON")
        else:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
                    conn.execute(lock, {"key": PG_LOCK_KEY})
                yield conn


def _check_foreign_keys(conn: Connection) -> None:
    """Refuse (roll back) an upgrade that left a dangling reference (SQLite)."""
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL checks every constraint as the revision runs
    problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        tables = ", ".join(sorted({str(row[0]) for row in problems}))
        raise StoreError(f"the schema upgrade would leave dangling references in {tables}")


def _backup_sqlite(engine: Engine, state: SchemaStatus) -> Path | None:
    """Copy an SQLite catalog file aside (mode 0600) before a revision changes it."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    source = Path(database)
    if database.startswith("file:") or not source.is_file():
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    before = "-".join(state.current) or "0.1.0"
    target = source.with_name(f"{source.name}.{stamp}.before-upgrade-from-{before}.bak")
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        # The upgrading connection holds only the write lock: readers (this copy) pass.
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(
            f"cannot copy {source} to {target} before upgrading its schema: {exc}; "
            "nothing was changed"
        ) from None
    return target


def _safe(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _short(exc: Exception) -> str:
    original = getattr(exc, "orig", None)
    text = str(original) if original is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


__all__ = [
    "BASELINE",
    "BASELINE_TABLES",
    "VERSION_TABLE",
    "SchemaStatus",
    "UpgradeResult",
    "ensure_schema",
    "status",
    "upgrade",
]
