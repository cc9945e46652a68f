"""The two tasks a ``cckit worker`` runs: an integration's sync, and one course's package.

``cckit.sync`` (queue ``syncs``) reads the course list exactly as ``cckit sync`` does
(:func:`connector.sync.sync`), but hands every package to a ``cckit.package`` job
(queue ``packages``) instead of a download thread. One sync job per integration at a
time: ``lock`` and ``queueing_lock`` are ``sync:<integration id>``. A sync job waits
(it is retried later) while package jobs of the integration's previous run are still
queued or running, so two runs never publish the same integration at once.

``cckit.package`` downloads, checks and extracts one package into the shared content
store, then publishes it in its own transaction (:mod:`connector.jobs.publish`). Its
``lock`` is ``course:<integration id>:<vendor id>``: one course's jobs run in order.

A job that fails on the database (PostgreSQL restarting) is retried by procrastinate
with a backoff; a job whose worker died is retried by another worker once the dead
worker's heartbeat is older than the stall timeout (``cckit worker``). Both are safe to
run again: nothing of a job counts until its transaction commits.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import procrastinate
import sqlalchemy as sa
from procrastinate import JobContext
from procrastinate import RetryStrategy
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from connector import integrations
from connector.config import Settings
from connector.errors import ConnectorError
from connector.errors import IntegrationNotFound
from connector.errors import SyncLockedError
from connector.http import VendorSession
from connector.integrations import Integration
from connector.jobs.app import QUEUE_PACKAGES
from connector.jobs.app import QUEUE_SYNCS
from connector.jobs.app import TASK_PACKAGE
from connector.jobs.app import TASK_SYNC
from connector.jobs.fanout import DeferredPackages
from connector.jobs.publish import PackageDone
from connector.jobs.publish import publish_package
from connector.jobs.publish import record_failure
from connector.sync.batch import Batch
from connector.sync.downloads import failure_of
from connector.sync.downloads import fetch_one
from connector.sync.model import Job
from connector.sync.model import OutcomeKind
from connector.sync.model import SyncOptions
from connector.sync.run import vendor_session

log = logging.getLogger("connector.jobs")

#: A worker re-reads an integration (and logs in again) at most this often.
_VENDOR_TTL_S = 300.0


class RunBusy(ConnectorError):
    """Package jobs of the integration's previous run are still queued or running."""


@dataclass
class WorkerContext:
    """What the tasks of one worker process share: the catalog, settings, vendor sessions."""

    engine: Engine
    settings: Settings
    defer_app: procrastinate.App
    options: SyncOptions = field(default_factory=SyncOptions)
    _vendors: dict[int, tuple[float, Integration, VendorSession]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def vendor(self, integration_id: int) -> tuple[Integration, VendorSession]:
        """The integration and an authenticated session, shared by this worker's jobs.

        One token serves every package job of the integration in this process.
        """
        with self._lock:
            cached = self._vendors.get(integration_id)
            if cached is not None and time.monotonic() - cached[0] < _VENDOR_TTL_S:
                return cached[1], cached[2]
            item = integrations.get_by_id(self.engine, self.settings, integration_id)
            session = vendor_session(item, self.options, pool_size=16)
            if cached is not None:
                cached[2].close()
            self._vendors[integration_id] = (time.monotonic(), item, session)
            return item, session


def _context(context: JobContext) -> WorkerContext:
    ctx = context.additional_context.get("cckit")
    if not isinstance(ctx, WorkerContext):  # pragma: no cover - wiring error
        raise RuntimeError("cckit tasks run only in `cckit worker`")
    return ctx


def packages_in_flight(engine: Engine, integration_id: int) -> int:
    """Package jobs of ``integration_id`` that are queued or running (any run)."""
    with engine.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task "
                "AND status IN ('todo', 'doing') AND args->>'integration_id' = :iid"
            ),
            {"task": TASK_PACKAGE, "iid": str(integration_id)},
        ).scalar_one()
    return int(found)


