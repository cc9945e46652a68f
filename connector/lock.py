"""A per-integration sync lock that works on SQLite and PostgreSQL.

The lock is a row of ``sync_locks`` (primary key ``integration_id``) claimed with an
``INSERT`` inside a transaction: the database's unique constraint decides the winner, so
no advisory-lock feature of one backend is needed. The holder refreshes ``heartbeat_at``
from a daemon thread; a row whose heartbeat is older than ``stale_after`` (its process
was SIGKILLed or lost power), or whose owner is a dead process on this host, is taken
over, so a crashed run never blocks the integration forever.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import SQLAlchemyError

from connector import db
from connector.errors import SyncLockedError

__all__ = ["DEFAULT_STALE_AFTER", "SyncLock", "acquire"]

log = logging.getLogger(__name__)

#: A lock whose heartbeat is older than this is considered abandoned.
DEFAULT_STALE_AFTER = dt.timedelta(minutes=5)


def _owner_string(tag: str | None = None) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{tag or uuid.uuid4().hex[:12]}"


def _same_tag(owner: str, tag: str | None) -> bool:
    """True when ``owner`` was written by a holder with this ``tag`` (e.g. a retried job)."""
    return tag is not None and owner.split(":", 2)[-1] == tag


def _owner_is_dead(owner: str) -> bool:
    """True when ``owner`` names a process of this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # ourselves: a second run in this process is a real conflict
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, belongs to someone else
        return False
    return False


class SyncLock:
    """A held lock; release it with :meth:`release` or use it as a context manager.

    Attributes:
        integration_id: the locked integration.
        owner: ``host:pid:token`` of this holder.
        lost: set when a heartbeat found the row gone or taken over.
    """

    def __init__(self, engine: Engine, integration_id: int, owner: str, stale_after: dt.timedelta):
        self.engine = engine
        self.integration_id = integration_id
        self.owner = owner
        self.lost = False
        self.run_id: int | None = None
        self._stale_after = stale_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"SyncLock(integration_id={self.integration_id}, owner={self.owner!r})"

    def _mine(self) -> sa.ColumnElement[bool]:
        table = db.sync_locks
        return sa.and_(table.c.integration_id == self.integration_id, table.c.owner == self.owner)

    def set_run(self, run_id: int) -> None:
        """Record the run that holds the lock (shown to a run that finds it locked)."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(db.sync_locks).where(self._mine()).values(run_id=run_id))
        self.run_id = run_id

    def heartbeat(self) -> None:
        """Refresh ``heartbeat_at``; sets :attr:`lost` when the row is no longer ours."""
        try:
            now = db.utcnow()
            with self.engine.begin() as conn:
                result = conn.execute(
                    sa.update(db.sync_locks).where(self._mine()).values(heartbeat_at=now)
                )
                if result.rowcount and self.run_id is not None:
                    # The run's own heartbeat: an abandoned run is closed at this time.
                    conn.execute(
                        sa.update(db.sync_runs)
                        .where(db.sync_runs.c.id == self.run_id, db.sync_runs.c.status == "running")
                        .values(heartbeat_at=now)
                    )
            if result.rowcount == 0:
                self.lost = True
                log.warning("sync lock of integration %d was lost", self.integration_id)
        except SQLAlchemyError as exc:  # a busy database must not kill the run
            log.warning("sync lock heartbeat failed: %s", type(exc).__name__)

    def start_heartbeat(self) -> None:
        """Start the daemon thread that refreshes the heartbeat."""
        interval = max(self._stale_after.total_seconds() / 4, 0.05)

        def beat() -> None:
            while not self._stop.wait(interval):
                self.heartbeat()

        self._thread = threading.Thread(target=beat, name="cckit-sync-lock", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and delete the lock row (only if it is still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(db.sync_locks).where(self._mine()))
        except SQLAlchemyError as exc:
            # Never mask the run's own error; the row goes stale and is taken over.
            log.warning(
                "could not release the sync lock of integration %d: %s",
                self.integration_id,
                type(exc).__name__,
            )

    def __enter__(self) -> SyncLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire(
    engine: Engine,
    integration_id: int,
    *,
    name: str | None = None,
    stale_after: dt.timedelta = DEFAULT_STALE_AFTER,
    heartbeat: bool = True,
    tag: str | None = None,
) -> SyncLock:
    """Claim the sync lock of one integration.

    Args:
        engine: the catalog database.
        integration_id: the integration to lock.
        name: the integration's name (for the error message).
        stale_after: age of a heartbeat after which a lock is taken over.
        heartbeat: start the heartbeat thread (tests may drive :meth:`SyncLock.heartbeat`).
        tag: names the holder across processes (``job-<id>`` for a queued sync job): a
            lock left by the same tag is taken over at once, because a job runs again
            only after the queue found its worker dead.

    Returns:
        The held lock.

    Raises:
        SyncLockedError: another live run holds the lock.
    """
    table = db.sync_locks
    owner = _owner_string(tag)
    label = repr(name) if name else f"#{integration_id}"
    now = db.utcnow()
    try:
        with engine.begin() as conn:
            row = conn.execute(
                sa.select(table.c.owner, table.c.run_id, table.c.heartbeat_at).where(
                    table.c.integration_id == integration_id
                )
            ).first()
            if row is not None:
                stale = (
                    row.heartbeat_at < now - stale_after
                    or _owner_is_dead(row.owner)
                    or _same_tag(row.owner, tag)
                )
                if not stale:
                    raise SyncLockedError(_locked_message(label, row.run_id, row.heartbeat_at))
                log.warning(
                    "taking over the abandoned sync lock of integration %s (run %s)",
                    label,
                    row.run_id,
                )
                # Conditional on the row we saw: a concurrent taker deletes nothing here
                # and then loses on the INSERT's unique constraint.
                conn.execute(
                    sa.delete(table).where(
                        table.c.integration_id == integration_id, table.c.owner == row.owner
                    )
                )
            conn.execute(
                sa.insert(table).values(
                    integration_id=integration_id,
                    owner=owner,
                    run_id=None,
                    acquired_at=now,
                    heartbeat_at=now,
                )
            )
    except IntegrityError:
        raise SyncLockedError(_locked_message(label, None, None)) from None
    lock = SyncLock(engine, integration_id, owner, stale_after)
    if heartbeat:
        lock.start_heartbeat()
    return lock


def _locked_message(label: str, run_id: int | None, heartbeat_at: dt.datetime | None) -> str:
    held = f" (run {run_id})" if run_id is not None else ""
    seen = f", last heartbeat {heartbeat_at:%Y-%m-%dT%H:%M:%SZ}" if heartbeat_at else ""
    return f"integration {label}: another sync run holds the lock{held}{seen}"
