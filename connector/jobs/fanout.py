"""The list job's side of a distributed run: one package job per course, deferred with
the catalog writes that need it.

:class:`DeferredPackages` stands where :class:`connector.sync.downloads.Downloads` stands
in a single-machine run. It collects the courses whose package must be fetched and, once
per list page, writes the page's pending metadata rows and outcomes, raises the run's
pending-package counter and defers the package jobs, all in one transaction: a job never
exists without the catalog row it refers to, and the counter never misses a job.

The run's ``run_packages`` row starts with ``pending = 1``: the list's own share. When the
list is done, :meth:`DeferredPackages.finish_list` writes the list's counts and error and
takes that 1 away; whoever brings the counter to zero (the list job or the last package
job) closes the run (:func:`connector.jobs.publish.close_run_if_done`).
"""

from __future__ import annotations

import logging
from typing import Any

import procrastinate
import sqlalchemy as sa

from connector import db
from connector.jobs import publish
from connector.jobs.app import QUEUE_PACKAGES
from connector.jobs.app import TASK_PACKAGE
from connector.jobs.app import NewJob
from connector.jobs.app import course_lock
from connector.jobs.app import defer_in
from connector.sync.batch import Batch
from connector.sync.model import COUNT_KEYS
from connector.sync.model import Job
from connector.sync.model import SyncOptions

log = logging.getLogger("connector.jobs")


class DeferredPackages:
    """Package work as jobs (:class:`connector.sync.run.PackageFanout`)."""

    def __init__(
        self,
        batch: Batch,
        options: SyncOptions,
        app: procrastinate.App,
        sync_job_id: int | None,
    ) -> None:
        self.batch = batch
        self.options = options
        self.app = app
        self.waiting: list[Job] = []
        self.deferred = 0
        with batch.engine.begin() as conn:
            conn.execute(
                sa.insert(db.run_packages).values(
                    run_id=batch.result.run_id,
                    sync_job_id=sync_job_id,
                    pending=1,
                    counts=dict.fromkeys(COUNT_KEYS, 0),
                    downloads=0,
                )
            )

    def submit(self, job: Job) -> None:
        """Queue one course's package for the next deferral (at the end of the page)."""
        self.waiting.append(job)

    def harvest(self, *, wait: bool) -> None:
        """Defer what the page queued, with the page's writes (called once per page)."""
        self._defer()

    def drain(self) -> None:
        """Defer what is left (the end of the list, or a failure: keep what was listed)."""
        self._defer()

    def cancel_queued(self) -> None:
        """An interrupt: drop what was not deferred yet (the next run lists it again)."""
        self.waiting.clear()

    def close(self) -> None:
        """Nothing runs here: the jobs belong to the queue."""

    def _defer(self) -> None:
        if not self.waiting:
            return
        waiting, self.waiting = self.waiting, []
        run_id = self.batch.result.run_id
        integration_id = self.batch.integration.id
        new_jobs = [
            NewJob(
                task=TASK_PACKAGE,
                queue=QUEUE_PACKAGES,
                lock=course_lock(integration_id, job.vendor_id),
                kwargs=_package_args(run_id, integration_id, job),
            )
            for job in waiting
        ]
        with self.batch.engine.begin() as conn:
            self.batch.write_pending(conn)
            conn.execute(
                sa.update(db.run_packages)
                .where(db.run_packages.c.run_id == run_id)
                .values(pending=db.run_packages.c.pending + len(new_jobs))
            )
            defer_in(conn, self.app, new_jobs)
        self.deferred += len(new_jobs)
        log.debug("run %d: %d package job(s) deferred", run_id, len(new_jobs))

    def finish_list(self, *, list_complete: bool, interrupted: bool) -> None:
        """Record the list's share of the run and close it if no package is pending."""
        self.waiting.clear()
        result = self.batch.result
        if not list_complete and result.error is None:
            result.error = "interrupted" if interrupted else "the list was not read completely"
        with self.batch.engine.begin() as conn:
            self.batch.write_pending(conn)
            conn.execute(
                sa.update(db.sync_runs)
                .where(db.sync_runs.c.id == result.run_id)
                .values(error=result.error)
            )
            closed = publish.release_one(conn, result.run_id, self.batch.integration.id)
        if closed is not None:
            result.status = closed  # type: ignore[assignment] # a RunStatus from record
        log.info(
            "%s: run %d: list %s, %d package job(s) deferred%s",
            self.batch.integration.name,
            result.run_id,
            "read" if list_complete else "not read completely",
            self.deferred,
            f"; run closed as {closed}" if closed else "; the package jobs close the run",
        )


def _package_args(run_id: int, integration_id: int, job: Job) -> dict[str, Any]:
    """The package job's arguments: everything it needs without the list."""
    return {
        "run_id": run_id,
        "integration_id": integration_id,
        "vendor_id": job.vendor_id,
        "course": dict(job.obj),
        "outcome": job.outcome,
    }
