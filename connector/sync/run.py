"""The coordinator: one run, phase by phase (record, list, classify, packages, publish).

:func:`sync` takes the integration's lock and runs :class:`_Run`, which wires the phases
together and reads the list (the *list* phase lives here: it is the loop that drives the
others). Vendor failures never raise: they end in a ``failed`` (list unusable) or
``partial`` (some courses failed) run record; SIGINT/SIGTERM end it as ``interrupted``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.engine import Engine

from connector import db
from connector import lock as locking
from connector.auth import make_auth
from connector.client import CourseRecord
from connector.client import VendorClient
from connector.config import Settings
from connector.errors import ConnectorError
from connector.errors import InvalidField
from connector.errors import PackageError
from connector.errors import VendorError
from connector.http import VendorSession
from connector.http import make_session
from connector.integrations import Integration
from connector.integrations import content_root
from connector.limits import Limits
from connector.sync import record
from connector.sync.batch import Batch
from connector.sync.classify import Classifier
from connector.sync.downloads import Downloads
from connector.sync.model import Job
from connector.sync.model import SyncEvent
from connector.sync.model import SyncInterrupted
from connector.sync.model import SyncOptions
from connector.sync.model import SyncResult
from connector.sync.model import iso
from connector.sync.publish import Publisher

log = logging.getLogger("connector.sync")


class PackageWork(Protocol):
    """Where a run sends the packages it needs: threads here, or jobs (``connector.jobs``)."""

    def submit(self, job: Job) -> None: ...
    def harvest(self, *, wait: bool) -> None: ...
    def drain(self) -> None: ...
    def cancel_queued(self) -> None: ...
    def close(self) -> None: ...


class PackageFanout(PackageWork, Protocol):
    """Package work done elsewhere: the run is closed by whoever finishes last.

    :meth:`finish_list` replaces the in-process close: it records the list's part of
    the run (its counts and error) and closes the run only when no package is pending.
    """

    def finish_list(self, *, list_complete: bool, interrupted: bool) -> None: ...


#: Builds the fan-out of one run from its batch (engine, integration, run record).
FanoutFactory = Callable[[Batch, SyncOptions], PackageFanout]


def sync(
    engine: Engine,
    settings: Settings,
    integration: Integration,
    *,
    full: bool = False,
    options: SyncOptions | None = None,
    progress: Callable[[SyncEvent], None] | None = None,
    fanout: FanoutFactory | None = None,
    lock_tag: str | None = None,
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
        fanout: hand packages to other processes instead of download threads (the
            distributed mode of :mod:`connector.jobs`); the run is then closed by the
            last package job, and the returned record is the list's part of it.
        lock_tag: names the lock holder across processes (see :func:`connector.lock.acquire`).

    Returns:
        The run record (also stored in ``sync_runs``/``course_outcomes``).

    Raises:
        SyncLockedError: another run of this integration is in progress.
        SyncInterrupted: SIGINT/SIGTERM stopped the run (recorded as interrupted; the
            exception's ``result`` is the record).
        StoreError: the catalog database failed (the run is recorded as failed first
            when possible).
    """
    options = options or SyncOptions()
    held = locking.acquire(
        engine,
        integration.id,
        name=integration.name,
        stale_after=options.lock_stale_after,
        tag=lock_tag,
    )
    try:
        run = _Run(engine, settings, integration, full, options, progress, held)
        run.fanout_factory = fanout
        return run.execute()
    finally:
        held.release()


def vendor_session(
    integration: Integration, options: SyncOptions, *, pool_size: int
) -> VendorSession:
    """An authenticated session to ``integration``'s vendor with its limits and hosts.

    Used by a run and by the package jobs of the distributed mode (one per worker).
    """
    overrides = integration.limit_overrides
    try:
        limits = Limits.from_mapping(overrides) if overrides else None
    except ValueError as exc:  # stored before the limits were validated
        raise InvalidField("limits", str(exc)) from None
    session = make_session(
        options,
        pool_size=pool_size,
        limits=limits,
        provider_url=integration.provider_url,
        auth_url=integration.auth_url,
        allowed_package_hosts=integration.allowed_package_hosts,
    )
    session.auth = make_auth(
        integration.auth_mode,
        auth_url=integration.auth_url,
        client_id=integration.client_id,
        client_secret=integration.client_secret,
        session=session,
    )
    return session


