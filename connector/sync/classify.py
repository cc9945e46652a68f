"""The classify phase: each listed course against the catalog, and the retry set.

:class:`Classifier` loads what the catalog holds of a page's courses, decides for each
list entry whether it is new, updated, deactivated, unchanged or failed (queueing its
metadata write in the :class:`~connector.sync.batch.Batch`) and returns a
:class:`~connector.sync.model.Job` when a package must be fetched. After a complete list
it names the retry set's due courses, and on a full list flags the courses the vendor no
longer lists.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from connector import db
from connector.client import CourseRecord
from connector.integrations import Integration
from connector.sync.batch import CLEARED
from connector.sync.batch import Batch
from connector.sync.model import Job
from connector.sync.model import OutcomeKind
from connector.sync.model import Stored
from connector.sync.model import SyncOptions
from connector.sync.model import newer
from connector.sync.model import parse_time

log = logging.getLogger("connector.sync")

#: Vendor IDs per ``IN (...)`` query (well under every backend's parameter limit).
IN_CHUNK = 500


class Classifier:
    """Decides what a run does with each course it sees.

    Attributes:
        stored: the catalog's state of the courses seen so far, by vendor ID.
        seen: every vendor ID the list named (even unusable entries: not missing).
    """

    def __init__(
        self, engine: Engine, integration: Integration, options: SyncOptions, batch: Batch
    ) -> None:
        self.engine = engine
        self.integration = integration
        self.options = options
        self.batch = batch
        self.stored: dict[str, Stored] = {}
        self.seen: set[str] = set()

    def load_page(self, vendor_ids: list[str]) -> None:
        """Load the catalog state of one page's courses (a no-op run reads nothing)."""
        wanted = [i for i in vendor_ids if i not in self.stored]
        if not wanted:
            return
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), IN_CHUNK):
                self.load_rows(conn, wanted[start : start + IN_CHUNK])

    def load_rows(self, conn: Connection, vendor_ids: list[str]) -> None:
        c = db.courses.c
        rows = conn.execute(
            sa.select(
                c.id,
                c.vendor_id,
                c.vendor_last_modified,
                c.vendor_package_last_modified,
                c.is_active,
                c.current_package_id,
                c.subjects,
                c.protected_fields,
                c.missing_from_vendor,
                c.failing_since,
                c.retry_count,
            ).where(c.integration_id == self.integration.id, c.vendor_id.in_(vendor_ids))
        )
        for row in rows:
            self.stored[row.vendor_id] = Stored(
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

    def classify(self, record: CourseRecord) -> Job | None:
        """Decide what to do with one list entry; returns a job when a package is needed."""
        vendor_id = record.vendor_id or "<no ID>"
        if record.vendor_id:
            self.seen.add(record.vendor_id)  # listed, even if unusable: not missing
        if not record.ok or record.data is None:
            self._unusable(vendor_id, record)
            return None
        obj = record.data
        stored = self.stored.get(vendor_id)
        if stored is None:
            return self._unknown(vendor_id, obj)
        # An admin may have (de)activated the course locally (catalog.set_active): that
        # holds until the vendor changes the course (newer LastModifiedUTC) or a full
        # list re-applies the vendor's whole catalog.
        meta_newer = newer(parse_time(obj.get("LastModifiedUTC")), stored.vendor_last_modified)
        overridden = self.batch.result.full and stored.is_active != bool(obj["IsActive"])
        changed = meta_newer or stored.missing or overridden
        if not obj["IsActive"]:
            self._withdrawn(vendor_id, obj, stored, changed)
            return None
        return self._active(vendor_id, obj, stored, changed)

    def _unusable(self, vendor_id: str, record: CourseRecord) -> None:
        self.batch.outcome(vendor_id, "failed", record.error, record.rule_ids)
        known = self.stored.get(vendor_id)
        if known is not None:
            # Keep the last good metadata; show the course as failing. It is re-checked
            # when the vendor lists it again (a fix moves LastModifiedUTC).
            self.batch.mark_failing(known, record.error, record.rule_ids, retry=False)

    def _unknown(self, vendor_id: str, obj: Mapping[str, Any]) -> Job | None:
        """A course the catalog does not hold yet."""
        if not obj["IsActive"]:
            # A withdrawn course we never had: nothing to publish or keep.
            self.batch.outcome(vendor_id, "unchanged")
            return None
        if self.options.download_packages:
            return Job(vendor_id, obj, None, "new")
        self.batch.pending_inserts.append(self.batch.new_row(obj))
        self.batch.outcome(vendor_id, "new", "metadata only")
        return None

    def _withdrawn(
        self, vendor_id: str, obj: Mapping[str, Any], stored: Stored, changed: bool
    ) -> None:
        """A course the vendor sends with ``IsActive: false`` (its content is kept)."""
        if changed or stored.failing_since:
            outcome: OutcomeKind = "deactivated" if stored.is_active else "updated"
            self.batch.queue_update(stored, obj, CLEARED)  # nothing left to retry
            self.batch.outcome(vendor_id, outcome)
        else:
            self.batch.outcome(vendor_id, "unchanged")

    def _active(
        self, vendor_id: str, obj: Mapping[str, Any], stored: Stored, changed: bool
    ) -> Job | None:
        """An active course the catalog holds: metadata and/or package to update."""
        package_needed = self.options.download_packages and (
            stored.current_package_id is None
            or newer(parse_time(obj.get("PackageLastModifiedUTC")), stored.package_last_modified)
        )
        if not package_needed and stored.failing_since is not None:
            # A good object and nothing to download: whatever failed is resolved.
            self.batch.queue_update(stored, obj, CLEARED)
            changed = True
        elif changed:
            self.batch.queue_update(stored, obj)
        if package_needed:
            return Job(vendor_id, obj, stored, "updated")
        self.batch.outcome(vendor_id, "updated" if changed else "unchanged")
        return None

    def retry_jobs(self) -> list[Job]:
        """The retry set's courses that are due and that this run's list did not name.

        Their last vendor object (stored with the course) names the package to fetch
        again; courses the list named were already handled with their fresh object.
        """
        self.batch.flush()  # pending courses written this run are in the table now
        c = db.courses.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.vendor_id, c.raw)
                .where(
                    c.integration_id == self.integration.id,
                    c.failing_since.is_not(None),
                    c.next_retry_at.is_not(None),
                    c.next_retry_at <= db.utcnow(),
                    c.is_active.is_(True),
                    c.missing_from_vendor.is_(False),
                )
                .order_by(c.vendor_id)
            ).all()
        due = [
            (vendor_id, raw)
            for vendor_id, raw in rows
            if vendor_id not in self.seen
            and isinstance(raw, dict)
            and isinstance(raw.get("DownloadPackageUrl"), str)
        ]
        self.load_page([vendor_id for vendor_id, _ in due])
        self.batch.now = db.utcnow()
        jobs = [
            Job(vendor_id, raw, self.stored[vendor_id], "updated")
            for vendor_id, raw in due
            if vendor_id in self.stored
        ]
        if jobs:
            log.info("%s: retrying %d failing course(s)", self.integration.name, len(jobs))
        return jobs

    def flag_missing(self) -> None:
        """Flag active courses that a complete full list did not mention."""
        now = db.utcnow()
        c = db.courses.c
        self.batch.flush()  # courses published by this run are in the table now
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.id, c.vendor_id)
                .where(
                    c.integration_id == self.integration.id,
                    c.is_active.is_(True),
                    c.missing_from_vendor.is_(False),
                )
                .order_by(c.vendor_id)
            ).all()
        for course_id, vendor_id in rows:
            if vendor_id in self.seen:
                continue
            self.batch.pending_updates.append(
                {"_id": course_id, "missing_from_vendor": True, "missing_since": now}
            )
            self.batch.outcome(vendor_id, "missing", "no longer in the vendor's full list")
