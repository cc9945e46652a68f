"""One sync run of an integration: course list -> catalog -> published packages.

:func:`sync` is the whole run (issue 5 item 4). In order:

1. Take the integration's lock (:mod:`connector.lock`); a second concurrent run gets
   :class:`~connector.errors.SyncLockedError`. Runs left ``running`` by a killed process
   are closed as failed, and their orphaned temporary or unreferenced content folders
   are removed.
2. Decide the list request: a *full* list (no ``If-Modified-Since``) on request, on the
   first run, every ``full_every_days`` and while active courses still lack a package
   (after a metadata-only run); otherwise ``If-Modified-Since`` = start of the last
   *successful* run minus ``ims_margin`` (clock skew, vendor write latency).
3. Read the list page by page (:class:`connector.client.VendorClient`); each course is
   classified against the catalog:

   - *new*: not in the catalog (active ones are inserted together with their package);
   - *updated*: ``LastModifiedUTC`` newer (metadata), ``PackageLastModifiedUTC`` newer or
     no current package (package), or back after being flagged missing;
   - *deactivated*: ``IsActive`` false for a course we hold as active (content is kept);
   - *unchanged*: nothing newer: no write at all (a course an admin (de)activated
     locally keeps that state until the vendor changes it or a full list re-applies it);
   - *failed*: a bad course object, or its package could not be fetched or is invalid.

   Bad objects (JSON path + message, requirement IDs) and repeated IDs fail alone.
   Metadata writes are batched (``batch_size`` rows per statement); protected fields
   (Title, Description, Keywords, Localization, per course) are never overwritten and
   Subjects are only appended.
4. Packages are fetched by ``workers`` threads (:func:`connector.packages.fetch_package`)
   while the list is still being read. Good packages are switched in by the main
   thread in batches, each batch in one transaction (version rows + each course's
   current version and package timestamp, + the course row itself for a new course), so
   a course is never half-published; a failed package leaves the previous version live.
5. A full list also flags active courses the vendor no longer lists
   (``missing_from_vendor``; never deleted).
6. The run record gets counts and one outcome row per course that was not unchanged.
   The watermark (``last_success_started_at``) moves only when the run succeeded.

Vendor failures never raise: they end in a ``failed`` (list unusable) or ``partial``
(some courses failed) run record.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime as dt
import logging
import re
import shutil
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from connector import archive
from connector import db
from connector import lock as locking
from connector import packages
from connector.auth import make_auth
from connector.client import CourseRecord
from connector.client import VendorClient
from connector.config import Settings
from connector.errors import ConnectorError
from connector.errors import PackageError
from connector.errors import VendorError
from connector.http import VendorSession
from connector.http import make_session
from connector.integrations import Integration
from connector.packages import DEFAULT_SPOOL_BYTES
from connector.packages import AiccPackageError
from connector.packages import PackageVersion

__all__ = [
    "CourseOutcome",
    "SyncEvent",
    "SyncOptions",
    "SyncResult",
    "sync",
]

log = logging.getLogger(__name__)

OutcomeKind = Literal["new", "updated", "unchanged", "deactivated", "failed", "missing"]
COUNT_KEYS: tuple[str, ...] = ("new", "updated", "unchanged", "deactivated", "failed", "missing")
#: Fields an admin may protect, and the catalog column each one maps to.
_PROTECTED_COLUMNS = {
    "Title": "title",
    "Description": "description",
    "Keywords": "keywords",
    "Localization": "localization",
}
_SHA256_DIR = re.compile(r"^[0-9a-f]{64}$")
#: Vendor IDs per ``IN (...)`` query (well under every backend's parameter limit).
_IN_CHUNK = 500
#: Package jobs queued per download worker (running ones included).
_QUEUED_PER_WORKER = 4
#: A finished package waits at most this long for its batch to fill before it is
#: switched in (a batch is full at two per worker).
_SWITCH_AFTER_S = 1.0


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
    max_package_bytes: int = 250 * 1024 * 1024
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
            outcome) or ``"download"`` (a package finished or failed).
        integration: the integration's name.
        page: page number (``page`` events).
        courses: courses on the page (``page`` events).
        vendor_id: the course (``course``/``download`` events).
        outcome: the course's outcome (``course`` events).
        reason: why, when there is something to say.
        size: package bytes (``download`` events).
        ok: False for a failed download.
    """

    kind: Literal["page", "course", "download"]
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
    status: Literal["running", "succeeded", "failed", "partial"]
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
        """True when the run succeeded (no course failed)."""
        return self.status == "succeeded"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready run record (what ``cckit sync --format json`` prints)."""
        return {
            "run_id": self.run_id,
            "integration": self.integration,
            "status": self.status,
            "full": self.full,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "if_modified_since": _iso(self.if_modified_since),
            "counts": dict(self.counts),
            "pages": self.pages,
            "requests": self.requests,
            "downloads": self.downloads,
            "error": self.error,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _parse_time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    value = dt.datetime.fromisoformat(text)
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class _Stored:
    """What the run needs to know of a course already in the catalog."""

    id: int
    vendor_last_modified: dt.datetime | None
    package_last_modified: dt.datetime | None
    is_active: bool
    current_package_id: int | None
    subjects: list[str]
    protected: frozenset[str]
    missing: bool


@dataclass
class _Job:
    """A course whose package is being fetched."""

    vendor_id: str
    obj: Mapping[str, Any]
    stored: _Stored | None
    outcome: OutcomeKind


def sync(
    engine: Engine,
    settings: Settings,
    integration: Integration,
    *,
    full: bool = False,
    options: SyncOptions | None = None,
    progress: Callable[[SyncEvent], None] | None = None,
) -> SyncResult:
    """Run one sync of ``integration``.

    Args:
        engine: the catalog database.
        settings: resolved settings (content folder).
        integration: the vendor to sync.
        full: request the full list (no ``If-Modified-Since``) and flag courses the
            vendor no longer lists.
        options: tuning (defaults: :class:`SyncOptions`).
        progress: called with a :class:`SyncEvent` for each page, course and download.

    Returns:
        The run record (also stored in ``sync_runs``/``course_outcomes``).

    Raises:
        SyncLockedError: another run of this integration is in progress.
        StoreError: the catalog database failed (the run is recorded as failed first
            when possible).
    """
    options = options or SyncOptions()
    held = locking.acquire(
        engine, integration.id, name=integration.name, stale_after=options.lock_stale_after
    )
    try:
        return _Run(engine, settings, integration, full, options, progress, held).execute()
    finally:
        held.release()


class _Run:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        integration: Integration,
        full: bool,
        options: SyncOptions,
        progress: Callable[[SyncEvent], None] | None,
        held: locking.SyncLock,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.integration = integration
        self.requested_full = full
        self.options = options
        self.progress = progress
        self.lock = held
        self.content_dir = settings.content_dir / integration.name
        self.stored: dict[str, _Stored] = {}
        self.needs_cleanup = False
        self.now = db.utcnow()
        self.seen: set[str] = set()
        self.pending_updates: list[dict[str, Any]] = []
        self.pending_inserts: list[dict[str, Any]] = []
        self.pending_outcomes: list[CourseOutcome] = []
        #: Finished downloads not yet switched in (see :meth:`_harvest`).
        self.ready: list[tuple[_Job, PackageVersion]] = []
        self.ready_since = 0.0
        self.switch_batch = 2 * max(1, options.workers)
        self.requests = 0
        self.result: SyncResult

    # -- bookkeeping ----------------------------------------------------------------------

    def _emit(self, event: SyncEvent) -> None:
        if self.progress is not None:
            self.progress(event)

    def _outcome(
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
                log.warning("%s: course %s failed: %s", self.integration.name, vendor_id, reason)
        if self.progress is not None:  # one event per course: skip building it unheard
            self._emit(
                SyncEvent(
                    "course", self.integration.name, vendor_id=vendor_id, outcome=outcome,
                    reason=reason,
                )
            )  # fmt: skip

    def _count_request(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.requests += 1

    # -- the run --------------------------------------------------------------------------

    def execute(self) -> SyncResult:
        started = db.utcnow()
        with self.engine.begin() as conn:
            state = conn.execute(
                sa.select(
                    db.integrations.c.last_success_started_at,
                    db.integrations.c.last_full_sync_at,
                    db.integrations.c.full_every_days,
                ).where(db.integrations.c.id == self.integration.id)
            ).one()
            runs = db.sync_runs.c
            last_status = conn.execute(
                sa.select(runs.status)
                .where(runs.integration_id == self.integration.id)
                .order_by(runs.id.desc())
                .limit(1)
            ).scalar()
            # We hold the lock, so a run still "running" was killed; a killed or failed
            # run may have left temporary files or unreferenced folders behind.
            self.needs_cleanup = last_status in ("running", "failed")
            conn.execute(
                sa.update(db.sync_runs)
                .where(runs.integration_id == self.integration.id, runs.status == "running")
                .values(status="failed", finished_at=started, error="interrupted")
            )
            full = self._decide_full(started, state) or self._packages_missing(conn)
            since = (
                None
                if full or state.last_success_started_at is None
                else state.last_success_started_at - self.options.ims_margin
            )
            run_id = conn.execute(
                sa.insert(db.sync_runs)
                .values(
                    integration_id=self.integration.id,
                    started_at=started,
                    status="running",
                    full=full,
                    if_modified_since=since,
                    counts={},
                )
                .returning(db.sync_runs.c.id)
            ).scalar_one()
        self.lock.set_run(run_id)
        self.result = SyncResult(
            run_id=run_id,
            integration=self.integration.name,
            status="running",
            full=full,
            started_at=started,
            if_modified_since=since,
        )
        log.info(
            "%s: sync run %d started (%s)",
            self.integration.name,
            run_id,
            "full list" if full else f"If-Modified-Since {_iso(since)}",
        )
        try:
            if self.needs_cleanup:
                self._clean_content()
            self._read_and_apply(since)
            # Only a complete full list can tell that a course is gone (an exception
            # above skips this).
            if full:
                self._flag_missing()
            self._flush()
        except (VendorError, PackageError) as exc:
            self.result.error = str(exc)
            log.error("%s: sync run %d failed: %s", self.integration.name, run_id, exc)
            self._safe_flush()
        except BaseException as exc:
            # A database failure, a bug or an interrupt: record the run, then re-raise.
            self.result.error = (
                str(exc)
                if isinstance(exc, ConnectorError)
                else f"internal error: {type(exc).__name__}"
            )
            with contextlib.suppress(Exception):
                self._safe_flush()
                self._finish(started)
            raise
        self._finish(started)
        return self.result

    def _decide_full(self, now: dt.datetime, state: Any) -> bool:
        if self.requested_full or state.last_success_started_at is None:
            return True
        every = state.full_every_days or 0
        if every <= 0:
            return False
        last_full = state.last_full_sync_at
        return last_full is None or now - last_full >= dt.timedelta(days=every)

    def _packages_missing(self, conn: Connection) -> bool:
        """True when active courses have no package yet (after a metadata-only run).

        An incremental list would not mention them again, so ask for the full list.
        """
        if not self.options.download_packages:
            return False
        c = db.courses.c
        waiting = conn.execute(
            sa.select(c.id)
            .where(
                c.integration_id == self.integration.id,
                c.is_active.is_(True),
                c.missing_from_vendor.is_(False),
                c.current_package_id.is_(None),
            )
            .limit(1)
        ).first()
        return waiting is not None

    def _finish(self, started: dt.datetime) -> None:
        result = self.result
        result.finished_at = db.utcnow()
        result.requests = self.requests
        if result.error is not None:
            result.status = "failed"
        elif result.counts["failed"]:
            result.status = "partial"
        else:
            result.status = "succeeded"
        if self.lock.lost and result.status == "succeeded":
            result.status, result.error = "failed", "the sync lock was lost during the run"
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(db.sync_runs)
                .where(db.sync_runs.c.id == result.run_id)
                .values(
                    finished_at=result.finished_at,
                    status=result.status,
                    counts=dict(result.counts),
                    pages=result.pages,
                    requests=result.requests,
                    downloads=result.downloads,
                    error=result.error,
                )
            )
            if result.status == "succeeded":
                values: dict[str, Any] = {"last_success_started_at": started}
                if result.full:
                    values["last_full_sync_at"] = started
                conn.execute(
                    sa.update(db.integrations)
                    .where(db.integrations.c.id == self.integration.id)
                    .values(**values)
                )
        log.info(
            "%s: sync run %d %s: %s",
            self.integration.name,
            result.run_id,
            result.status,
            ", ".join(f"{k} {v}" for k, v in result.counts.items()),
        )

    # -- catalog state --------------------------------------------------------------------

    def _load_page(self, vendor_ids: list[str]) -> None:
        """Load the catalog state of one page's courses (a no-op run reads nothing)."""
        wanted = [i for i in vendor_ids if i not in self.stored]
        if not wanted:
            return
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                self._load_rows(conn, wanted[start : start + _IN_CHUNK])

    def _load_rows(self, conn: Connection, vendor_ids: list[str]) -> None:
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
            ).where(c.integration_id == self.integration.id, c.vendor_id.in_(vendor_ids))
        )
        for row in rows:
            self.stored[row.vendor_id] = _Stored(
                id=row.id,
                vendor_last_modified=row.vendor_last_modified,
                package_last_modified=row.vendor_package_last_modified,
                is_active=bool(row.is_active),
                current_package_id=row.current_package_id,
                subjects=list(row.subjects or []),
                protected=frozenset(row.protected_fields or ()),
                missing=bool(row.missing_from_vendor),
            )

    def _clean_content(self) -> None:
        """Remove what a killed run may have left: temporary and unreferenced folders."""
        if not self.content_dir.is_dir():
            return
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.courses.c.vendor_id, db.package_versions.c.sha256)
                .join(db.package_versions, db.package_versions.c.course_id == db.courses.c.id)
                .where(db.courses.c.integration_id == self.integration.id)
            ).all()
        known = {(vendor_id, sha) for vendor_id, sha in rows}
        for course_dir in self.content_dir.iterdir():
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

    # -- reading and classifying ----------------------------------------------------------

    def _read_and_apply(self, since: dt.datetime | None) -> None:
        """Read every page and apply it, fetching packages in parallel."""
        options = self.options
        integration = self.integration
        session = make_session(
            options,
            pool_size=max(10, options.workers + 2),
            limits=getattr(integration, "limits", None),
            provider_url=integration.provider_url,
            auth_url=integration.auth_url,
            allowed_package_hosts=getattr(integration, "allowed_package_hosts", ()),
        )
        session.hooks["response"].append(self._count_request)
        session.auth = make_auth(
            integration.auth_mode,
            auth_url=integration.auth_url,
            client_id=integration.client_id,
            client_secret=integration.client_secret,
            session=session,
        )
        client = VendorClient(session, integration.provider_url)
        # One pool does the whole fetch of a package (download, checks, extraction): a
        # separate extraction pool was measured slower, the work being CPU-bound.
        pool = cf.ThreadPoolExecutor(
            max_workers=max(1, options.workers), thread_name_prefix="cckit-download"
        )
        in_flight: dict[cf.Future[PackageVersion], _Job] = {}
        # Work queued ahead of the workers: enough that they never wait while the main
        # thread reads a page or switches a batch in (which waits for the GIL).
        ahead = _QUEUED_PER_WORKER * max(1, options.workers)
        try:
            try:
                for page in client.iter_pages(since):
                    self.result.pages = client.pages
                    self._emit(
                        SyncEvent(
                            "page", integration.name, page=page.number,
                            courses=len(page.records),
                        )
                    )  # fmt: skip
                    self.now = db.utcnow()  # one timestamp per page for its metadata rows
                    self._load_page([r.vendor_id for r in page.records if r.vendor_id and r.ok])
                    for record in page.records:
                        job = self._classify(record)
                        if job is None:
                            continue
                        future = pool.submit(self._fetch, session, job)
                        in_flight[future] = job
                        while len(in_flight) >= ahead:
                            self._harvest(in_flight, wait=True)
                    self._harvest(in_flight, wait=False)
                    if len(self.pending_updates) + len(self.pending_inserts) >= options.batch_size:
                        self._flush()
            finally:
                # Whatever happened to the list, publish what was downloaded.
                while in_flight:
                    self._harvest(in_flight, wait=True)
                self._switch_ready()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            session.close()

    def _classify(self, record: CourseRecord) -> _Job | None:
        """Decide what to do with one list entry; returns a job when a package is needed."""
        vendor_id = record.vendor_id or "<no ID>"
        if record.vendor_id:
            self.seen.add(record.vendor_id)  # listed, even if unusable: not missing
        if not record.ok or record.data is None:
            self._outcome(vendor_id, "failed", record.error, record.rule_ids)
            return None
        obj = record.data
        stored = self.stored.get(vendor_id)
        active = bool(obj["IsActive"])
        if stored is None:
            if not active:
                # A withdrawn course we never had: nothing to publish or keep.
                self._outcome(vendor_id, "unchanged")
                return None
            if self.options.download_packages:
                return _Job(vendor_id, obj, None, "new")
            self.pending_inserts.append(self._new_row(obj))
            self._outcome(vendor_id, "new", "metadata only")
            return None
        # An admin may have (de)activated the course locally (catalog.set_active): that
        # holds until the vendor changes the course (newer LastModifiedUTC) or a full
        # list re-applies the vendor's whole catalog.
        meta_newer = _newer(_parse_time(obj.get("LastModifiedUTC")), stored.vendor_last_modified)
        overridden = self.result.full and stored.is_active != active
        if not active:
            if meta_newer or stored.missing or overridden:
                outcome: OutcomeKind = "deactivated" if stored.is_active else "updated"
                self._queue_update(stored, obj)
                self._outcome(vendor_id, outcome)
            else:
                self._outcome(vendor_id, "unchanged")
            return None
        package_needed = self.options.download_packages and (
            stored.current_package_id is None
            or _newer(_parse_time(obj.get("PackageLastModifiedUTC")), stored.package_last_modified)
        )
        meta_needed = meta_newer or stored.missing or overridden
        if meta_needed:
            self._queue_update(stored, obj)
        if package_needed:
            return _Job(vendor_id, obj, stored, "updated")
        self._outcome(vendor_id, "updated" if meta_needed else "unchanged")
        return None

    # -- metadata rows --------------------------------------------------------------------

    def _metadata(self, obj: Mapping[str, Any], stored: _Stored | None) -> dict[str, Any]:
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
            "vendor_last_modified": _parse_time(obj.get("LastModifiedUTC")),
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

    def _new_row(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        values = self._metadata(obj, None)
        values.update(
            integration_id=self.integration.id,
            vendor_id=obj["ID"],
            protected_fields=[],
            created_at=values["updated_at"],
        )
        return values

    def _queue_update(self, stored: _Stored, obj: Mapping[str, Any]) -> None:
        values = self._metadata(obj, stored)
        values["_id"] = stored.id
        self.pending_updates.append(values)
        stored.is_active = bool(obj["IsActive"])
        stored.missing = False

    def _flush(self) -> None:
        """Write the batched metadata rows and outcomes in one transaction."""
        if not (self.pending_updates or self.pending_inserts or self.pending_outcomes):
            return
        with self.engine.begin() as conn:
            self._write_pending(conn)

    def _safe_flush(self) -> None:
        try:
            self._flush()
        except Exception:  # already failing: record what we can, keep the first error
            log.exception("%s: could not write the last batch", self.integration.name)

    def _write_pending(self, conn: Connection) -> None:
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

    # -- packages -------------------------------------------------------------------------

    def _fetch(self, session: VendorSession, job: _Job) -> PackageVersion:
        """Download, check and extract one package (runs in a download worker)."""
        obj = job.obj
        return packages.fetch_package(
            session,
            obj["DownloadPackageUrl"],
            self.content_dir / job.vendor_id,
            course_id=job.vendor_id,
            package_last_modified=_parse_time(obj.get("PackageLastModifiedUTC")),
            max_bytes=self.options.max_package_bytes,
            limits=self.options.archive_limits,
            spool_bytes=self.options.spool_bytes,
        )

    def _harvest(self, in_flight: dict[cf.Future[PackageVersion], _Job], *, wait: bool) -> None:
        """Collect finished downloads and switch in a full batch.

        Finished versions wait in ``self.ready`` until a batch is full or the oldest has
        waited ``_SWITCH_AFTER_S``: one transaction of a few statements then publishes
        them all, instead of one transaction and three or four statements per package.

        Args:
            in_flight: submitted jobs not yet collected (finished ones are removed).
            wait: block until one finishes, or until the oldest waiting version is due,
                so that a slow download never holds back the ones already finished.
        """
        if not in_flight:
            done: set[cf.Future[PackageVersion]] = set()
        elif wait:
            timeout = (
                max(0.0, self.ready_since + _SWITCH_AFTER_S - time.monotonic())
                if self.ready
                else None
            )
            done, _ = cf.wait(list(in_flight), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        else:
            done = {f for f in in_flight if f.done()}
        for future in done:
            job = in_flight.pop(future)
            try:
                version = future.result()
            except PackageError as exc:
                self._emit(
                    SyncEvent(
                        "download", self.integration.name, vendor_id=job.vendor_id,
                        reason=exc.reason, ok=False,
                    )
                )  # fmt: skip
                self._outcome(job.vendor_id, "failed", exc.reason, _package_rules(exc))
                continue
            except (requests.RequestException, OSError) as exc:
                reason = f"package download failed: {type(exc).__name__}"
                self._outcome(job.vendor_id, "failed", reason, ["PKG-001"])
                continue
            self.result.downloads += 1
            self._emit(
                SyncEvent(
                    "download", self.integration.name, vendor_id=job.vendor_id,
                    size=version.size,
                )
            )  # fmt: skip
            if not self.ready:
                self.ready_since = time.monotonic()
            self.ready.append((job, version))
        if len(self.ready) >= self.switch_batch or (
            self.ready and time.monotonic() - self.ready_since >= _SWITCH_AFTER_S
        ):
            self._switch_ready()

    def _switch_ready(self) -> None:
        """Publish every finished download now (one transaction)."""
        if not self.ready:
            return
        ready, self.ready = self.ready, []
        self._switch(ready)
        for job, _version in ready:
            self._outcome(job.vendor_id, job.outcome)

    def _switch(self, ready: list[tuple[_Job, PackageVersion]]) -> None:
        """Publish downloaded versions in one transaction, so each switch is atomic.

        A handful of statements for the whole batch, whatever its size: the main thread
        waits for the GIL (held by busy download workers) after each database call, so
        the number of calls, not their size, is what costs.
        """
        now = db.utcnow()
        with self.engine.begin() as conn:
            # Pending metadata first, so this course's batched update cannot later
            # overwrite what we set here.
            self._write_pending(conn)
            version_ids = self._record_versions(conn, ready, now)
        for (job, version), version_id in zip(ready, version_ids, strict=True):
            if job.stored is not None:
                job.stored.current_package_id = version_id
                job.stored.package_last_modified = version.package_last_modified

    def _record_versions(
        self,
        conn: Connection,
        ready: list[tuple[_Job, PackageVersion]],
        now: dt.datetime,
    ) -> list[int]:
        """Insert new courses and versions, point each course at its version; their IDs."""
        courses, versions = db.courses, db.package_versions
        course_ids: dict[str, int] = {
            job.vendor_id: job.stored.id for job, _ in ready if job.stored is not None
        }
        new_rows = [self._new_row(job.obj) for job, _ in ready if job.stored is None]
        if new_rows:
            inserted = conn.execute(
                sa.insert(courses).returning(
                    courses.c.id, courses.c.vendor_id, sort_by_parameter_order=True
                ),
                new_rows,
            )
            course_ids.update((vendor_id, course_id) for course_id, vendor_id in inserted)
        keys = [(course_ids[job.vendor_id], version.sha256) for job, version in ready]
        # A version can exist already: the vendor went back to a package it served
        # before (versions are recorded and switched in the same transaction).
        known: dict[tuple[int, str], int] = {}
        wanted = set(keys)
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            rows = conn.execute(
                sa.select(versions.c.id, versions.c.course_id, versions.c.sha256).where(
                    versions.c.course_id.in_({course_id for course_id, _ in chunk}),
                    versions.c.sha256.in_({sha256 for _, sha256 in chunk}),
                )
            )
            known.update(
                ((course_id, sha256), version_id)
                for version_id, course_id, sha256 in rows
                if (course_id, sha256) in wanted
            )
        missing = [
            (key, version)
            for key, (_, version) in zip(keys, ready, strict=True)
            if key not in known
        ]
        if missing:
            inserted = conn.execute(
                sa.insert(versions).returning(
                    versions.c.id, versions.c.course_id, versions.c.sha256,
                    sort_by_parameter_order=True,
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
            )  # fmt: skip
            known.update(
                ((course_id, sha256), version_id) for version_id, course_id, sha256 in inserted
            )
        version_ids = [known[key] for key in keys]
        conn.execute(
            sa.update(courses)
            .where(courses.c.id == sa.bindparam("_course"))
            .values(
                current_package_id=sa.bindparam("_version"),
                vendor_package_last_modified=sa.bindparam("_package_modified"),
                updated_at=now,
            ),
            [
                {
                    "_course": course_id,
                    "_version": version_id,
                    "_package_modified": version.package_last_modified,
                }
                for (course_id, _), version_id, (_, version) in zip(
                    keys, version_ids, ready, strict=True
                )
            ],
        )
        return version_ids

    # -- full list ------------------------------------------------------------------------

    def _flag_missing(self) -> None:
        """Flag active courses that a complete full list did not mention."""
        now = db.utcnow()
        c = db.courses.c
        self._flush()  # courses published by this run are in the table now
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
            self.pending_updates.append(
                {"_id": course_id, "missing_from_vendor": True, "missing_since": now}
            )
            self._outcome(vendor_id, "missing", "no longer in the vendor's full list")


def _newer(candidate: dt.datetime | None, stored: dt.datetime | None) -> bool:
    if candidate is None:
        return False
    return stored is None or candidate > stored


def _package_rules(exc: PackageError) -> list[str]:
    """Requirement IDs a package failure points at (for the outcome row)."""
    if isinstance(exc, AiccPackageError):
        return exc.rule_ids
    if "unsafe or corrupt zip" in exc.reason:
        return ["PKG-009"]
    if "size cap" in exc.reason:
        return ["PKG-016"]
    return ["PKG-001"]