def sync_job(context: JobContext, integration_id: int, full: bool = False) -> dict[str, Any]:
    """The ``cckit.sync`` task: read the list, defer the packages (see the module docstring)."""
    from connector.sync import sync

    ctx = _context(context)
    try:
        item = integrations.get_by_id(ctx.engine, ctx.settings, integration_id)
    except IntegrationNotFound:
        log.warning("sync job: integration %d no longer exists; nothing to do", integration_id)
        return {"skipped": "integration removed"}
    if not item.enabled:
        log.info("sync job: %s is disabled; nothing to do", item.name)
        return {"skipped": "disabled"}
    waiting = packages_in_flight(ctx.engine, integration_id)
    if waiting:
        raise RunBusy(f"{item.name}: {waiting} package job(s) of the previous run are pending")
    job_id = context.job.id

    def fanout(batch: Batch, options: SyncOptions) -> DeferredPackages:
        return DeferredPackages(batch, options, ctx.defer_app, job_id)

    try:
        result = sync(
            ctx.engine, ctx.settings, item, full=full, fanout=fanout, lock_tag=f"job-{job_id}"
        )
    except ConnectorError as exc:
        # procrastinate logs only that the job failed: say why, in one line.
        log.error("sync job %s: %s: %s", job_id, item.name, exc)
        raise
    return {"run_id": result.run_id, "status": result.status}


def package_job(
    context: JobContext,
    run_id: int,
    integration_id: int,
    vendor_id: str,
    course: dict[str, Any],
    outcome: str,
) -> dict[str, Any]:
    """The ``cckit.package`` task: fetch one package and publish it (see the module docstring)."""
    ctx = _context(context)
    try:
        item, session = ctx.vendor(integration_id)
    except IntegrationNotFound:
        return {"skipped": "integration removed"}  # its runs went with it
    kind: OutcomeKind = "new" if outcome == "new" else "updated"
    job = Job(vendor_id, course, None, kind)
    content_dir = integrations.content_root(ctx.settings, item)
    try:
        version = fetch_one(session, ctx.options, content_dir, job)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            raise
        done = record_failure(ctx.engine, item, run_id, course, *failure)
    else:
        done = publish_package(ctx.engine, item, run_id, course, kind, version)
        if not done.published:
            _drop_unreferenced(ctx.engine, version.stored_path)
    return _report(done)


def _drop_unreferenced(engine: Engine, path: Any) -> None:
    """Remove a version folder this job extracted but did not publish (a stale package)."""
    from connector import db

    with engine.connect() as conn:
        used = conn.execute(
            sa.select(db.package_versions.c.id)
            .where(db.package_versions.c.stored_path == str(path))
            .limit(1)
        ).first()
    if used is None:
        shutil.rmtree(path, ignore_errors=True)


def _report(done: PackageDone) -> dict[str, Any]:
    report: dict[str, Any] = {"outcome": done.outcome, "published": done.published}
    if done.reason:
        report["reason"] = done.reason
    if done.run_status:
        report["run_closed"] = done.run_status
    return report


def register(app: procrastinate.App) -> None:
    """Register both tasks on ``app`` (the worker's)."""
    app.task(
        name=TASK_SYNC,
        queue=QUEUE_SYNCS,
        pass_context=True,
        # Waiting for the previous run's packages, a lock a dead process still holds
        # (until its heartbeat is stale) or a restarting database: try again later.
        retry=RetryStrategy(
            max_attempts=60,
            wait=10,
            retry_exceptions={RunBusy, SyncLockedError, OperationalError},
        ),
    )(sync_job)
    app.task(
        name=TASK_PACKAGE,
        queue=QUEUE_PACKAGES,
        pass_context=True,
        retry=RetryStrategy(
            max_attempts=8, exponential_wait=2, retry_exceptions={OperationalError}
        ),
    )(package_job)
