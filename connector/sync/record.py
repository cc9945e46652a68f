"""The record phase: open a run (which list to ask for), close it honestly, tidy up.

:func:`open_run` closes runs a dead process left ``running`` (as ``abandoned``, at their
last heartbeat), decides between a full and an incremental list and inserts the run row.
:func:`finish_run` writes the final status and counts and moves the watermark when the
whole list was read. :func:`clean_content` removes what a killed run left on disk.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from connector import archive
from connector import db
from connector.integrations import Integration
from connector.sync.model import COMPLETE_STATUSES
from connector.sync.model import COUNT_KEYS
from connector.sync.model import SyncOptions
from connector.sync.model import SyncResult
from connector.sync.model import iso

log = logging.getLogger("connector.sync")

_SHA256_DIR = re.compile(r"^[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class RunStart:
    """A run row just inserted: which list it asks for, and whether to tidy up first."""

    run_id: int
    started: dt.datetime
    full: bool
    since: dt.datetime | None
    needs_cleanup: bool


def open_run(
    engine: Engine, integration: Integration, options: SyncOptions, requested_full: bool
) -> RunStart:
    """Close abandoned runs, decide the list request and insert the ``running`` row.

    A *full* list (no ``If-Modified-Since``) on request, on the first run, every
    ``full_every_days`` and while active courses still lack a package after a
    metadata-only run; otherwise ``If-Modified-Since`` = start of the last complete run
    minus ``ims_margin`` (clock skew, vendor write latency).
    """
    started = db.utcnow()
    with engine.begin() as conn:
        state = conn.execute(
            sa.select(
                db.integrations.c.last_success_started_at,
                db.integrations.c.last_full_sync_at,
                db.integrations.c.full_every_days,
            ).where(db.integrations.c.id == integration.id)
        ).one()
        needs_cleanup = close_abandoned_runs(conn, integration.id)
        full = (
            requested_full
            or _full_due(started, state)
            or (options.download_packages and _packages_missing(conn, integration.id))
        )
        watermark = state.last_success_started_at
        since = None if full or watermark is None else watermark - options.ims_margin
        run_id = conn.execute(
            sa.insert(db.sync_runs)
            .values(
                integration_id=integration.id,
                started_at=started,
                status="running",
                full=full,
                if_modified_since=since,
                counts=dict.fromkeys(COUNT_KEYS, 0),
                heartbeat_at=started,
            )
            .returning(db.sync_runs.c.id)
        ).scalar_one()
    return RunStart(run_id, started, full, since, needs_cleanup)


def _full_due(now: dt.datetime, state: Any) -> bool:
    if state.last_success_started_at is None:
        return True
    every = state.full_every_days or 0
    if every <= 0:
        return False
    last_full = state.last_full_sync_at
    return last_full is None or now - last_full >= dt.timedelta(days=every)


def _packages_missing(conn: Connection, integration_id: int) -> bool:
    """True when active courses have no package yet (after a metadata-only run).

    An incremental list would not mention them again, so ask for the full list. A
    course pending after a failed package is not counted: the retry set brings it back.
    """
    c = db.courses.c
    waiting = conn.execute(
        sa.select(c.id)
        .where(
            c.integration_id == integration_id,
            c.is_active.is_(True),
            c.missing_from_vendor.is_(False),
            c.current_package_id.is_(None),
            c.failing_since.is_(None),
        )
        .limit(1)
    ).first()
    return waiting is not None


def close_abandoned_runs(conn: Connection, integration_id: int) -> bool:
    """Close runs of ``integration_id`` left ``running`` by a process that died.

    Call it only while holding the integration's sync lock: a run still ``running``
    then has no live process. Each is recorded as ``abandoned`` at its last heartbeat
    (when it was last known alive), with the counts it had written so far.

    Returns:
        True when the previous run did not finish cleanly, so temporary or
        unreferenced content folders may have been left behind.
    """
    runs = db.sync_runs.c
    last_status = conn.execute(
        sa.select(runs.status)
        .where(runs.integration_id == integration_id)
        .order_by(runs.id.desc())
        .limit(1)
    ).scalar()
    stale = conn.execute(
        sa.select(runs.id, runs.started_at, runs.heartbeat_at).where(
            runs.integration_id == integration_id, runs.status == "running"
        )
    ).all()
    for run_id, run_started, heartbeat in stale:
        at = heartbeat or run_started
        log.warning("sync run %d was abandoned (last heartbeat %s)", run_id, iso(at))
        conn.execute(
            sa.update(db.sync_runs)
            .where(runs.id == run_id)
            .values(
                status="abandoned",
                finished_at=at,
                error=f"abandoned: its process stopped; last heartbeat {iso(at)}",
            )
        )
    return last_status in ("running", "failed", "interrupted", "abandoned")


def final_status(
    result: SyncResult, *, list_complete: bool, interrupted: bool, lock_lost: bool
) -> None:
    """Set ``result.status`` (and the error of a lost lock) from how the run ended."""
    if interrupted:
        result.status = "interrupted"
    elif result.error is not None or not list_complete:
        result.status = "failed"
    elif result.counts["failed"]:
        result.status = "partial"
    else:
        result.status = "succeeded"
    if lock_lost and result.status in COMPLETE_STATUSES:
        result.status, result.error = "failed", "the sync lock was lost during the run"


def finish_run(
    engine: Engine, integration: Integration, result: SyncResult, counts: dict[str, Any]
) -> None:
    """Write the run's final row; a complete list moves the watermark.

    It moves even when courses failed: they are in the retry set, so the next
    (incremental) run re-attempts them.
    """
    result.finished_at = db.utcnow()
    with engine.begin() as conn:
        write_finish(conn, integration.id, result, counts)
    log.info(
        "%s: sync run %d %s: %s",
        integration.name,
        result.run_id,
        result.status,
        ", ".join(f"{k} {v}" for k, v in result.counts.items()),
    )


def write_finish(
    conn: Connection, integration_id: int, result: SyncResult, counts: dict[str, Any]
) -> bool:
    """Write a run's final row inside ``conn``'s transaction; move the watermark if complete.

    Only a run still ``running`` is closed (one closed as abandoned meanwhile stays so).

    Returns:
        True when this call closed the run.
    """
    finished = result.finished_at or db.utcnow()
    closed = conn.execute(
        sa.update(db.sync_runs)
        .where(db.sync_runs.c.id == result.run_id, db.sync_runs.c.status == "running")
        .values(
            finished_at=finished,
            status=result.status,
            error=result.error,
            heartbeat_at=finished,
            **counts,
        )
    ).rowcount
    if closed and result.status in COMPLETE_STATUSES:
        values: dict[str, Any] = {"last_success_started_at": result.started_at}
        if result.full:
            values["last_full_sync_at"] = result.started_at
        conn.execute(
            sa.update(db.integrations)
            .where(db.integrations.c.id == integration_id)
            .values(**values)
        )
    return bool(closed)


def clean_content(engine: Engine, integration: Integration, content_dir: Path) -> None:
    """Remove what a killed run may have left: temporary and unreferenced folders."""
    if not content_dir.is_dir():
        return
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(db.courses.c.vendor_id, db.package_versions.c.sha256)
            .join(db.package_versions, db.package_versions.c.course_id == db.courses.c.id)
            .where(db.courses.c.integration_id == integration.id)
        ).all()
    known = {(vendor_id, sha) for vendor_id, sha in rows}
    for course_dir in content_dir.iterdir():
        if not course_dir.is_dir():
            continue
        for entry in course_dir.iterdir():
            orphan = entry.name.startswith(archive.TEMP_PREFIX) or (
                _SHA256_DIR.match(entry.name) is not None
                and (course_dir.name, entry.name) not in known
            )
            if not orphan:
                continue
            log.info("removing leftover %s", entry)
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
