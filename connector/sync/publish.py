"""The publish phase: finished packages switched in by batches, each batch one transaction.

Finished versions wait in :attr:`Publisher.ready` until a batch is full (two per
download worker) or the oldest has waited ``SWITCH_AFTER_S``; one transaction of a
handful of statements then records the versions, points each course at its new one and
writes the batch's pending metadata and outcomes. A course is never half-published, and
a failed package (never handed to the publisher) leaves the previous version live.
"""

from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from connector import db
from connector.packages import PackageVersion
from connector.sync.batch import Batch
from connector.sync.classify import IN_CHUNK
from connector.sync.model import Job

#: A finished package waits at most this long for its batch to fill before it is
#: switched in.
SWITCH_AFTER_S = 1.0

Ready = list[tuple[Job, PackageVersion]]


class Publisher:
    """Collects finished downloads and publishes them in batches."""

    def __init__(self, engine: Engine, batch: Batch, workers: int) -> None:
        self.engine = engine
        self.batch = batch
        self.switch_batch = 2 * max(1, workers)
        self.ready: Ready = []
        self.ready_since = 0.0

    def add(self, job: Job, version: PackageVersion) -> None:
        """Queue a checked, extracted version for the next batch."""
        if not self.ready:
            self.ready_since = time.monotonic()
        self.ready.append((job, version))

    def wait_budget(self) -> float | None:
        """Seconds until the oldest waiting version is due (None: nothing waits)."""
        if not self.ready:
            return None
        return max(0.0, self.ready_since + SWITCH_AFTER_S - time.monotonic())

    def switch_if_due(self) -> None:
        """Publish the waiting versions when the batch is full or the oldest is due."""
        if len(self.ready) >= self.switch_batch or (
            self.ready and time.monotonic() - self.ready_since >= SWITCH_AFTER_S
        ):
            self.switch_ready()

    def switch_ready(self) -> None:
        """Publish every finished download now (one transaction)."""
        if not self.ready:
            return
        ready, self.ready = self.ready, []
        # Outcomes first: they are written in the same transaction as the switch, so a
        # run killed right after still has one outcome row per published package.
        for job, _version in ready:
            self.batch.outcome(job.vendor_id, job.outcome)
        self._switch(ready)

    def _switch(self, ready: Ready) -> None:
        """Publish downloaded versions in one transaction, so each switch is atomic.

        A handful of statements for the whole batch, whatever its size: the main thread
        waits for the GIL (held by busy download workers) after each database call, so
        the number of calls, not their size, is what costs.
        """
        now = db.utcnow()
        with self.engine.begin() as conn:
            # Pending metadata first, so this course's batched update cannot later
            # overwrite what we set here.
            self.batch.write_pending(conn)
            course_ids = self._course_ids(conn, ready)
            keys = [(course_ids[job.vendor_id], version.sha256) for job, version in ready]
            version_ids = record_versions(conn, keys, [v for _, v in ready], now)
            point_courses(conn, keys, version_ids, [v for _, v in ready], now)
        for (job, version), version_id in zip(ready, version_ids, strict=True):
            if job.stored is not None:
                job.stored.current_package_id = version_id
                job.stored.package_last_modified = version.package_last_modified
                job.stored.failing_since = None
                job.stored.retry_count = 0

    def _course_ids(self, conn: Connection, ready: Ready) -> dict[str, int]:
        """Catalog IDs of the batch's courses; new courses are inserted (with their package)."""
        courses = db.courses
        course_ids = {job.vendor_id: job.stored.id for job, _ in ready if job.stored is not None}
        new_rows = [self.batch.new_row(job.obj) for job, _ in ready if job.stored is None]
        if new_rows:
            inserted = conn.execute(
                sa.insert(courses).returning(
                    courses.c.id, courses.c.vendor_id, sort_by_parameter_order=True
                ),
                new_rows,
            )
            course_ids.update((vendor_id, course_id) for course_id, vendor_id in inserted)
        return course_ids


def record_versions(
    conn: Connection,
    keys: list[tuple[int, str]],
    versions: list[PackageVersion],
    now: dt.datetime,
) -> list[int]:
    """The version row ID of each (course, sha256), inserting the ones not yet recorded."""
    known = _known_versions(conn, keys)
    missing = [
        (key, version) for key, version in zip(keys, versions, strict=True) if key not in known
    ]
    if missing:
        table = db.package_versions
        inserted = conn.execute(
            sa.insert(table).returning(
                table.c.id, table.c.course_id, table.c.sha256, sort_by_parameter_order=True
            ),
            [
                {
                    "course_id": course_id,
                    "sha256": version.sha256,
                    "size": version.size,
                    "stored_path": str(version.stored_path),
                    "aicc_summary": version.aicc_summary,
                    "package_last_modified": version.package_last_modified,
                    "downloaded_at": now,
                }
                for (course_id, _), version in missing
            ],
        )
        known.update(
            ((course_id, sha256), version_id) for version_id, course_id, sha256 in inserted
        )
    return [known[key] for key in keys]


def _known_versions(conn: Connection, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Versions already recorded: the vendor may go back to a package it served before."""
    table = db.package_versions
    known: dict[tuple[int, str], int] = {}
    wanted = set(keys)
    for start in range(0, len(keys), IN_CHUNK):
        chunk = keys[start : start + IN_CHUNK]
        rows = conn.execute(
            sa.select(table.c.id, table.c.course_id, table.c.sha256).where(
                table.c.course_id.in_({course_id for course_id, _ in chunk}),
                table.c.sha256.in_({sha256 for _, sha256 in chunk}),
            )
        )
        known.update(
            ((course_id, sha256), version_id)
            for version_id, course_id, sha256 in rows
            if (course_id, sha256) in wanted
        )
    return known


def point_courses(
    conn: Connection,
    keys: list[tuple[int, str]],
    version_ids: list[int],
    versions: list[PackageVersion],
    now: dt.datetime,
) -> None:
    """Make each version its course's current one; a published course leaves the retry set."""
    courses = db.courses
    conn.execute(
        sa.update(courses)
        .where(courses.c.id == sa.bindparam("_course"))
        .values(
            current_package_id=sa.bindparam("_version"),
            vendor_package_last_modified=sa.bindparam("_package_modified"),
            updated_at=now,
            failing_since=sa.null(),
            failure_reason=sa.null(),
            failure_rules=sa.null(),
            retry_count=0,
            next_retry_at=sa.null(),
        ),
        [
            {
                "_course": course_id,
                "_version": version_id,
                "_package_modified": version.package_last_modified,
            }
            for (course_id, _), version_id, version in zip(keys, version_ids, versions, strict=True)
        ],
    )
