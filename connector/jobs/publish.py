"""The package job's transaction: publish one course (or record its failure), count it,
and close the run when it was the last.

Every package job ends in exactly one transaction that

1. locks the course row (``SELECT ... FOR UPDATE``) and compares the package's
   ``PackageLastModifiedUTC`` with the one the catalog holds: an older or equal package
   (a stale job, a job run twice after a worker died) is not published, so an older
   package never replaces a newer one; the version row is keyed by ``(course_id,
   sha256)`` (unique), so a version is never recorded twice;
2. inserts the course when it is new (with its package, as a single-machine run does),
   records the version and points the course at it, or puts the course in the retry
   set (a new one is stored as *pending*);
3. writes the course's outcome row and decrements the run's pending counter; the job
   that brings it to zero closes the run with the rules of
   :func:`connector.sync.record.final_status` (``succeeded``/``partial``/``failed``) and
   moves the watermark.

Package jobs of one course run one after the other (procrastinate ``lock``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from connector import db
from connector.integrations import Integration
from connector.packages import PackageVersion
from connector.sync import record
from connector.sync.batch import Batch
from connector.sync.model import COUNT_KEYS
from connector.sync.model import OutcomeKind
from connector.sync.model import Stored
from connector.sync.model import SyncResult
from connector.sync.model import parse_time
from connector.sync.publish import point_courses
from connector.sync.publish import record_versions


@dataclass(frozen=True)
class PackageDone:
    """What one package job did: the course's outcome and whether it published."""

    outcome: OutcomeKind
    published: bool
    run_status: str | None  # the run's final status when this job closed it
    reason: str | None = None


def _course_row(conn: Connection, integration_id: int, vendor_id: str) -> Stored | None:
    c = db.courses.c
    row = conn.execute(
        sa.select(
            c.id,
            c.vendor_last_modified,
            c.vendor_package_last_modified,
            c.is_active,
            c.current_package_id,
            c.subjects,
            c.protected_fields,
            c.missing_from_vendor,
            c.failing_since,
            c.retry_count,
        )
        .where(c.integration_id == integration_id, c.vendor_id == vendor_id)
        .with_for_update()
    ).first()
    if row is None:
        return None
    return Stored(
        id=row.id,
        vendor_last_modified=row.vendor_last_modified,
        package_last_modified=row.vendor_package_last_modified,
        is_active=bool(row.is_active),
        current_package_id=row.current_package_id,
        subjects=list(row.subjects or []),
        protected=frozenset(row.protected_fields or ()),
        missing=bool(row.missing_from_vendor),
        failing_since=row.failing_since,
        retry_count=int(row.retry_count or 0),
    )


def is_stale(stored: Stored | None, package_modified: dt.datetime | None) -> bool:
    """True when the catalog already holds this package or a newer one for the course."""
    if stored is None or stored.current_package_id is None:
        return False
    if package_modified is None:
        return True  # nothing says it is newer than the live version
    held = stored.package_last_modified
    return held is not None and held >= package_modified


def _helper(engine: Engine, integration: Integration, run_id: int) -> Batch:
    """A batch used only for its row builders (metadata, retry-set columns)."""
    result = SyncResult(
        run_id=run_id,
        integration=integration.name,
        status="running",
        full=False,
        started_at=db.utcnow(),
    )
    return Batch(engine, integration, result, None)


def publish_package(
    engine: Engine,
    integration: Integration,
    run_id: int,
    course: Mapping[str, Any],
    outcome: OutcomeKind,
    version: PackageVersion,
) -> PackageDone:
    """Publish one downloaded version in one transaction (see the module docstring)."""
    vendor_id = str(course["ID"])
    helper = _helper(engine, integration, run_id)
    now = helper.now
    with engine.begin() as conn:
        stored = _course_row(conn, integration.id, vendor_id)
        if is_stale(stored, version.package_last_modified):
            status = release_one(conn, run_id, integration.id, "unchanged")
            return PackageDone("unchanged", False, status, "a newer package is already live")
        if stored is None:
            course_id = conn.execute(
                sa.insert(db.courses).returning(db.courses.c.id), [helper.new_row(course)]
            ).scalar_one()
            outcome = "new"
        else:
            course_id = stored.id
        keys = [(course_id, version.sha256)]
        version_ids = record_versions(conn, keys, [version], now)
        point_courses(conn, keys, version_ids, [version], now)
        _outcome_row(conn, run_id, vendor_id, outcome, None, [])
        status = release_one(conn, run_id, integration.id, outcome, downloaded=True)
    return PackageDone(outcome, True, status)


