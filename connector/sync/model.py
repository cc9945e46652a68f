"""The sync's vocabulary: options, outcomes, progress events, the run record.

Also the two small records the phases pass around: :class:`Stored` (what the catalog
holds of a course) and :class:`Job` (a course whose package is being fetched).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

from connector import archive
from connector import lock as locking
from connector.packages import DEFAULT_MAX_PACKAGE_BYTES
from connector.packages import DEFAULT_SPOOL_BYTES

OutcomeKind = Literal["new", "updated", "unchanged", "deactivated", "failed", "missing"]
RunStatus = Literal["running", "succeeded", "failed", "partial", "interrupted", "abandoned"]
COUNT_KEYS: tuple[str, ...] = ("new", "updated", "unchanged", "deactivated", "failed", "missing")
#: Run statuses after which the watermark moves: the list was read completely.
COMPLETE_STATUSES = ("succeeded", "partial")


class SyncInterrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM; it is recorded as ``interrupted``.

    Raised (from the signal) in the main thread; the run records itself and re-raises
    it with :attr:`result` set, so the CLI can say which run was interrupted.
    """

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.result: SyncResult | None = None


@dataclass(frozen=True)
class SyncOptions:
    """Tuning of one run.

    Attributes:
        workers: parallel package downloads.
        max_package_bytes: size cap of one package zip.
        timeout: read timeout of every HTTP call, in seconds.
        ims_margin: subtracted from the last successful run's start for
            ``If-Modified-Since``.
        retries: retries of each HTTP call (429/5xx/connection), and resumes of a
            broken package transfer.
        max_retry_after: cap for an honoured ``Retry-After``, in seconds.
        batch_size: metadata rows per write statement.
        backoff_factor: exponential backoff between retries (0 = none).
        download_packages: False makes a metadata-only run (packages are fetched by
            the next run that has this on).
        lock_stale_after: a lock whose heartbeat is older than this is taken over.
        archive_limits: zip safety caps.
        spool_bytes: packages up to this size are downloaded into memory, larger ones
            into a temporary file (bounds memory per worker; saves a disk write).
    """

    workers: int = 4
    max_package_bytes: int = DEFAULT_MAX_PACKAGE_BYTES
    timeout: float = 30.0
    ims_margin: dt.timedelta = dt.timedelta(minutes=5)
    retries: int = 3
    max_retry_after: float = 60.0
    batch_size: int = 500
    backoff_factor: float = 0.5
    download_packages: bool = True
    lock_stale_after: dt.timedelta = locking.DEFAULT_STALE_AFTER
    archive_limits: archive.ArchiveLimits = field(default_factory=archive.ArchiveLimits)
    spool_bytes: int = DEFAULT_SPOOL_BYTES


@dataclass(frozen=True)
class CourseOutcome:
    """What happened to one course in a run."""

    vendor_id: str
    outcome: OutcomeKind
    reason: str | None = None
    rule_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the shape ``cckit runs show`` uses)."""
        return {
            "id": self.vendor_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "rule_ids": list(self.rule_ids),
        }


@dataclass(frozen=True)
class SyncEvent:
    """A progress notification.

    Attributes:
        kind: ``"page"`` (a list page was read), ``"course"`` (a course got its
            outcome), ``"queued"`` (a package download was queued), ``"download"`` (a
            package finished or failed) or ``"listed"`` (the list is read: no more
            packages will be queued, except retries, which are queued before it).
        integration: the integration's name.
        page: page number (``page`` events).
        courses: courses on the page (``page`` events).
        vendor_id: the course (``course``/``download`` events).
        outcome: the course's outcome (``course`` events).
        reason: why, when there is something to say.
        size: package bytes (``download`` events).
        ok: False for a failed download.
    """

    kind: Literal["page", "course", "queued", "download", "listed"]
    integration: str
    page: int | None = None
    courses: int | None = None
    vendor_id: str | None = None
    outcome: str | None = None
    reason: str | None = None
    size: int | None = None
    ok: bool = True

    def message(self) -> str:
        """One human-readable log line."""
        if self.kind == "page":
            return f"{self.integration}: page {self.page}: {self.courses} course(s)"
        if self.kind == "listed":
            return f"{self.integration}: list read ({self.page} page(s))"
        if self.kind == "queued":
            return f"{self.integration}: {self.vendor_id}: package queued"
        if self.kind == "download":
            if self.ok:
                return f"{self.integration}: {self.vendor_id}: package {self.size} bytes"
            return f"{self.integration}: {self.vendor_id}: package failed: {self.reason}"
        text = f"{self.integration}: {self.vendor_id}: {self.outcome}"
        return f"{text} ({self.reason})" if self.reason else text


@dataclass
class SyncResult:
    """The run record.

    ``outcomes`` lists every course that was not unchanged (unchanged ones are only
    counted, so a no-op run writes nothing per course).
    """

    run_id: int
    integration: str
    status: RunStatus
    full: bool
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    if_modified_since: dt.datetime | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    outcomes: list[CourseOutcome] = field(default_factory=list)
    pages: int = 0
    requests: int = 0
    downloads: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the run succeeded (list complete, no course failed)."""
        return self.status == "succeeded"

    @property
    def complete(self) -> bool:
        """True when the whole list was read (the watermark moved), failed courses or not."""
        return self.status in COMPLETE_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready run record (what ``cckit sync --format json`` prints)."""
        return {
            "run_id": self.run_id,
            "integration": self.integration,
            "status": self.status,
            "full": self.full,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "if_modified_since": iso(self.if_modified_since),
            "counts": dict(self.counts),
            "pages": self.pages,
            "requests": self.requests,
            "downloads": self.downloads,
            "error": self.error,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }


def iso(value: dt.datetime | None) -> str | None:
    """``value`` as ISO 8601 with a ``Z`` (None stays None)."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def parse_time(text: Any) -> dt.datetime | None:
    """A vendor timestamp (already schema-checked) as an aware UTC datetime."""
    if not isinstance(text, str):
        return None
    value = dt.datetime.fromisoformat(text)
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def newer(candidate: dt.datetime | None, stored: dt.datetime | None) -> bool:
    """True when the vendor's ``candidate`` time is later than what the catalog holds."""
    if candidate is None:
        return False
    return stored is None or candidate > stored


@dataclass
class Stored:
    """What the run needs to know of a course already in the catalog."""

    id: int
    vendor_last_modified: dt.datetime | None
    package_last_modified: dt.datetime | None
    is_active: bool
    current_package_id: int | None
    subjects: list[str]
    protected: frozenset[str]
    missing: bool
    failing_since: dt.datetime | None = None
    retry_count: int = 0


@dataclass
class Job:
    """A course whose package is being fetched."""

    vendor_id: str
    obj: Mapping[str, Any]
    stored: Stored | None
    outcome: OutcomeKind
