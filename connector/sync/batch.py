"""The metadata phase: course rows and outcomes batched into few write statements.

A :class:`Batch` collects a run's new rows, updates and outcome rows and writes them in
one transaction (:meth:`Batch.flush`, or inside a publishing transaction through
:meth:`Batch.write_pending`); the run row's counts travel with every write, so a killed
run still shows what it did. It also owns the retry set's columns: a course whose package
or object failed is marked *failing* here and cleared when it is published.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from connector import db
from connector.integrations import Integration
from connector.sync.model import CourseOutcome
from connector.sync.model import Job
from connector.sync.model import OutcomeKind
from connector.sync.model import Stored
from connector.sync.model import SyncEvent
from connector.sync.model import SyncResult
from connector.sync.model import parse_time
from schemas import visible

log = logging.getLogger("connector.sync")

#: Fields an admin may protect, and the catalog column each one maps to.
_PROTECTED_COLUMNS = {
    "Title": "title",
    "Description": "description",
    "Keywords": "keywords",
    "Localization": "localization",
}
#: Columns that take a course out of the retry set.
CLEARED: Mapping[str, Any] = {
    "failing_since": None,
    "failure_reason": None,
    "failure_rules": None,
    "retry_count": 0,
    "next_retry_at": None,
}
#: Backoff of the retry set: the next run retries a course that failed once; after
#: that it waits ``_RETRY_BASE``, twice as long after each further failure, at most
#: ``_RETRY_MAX``. Daily runs retry every failing course each day; frequent manual runs
#: do not hammer a course that keeps failing. A full list retries every listed course.
_RETRY_BASE = dt.timedelta(minutes=15)
_RETRY_MAX = dt.timedelta(hours=24)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long a course that failed ``attempts`` times in a row waits before the next try."""
    if attempts <= 1:
        return dt.timedelta(0)
    exponent = min(attempts - 2, 16)
    delay: dt.timedelta = _RETRY_BASE * (1 << exponent)
    return min(delay, _RETRY_MAX)