def record_failure(
    engine: Engine,
    integration: Integration,
    run_id: int,
    course: Mapping[str, Any],
    reason: str,
    rules: list[str],
) -> PackageDone:
    """A package that could not be fetched: the course goes to the retry set."""
    vendor_id = str(course["ID"])
    helper = _helper(engine, integration, run_id)
    with engine.begin() as conn:
        stored = _course_row(conn, integration.id, vendor_id)
        if is_stale(stored, parse_time(course.get("PackageLastModifiedUTC"))):
            # A newer package went live meanwhile: this failure no longer matters.
            status = release_one(conn, run_id, integration.id, "unchanged")
            return PackageDone("unchanged", False, status, reason)
        if stored is None:
            row = helper.new_row(course)
            row.update(helper.failure_values(None, reason, rules, retry=True))
            conn.execute(sa.insert(db.courses), [row])
        else:
            values = helper.failure_values(stored, reason, rules, retry=True)
            conn.execute(
                sa.update(db.courses)
                .where(db.courses.c.id == stored.id)
                .values(updated_at=helper.now, **values)
            )
        _outcome_row(conn, run_id, vendor_id, "failed", reason, rules)
        status = release_one(conn, run_id, integration.id, "failed")
    return PackageDone("failed", False, status, reason)


def _outcome_row(
    conn: Connection,
    run_id: int,
    vendor_id: str,
    outcome: str,
    reason: str | None,
    rules: list[str],
) -> None:
    conn.execute(
        sa.insert(db.course_outcomes).values(
            run_id=run_id, vendor_id=vendor_id, outcome=outcome, reason=reason, rule_ids=rules
        )
    )


def release_one(
    conn: Connection,
    run_id: int,
    integration_id: int,
    outcome: str | None = None,
    *,
    downloaded: bool = False,
) -> str | None:
    """Count one finished share of the run (a package job, or the list) in ``conn``.

    The run's ``run_packages`` row is locked, so concurrent package jobs of one run
    count one after the other. Returns the run's final status when this call closed it.
    """
    table = db.run_packages
    row = conn.execute(
        sa.select(table.c.pending, table.c.counts, table.c.downloads)
        .where(table.c.run_id == run_id)
        .with_for_update()
    ).first()
    if row is None:
        return None
    counts = {key: int((row.counts or {}).get(key, 0)) for key in COUNT_KEYS}
    if outcome is not None:
        counts[outcome] += 1
    pending = row.pending - 1
    downloads = row.downloads + (1 if downloaded else 0)
    conn.execute(
        sa.update(table)
        .where(table.c.run_id == run_id)
        .values(pending=pending, counts=counts, downloads=downloads)
    )
    conn.execute(
        sa.update(db.sync_runs)
        .where(db.sync_runs.c.id == run_id, db.sync_runs.c.status == "running")
        .values(heartbeat_at=db.utcnow())
    )
    if pending > 0:
        return None
    return _close(conn, run_id, integration_id, counts, downloads)


def _close(
    conn: Connection, run_id: int, integration_id: int, counts: dict[str, int], downloads: int
) -> str | None:
    """Close the run: the list's counts plus the package jobs', status as in-process."""
    runs = db.sync_runs.c
    run = conn.execute(
        sa.select(runs.status, runs.full, runs.started_at, runs.counts, runs.downloads, runs.error)
        .where(runs.id == run_id)
        .with_for_update()
    ).first()
    if run is None or run.status != "running":
        return None  # closed meanwhile (abandoned): it stays as it was recorded
    merged = {key: int((run.counts or {}).get(key, 0)) + counts[key] for key in COUNT_KEYS}
    result = SyncResult(
        run_id=run_id,
        integration="",
        status="running",
        full=bool(run.full),
        started_at=run.started_at,
        error=run.error,
        counts=merged,
    )
    # The list job records an error when it did not read the whole list.
    record.final_status(result, list_complete=run.error is None, interrupted=False, lock_lost=False)
    record.write_finish(
        conn, integration_id, result, {"counts": merged, "downloads": run.downloads + downloads}
    )
    return result.status
