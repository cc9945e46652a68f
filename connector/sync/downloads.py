"""The packages phase: download, check and extract packages on a pool of worker threads.

:class:`Downloads` keeps a few jobs queued per worker so that the workers never wait
while the main thread reads a page or publishes a batch; it collects finished jobs,
hands good versions to the :class:`~connector.sync.publish.Publisher` and records
failed ones in the :class:`~connector.sync.batch.Batch` (the retry set).
"""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path

import requests

from connector import packages
from connector.errors import PackageError
from connector.http import VendorSession
from connector.packages import PackageVersion
from connector.sync.batch import Batch
from connector.sync.model import Job
from connector.sync.model import SyncEvent
from connector.sync.model import SyncOptions
from connector.sync.model import parse_time
from connector.sync.publish import Publisher

#: Package jobs queued per download worker (running ones included).
_QUEUED_PER_WORKER = 4


class Downloads:
    """A bounded pool of package fetches feeding the publisher."""

    def __init__(
        self,
        session: VendorSession,
        options: SyncOptions,
        content_dir: Path,
        batch: Batch,
        publisher: Publisher,
    ) -> None:
        self.session = session
        self.options = options
        self.content_dir = content_dir
        self.batch = batch
        self.publisher = publisher
        # One pool does the whole fetch of a package (download, checks, extraction): a
        # separate extraction pool was measured slower, the work being CPU-bound.
        self.pool = cf.ThreadPoolExecutor(
            max_workers=max(1, options.workers), thread_name_prefix="cckit-download"
        )
        self.in_flight: dict[cf.Future[PackageVersion], Job] = {}
        # Work queued ahead of the workers: enough that they never wait while the main
        # thread reads a page or switches a batch in (which waits for the GIL).
        self.ahead = _QUEUED_PER_WORKER * max(1, options.workers)

    def submit(self, job: Job) -> None:
        """Queue one package; blocks (collecting results) while the queue is full."""
        self.in_flight[self.pool.submit(self._fetch, job)] = job
        if self.batch.progress is not None:
            name = self.batch.integration.name
            self.batch.emit(SyncEvent("queued", name, vendor_id=job.vendor_id))
        while len(self.in_flight) >= self.ahead:
            self.harvest(wait=True)

    def cancel_queued(self) -> None:
        """Drop the jobs no worker has started (an interrupt: stop promptly)."""
        for future in list(self.in_flight):
            if future.cancel():
                del self.in_flight[future]

    def drain(self) -> None:
        """Wait for every running job and publish what finished."""
        while self.in_flight:
            self.harvest(wait=True)
        self.publisher.switch_ready()

    def close(self) -> None:
        """Stop the workers (after :meth:`drain`, nothing is left to wait for)."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _fetch(self, job: Job) -> PackageVersion:
        """Download, check and extract one package (runs in a download worker)."""
        return fetch_one(self.session, self.options, self.content_dir, job)

    def harvest(self, *, wait: bool) -> None:
        """Collect finished downloads and publish a batch when one is due.

        Args:
            wait: block until one job finishes, or until the oldest waiting version is
                due, so that a slow download never holds back the ones already finished.
        """
        in_flight = self.in_flight
        if not in_flight:
            done: set[cf.Future[PackageVersion]] = set()
        elif wait:
            budget = self.publisher.wait_budget()
            done, _ = cf.wait(list(in_flight), timeout=budget, return_when=cf.FIRST_COMPLETED)
        else:
            done = {f for f in in_flight if f.done()}
        for future in done:
            self._collect(in_flight.pop(future), future)
        self.publisher.switch_if_due()

    def _collect(self, job: Job, future: cf.Future[PackageVersion]) -> None:
        name = self.batch.integration.name
        try:
            version = future.result()
        except Exception as exc:
            failure = failure_of(exc)
            if failure is None:
                raise
            reason, rules = failure
            self.batch.emit(
                SyncEvent("download", name, vendor_id=job.vendor_id, reason=reason, ok=False)
            )
            self.batch.package_failed(job, reason, rules)
            return
        self.batch.result.downloads += 1
        self.batch.emit(SyncEvent("download", name, vendor_id=job.vendor_id, size=version.size))
        self.publisher.add(job, version)


def fetch_one(
    session: VendorSession, options: SyncOptions, content_dir: Path, job: Job
) -> PackageVersion:
    """Download, check and extract one course's package into ``content_dir/<course>``.

    Used by the download threads and by the package jobs of the distributed mode.
    """
    obj = job.obj
    return packages.fetch_package(
        session,
        obj["DownloadPackageUrl"],
        content_dir / job.vendor_id,
        course_id=job.vendor_id,
        package_last_modified=parse_time(obj.get("PackageLastModifiedUTC")),
        max_bytes=options.max_package_bytes,
        limits=options.archive_limits,
        spool_bytes=options.spool_bytes,
    )


def failure_of(exc: Exception) -> tuple[str, list[str]] | None:
    """The reason and requirement IDs of a failed package fetch (None: not a package failure)."""
    if isinstance(exc, PackageError):
        return exc.reason, list(exc.rule_ids)
    if isinstance(exc, (requests.RequestException, OSError)):
        return f"package download failed: {type(exc).__name__}", ["PKG-001"]
    return None