class _Run:
    """One run: the phases wired together around the list loop."""

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
        self.integration = integration
        self.requested_full = full
        self.options = options
        self.progress = progress
        self.lock = held
        self.content_dir = content_root(settings, integration)
        self.list_complete = False
        self.fanout_factory: FanoutFactory | None = None
        self.fanout: PackageFanout | None = None

    def execute(self) -> SyncResult:
        start = record.open_run(self.engine, self.integration, self.options, self.requested_full)
        self.lock.set_run(start.run_id)
        result = SyncResult(
            run_id=start.run_id,
            integration=self.integration.name,
            status="running",
            full=start.full,
            started_at=start.started,
            if_modified_since=start.since,
        )
        self.batch = Batch(self.engine, self.integration, result, self.progress)
        self.classifier = Classifier(self.engine, self.integration, self.options, self.batch)
        log.info(
            "%s: sync run %d started (%s)",
            self.integration.name,
            start.run_id,
            "full list" if start.full else f"If-Modified-Since {iso(start.since)}",
        )
        try:
            if start.needs_cleanup:
                record.clean_content(self.engine, self.integration, self.content_dir)
            self._read_and_apply(start)
            # Only a complete full list can tell that a course is gone (an exception
            # above skips this).
            if start.full:
                self.classifier.flag_missing()
            self.batch.flush()
        except (VendorError, PackageError) as exc:
            result.error = str(exc)
            log.error("%s: sync run %d failed: %s", self.integration.name, start.run_id, exc)
            self.batch.safe_flush()
        except KeyboardInterrupt as exc:
            raise self._interrupted(exc) from None
        except BaseException as exc:
            # A database failure or a bug: record the run, then re-raise.
            is_ours = isinstance(exc, ConnectorError)
            result.error = str(exc) if is_ours else f"internal error: {type(exc).__name__}"
            self._finish_quietly(interrupted=False)
            raise
        self._finish(interrupted=False)
        return result

    def _interrupted(self, exc: KeyboardInterrupt) -> SyncInterrupted:
        """Record an interrupted run (what was done is kept) and say so to the caller."""
        stop = exc if isinstance(exc, SyncInterrupted) else SyncInterrupted("SIGINT")
        self.batch.result.error = f"interrupted by {stop.signal_name}"
        self._finish_quietly(interrupted=True)
        stop.result = self.batch.result
        return stop

    def _finish_quietly(self, *, interrupted: bool) -> None:
        # Already failing: record what we can, keep the first error.
        with contextlib.suppress(Exception):
            self.batch.safe_flush()
            self._finish(interrupted=interrupted)

    def _finish(self, *, interrupted: bool) -> None:
        if self.fanout is not None:
            self.fanout.finish_list(list_complete=self.list_complete, interrupted=interrupted)
            return
        result = self.batch.result
        record.final_status(
            result,
            list_complete=self.list_complete,
            interrupted=interrupted,
            lock_lost=self.lock.lost,
        )
        record.finish_run(self.engine, self.integration, result, self.batch.run_counts())

    # -- the list phase -------------------------------------------------------------------

    def _session(self) -> VendorSession:
        session = vendor_session(
            self.integration, self.options, pool_size=max(10, self.options.workers + 2)
        )
        session.hooks["response"].append(self.batch.count_request)
        return session

    def _read_and_apply(self, start: record.RunStart) -> None:
        """Read every page and apply it, fetching packages in parallel."""
        session = self._session()
        downloads: PackageWork
        if self.fanout_factory is not None:
            self.fanout = downloads = self.fanout_factory(self.batch, self.options)
        else:
            publisher = Publisher(self.engine, self.batch, self.options.workers)
            downloads = Downloads(session, self.options, self.content_dir, self.batch, publisher)
        client = VendorClient(session, self.integration.provider_url)
        try:
            try:
                for page in client.iter_pages(start.since):
                    self._apply_page(client, page.number, page.records, downloads)
                self.list_complete = True
                if self.options.download_packages:
                    for job in self.classifier.retry_jobs():
                        downloads.submit(job)
                self.batch.emit(SyncEvent("listed", self.integration.name, page=client.pages))
            except KeyboardInterrupt:
                downloads.cancel_queued()  # stop promptly; keep the ones already running
                raise
            finally:
                # Whatever happened to the list, publish what was downloaded.
                downloads.drain()
        finally:
            downloads.close()
            session.close()

    def _apply_page(
        self,
        client: VendorClient,
        number: int,
        records: list[CourseRecord],
        downloads: PackageWork,
    ) -> None:
        """Classify one list page's courses, queue their packages, write by batches."""
        batch = self.batch
        batch.result.pages = client.pages
        batch.emit(SyncEvent("page", self.integration.name, page=number, courses=len(records)))
        batch.now = db.utcnow()  # one timestamp per page for its metadata rows
        self.classifier.load_page(
            [r.vendor_id for r in records if isinstance(r.vendor_id, str) and r.vendor_id]
        )
        for course in records:
            job = self.classifier.classify(course)
            if job is not None:
                downloads.submit(job)
        downloads.harvest(wait=False)
        if batch.size >= self.options.batch_size:
            batch.flush()