class Batch:
    """Pending catalog writes and outcomes of one run, and its counts.

    Attributes:
        result: the run record being built (counts, outcomes, downloads).
        now: the timestamp written into rows (one per list page).
        requests: HTTP requests made so far (counted by a response hook).
    """

    def __init__(
        self,
        engine: Engine,
        integration: Integration,
        result: SyncResult,
        progress: Callable[[SyncEvent], None] | None,
    ) -> None:
        self.engine = engine
        self.integration = integration
        self.result = result
        self.progress = progress
        self.now = db.utcnow()
        self.requests = 0
        self.pending_updates: list[dict[str, Any]] = []
        self.pending_inserts: list[dict[str, Any]] = []
        self.pending_outcomes: list[CourseOutcome] = []

    @property
    def size(self) -> int:
        """Rows waiting to be written."""
        return len(self.pending_updates) + len(self.pending_inserts)

    def emit(self, event: SyncEvent) -> None:
        if self.progress is not None:
            self.progress(event)

    def outcome(
        self,
        vendor_id: str,
        outcome: OutcomeKind,
        reason: str | None = None,
        rule_ids: Iterable[str] = (),
    ) -> None:
        self.result.counts[outcome] += 1
        if outcome != "unchanged":
            item = CourseOutcome(vendor_id, outcome, reason, tuple(rule_ids))
            self.result.outcomes.append(item)
            self.pending_outcomes.append(item)
            if outcome == "failed":
                log.warning(
                    "%s: course %s failed: %s",
                    self.integration.name,
                    visible(vendor_id),
                    visible(reason or ""),
                )
        if self.progress is not None:  # one event per course: skip building it unheard
            self.emit(
                SyncEvent(
                    "course", self.integration.name, vendor_id=vendor_id, outcome=outcome,
                    reason=reason,
                )
            )  # fmt: skip

    def count_request(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.requests += 1

    def run_counts(self) -> dict[str, Any]:
        """The run row's progress columns as they stand (written with every batch)."""
        result = self.result
        result.requests = self.requests
        return {
            "counts": dict(result.counts),
            "pages": result.pages,
            "requests": result.requests,
            "downloads": result.downloads,
        }

    def metadata(self, obj: Mapping[str, Any], stored: Stored | None) -> dict[str, Any]:
        subjects = list(stored.subjects) if stored is not None else []
        for subject in obj.get("Subjects") or ():
            if subject not in subjects:
                subjects.append(subject)
        values: dict[str, Any] = {
            "title": obj["Title"],
            "description": obj["Description"],
            "course_type": obj["CourseType"],
            "is_active": bool(obj["IsActive"]),
            "languages": list(obj["Languages"]),
            "duration": obj.get("Duration"),
            "thumbnail": obj.get("Thumbnail"),
            "subjects": subjects,
            "keywords": list(obj.get("Keywords") or []),
            "version": obj.get("Version"),
            "localization": list(obj.get("Localization") or []),
            "vendor_last_modified": parse_time(obj.get("LastModifiedUTC")),
            "missing_from_vendor": False,
            "missing_since": None,
            "raw": obj,  # freshly parsed JSON, owned by this run: no copy needed
            "updated_at": self.now,
        }
        if stored is not None:
            for name in stored.protected:
                column = _PROTECTED_COLUMNS.get(name)
                if column is not None:
                    del values[column]
        return values

    def new_row(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        values = self.metadata(obj, None)
        values.update(
            integration_id=self.integration.id,
            vendor_id=obj["ID"],
            protected_fields=[],
            created_at=values["updated_at"],
        )
        return values

    def queue_update(
        self, stored: Stored, obj: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> None:
        values = self.metadata(obj, stored)
        if extra:
            values.update(extra)
            stored.failing_since = values.get("failing_since", stored.failing_since)
        values["_id"] = stored.id
        self.pending_updates.append(values)
        stored.is_active = bool(obj["IsActive"])
        stored.missing = False

    def failure_values(
        self, stored: Stored | None, reason: str | None, rules: Iterable[str], *, retry: bool
    ) -> dict[str, Any]:
        """Columns that put a course into the retry set (``retry``) or flag it failing."""
        attempts = (stored.retry_count if stored is not None else 0) + 1
        since = stored.failing_since if stored is not None else None
        return {
            "failing_since": since or self.now,
            "failure_reason": reason,
            "failure_rules": list(rules),
            "retry_count": attempts,
            "next_retry_at": self.now + retry_delay(attempts) if retry else None,
        }

    def mark_failing(
        self, stored: Stored, reason: str | None, rules: Iterable[str], *, retry: bool
    ) -> None:
        values = self.failure_values(stored, reason, rules, retry=retry)
        stored.failing_since = values["failing_since"]
        stored.retry_count = values["retry_count"]
        self.pending_updates.append({"_id": stored.id, "updated_at": self.now, **values})

    def package_failed(self, job: Job, reason: str, rules: list[str]) -> None:
        """Record a failed package: the course goes to the retry set, nothing is lost.

        A new course is stored as *pending* (its metadata, no package) so the admin
        sees it and why; an existing one keeps its live version.
        """
        self.outcome(job.vendor_id, "failed", reason, rules)
        if job.stored is None:
            row = self.new_row(job.obj)
            row.update(self.failure_values(None, reason, rules, retry=True))
            self.pending_inserts.append(row)
        else:
            self.mark_failing(job.stored, reason, rules, retry=True)

    def flush(self) -> None:
        """Write the batched metadata rows and outcomes in one transaction."""
        if not (self.pending_updates or self.pending_inserts or self.pending_outcomes):
            return
        with self.engine.begin() as conn:
            self.write_pending(conn)

    def safe_flush(self) -> None:
        try:
            self.flush()
        except Exception:  # already failing: record what we can, keep the first error
            log.exception("%s: could not write the last batch", self.integration.name)

    def write_pending(self, conn: Connection) -> None:
        if self.pending_inserts:
            conn.execute(sa.insert(db.courses), self.pending_inserts)
            self.pending_inserts = []
        if self.pending_updates:
            # executemany needs one key set per statement: group (protected fields vary).
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in self.pending_updates:
                groups.setdefault(tuple(sorted(row)), []).append(row)
            for keys, rows in groups.items():
                stmt = (
                    sa.update(db.courses)
                    .where(db.courses.c.id == sa.bindparam("_id"))
                    .values({k: sa.bindparam(k) for k in keys if k != "_id"})
                )
                conn.execute(stmt, rows)
            self.pending_updates = []
        # The run's counts travel with every batch: a killed run still shows what it did.
        conn.execute(
            sa.update(db.sync_runs)
            .where(db.sync_runs.c.id == self.result.run_id)
            .values(heartbeat_at=db.utcnow(), **self.run_counts())
        )
        if self.pending_outcomes:
            conn.execute(
                sa.insert(db.course_outcomes),
                [
                    {
                        "run_id": self.result.run_id,
                        "vendor_id": o.vendor_id,
                        "outcome": o.outcome,
                        "reason": o.reason,
                        "rule_ids": list(o.rule_ids),
                    }
                    for o in self.pending_outcomes
                ],
            )
            self.pending_outcomes = []
