"""Putting syncs on the queue, and reading the queue (``cckit jobs list``).

:func:`enqueue_sync` is what ``cckit sync --enqueue`` and ``cckit scheduler run
--enqueue`` call. A second enqueue while the integration's sync job is queued or
running, or while its last run's package jobs are still pending, is a no-op that says
so (the :class:`Enqueued` record carries the reason).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import procrastinate
import sqlalchemy as sa
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.engine import Engine

from connector import db
from connector.integrations import Integration
from connector.jobs.app import QUEUE_SYNCS
from connector.jobs.app import TASK_PACKAGE
from connector.jobs.app import TASK_SYNC
from connector.jobs.app import NewJob
from connector.jobs.app import defer_in
from connector.jobs.app import sync_lock

#: procrastinate's job statuses as ``cckit jobs list`` shows them.
STATUS_NAMES = {
    "todo": "queued",
    "doing": "running",
    "succeeded": "done",
    "failed": "failed",
    "cancelled": "cancelled",
    "aborting": "aborting",
    "aborted": "aborted",
}


@dataclass(frozen=True)
class Enqueued:
    """The answer to one enqueue: the new job's ID, or why nothing was queued."""

    integration: str
    job_id: int | None
    reason: str | None = None

    @property
    def queued(self) -> bool:
        """True when a new sync job was put on the queue."""
        return self.job_id is not None

    # The scheduler logs what its job returned (connector.scheduler.describe_result).
    @property
    def status(self) -> str:
        return "queued" if self.queued else "not queued"

    @property
    def run_id(self) -> str:
        return f"job {self.job_id}" if self.queued else "-"

    @property
    def error(self) -> str | None:
        return self.reason

    def message(self) -> str:
        """One line for the CLI and the scheduler's log."""
        if self.queued:
            return f"{self.integration}: sync queued (job {self.job_id})"
        return f"{self.integration}: not queued: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``cckit sync --enqueue --format json``)."""
        return {
            "integration": self.integration,
            "queued": self.queued,
            "job_id": self.job_id,
            "reason": self.reason,
        }


def enqueue_sync(
    engine: Engine, app: procrastinate.App, integration: Integration, *, full: bool = False
) -> Enqueued:
    """Queue a sync of ``integration`` unless one is queued, running or still publishing."""
    busy = _busy_reason(engine, integration.id)
    if busy is not None:
        return Enqueued(integration.name, None, busy)
    key = sync_lock(integration.id)
    new = NewJob(
        task=TASK_SYNC,
        queue=QUEUE_SYNCS,
        kwargs={"integration_id": integration.id, "full": full},
        lock=key,
        queueing_lock=key,
    )
    try:
        with engine.begin() as conn:
            (job_id,) = defer_in(conn, app, [new])
    except AlreadyEnqueued:  # another enqueue won the race just now
        return Enqueued(integration.name, None, "a sync job is already queued")
    return Enqueued(integration.name, job_id)


def _busy_reason(engine: Engine, integration_id: int) -> str | None:
    with engine.connect() as conn:
        job = conn.execute(
            sa.text(
                "SELECT id, status FROM procrastinate_jobs WHERE task_name = :task "
                "AND lock = :lock AND status IN ('todo', 'doing') ORDER BY id LIMIT 1"
            ),
            {"task": TASK_SYNC, "lock": sync_lock(integration_id)},
        ).first()
        if job is not None:
            state = "queued" if job.status == "todo" else "running"
            return f"a sync job is already {state} (job {job.id})"
        pending = conn.execute(
            sa.text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task "
                "AND status IN ('todo', 'doing') AND args->>'integration_id' = :iid"
            ),
            {"task": TASK_PACKAGE, "iid": str(integration_id)},
        ).scalar_one()
    if pending:
        return f"the previous run still has {pending} package job(s) pending"
    return None


@dataclass(frozen=True)
class JobRow:
    """One job as ``cckit jobs list`` shows it."""

    id: int
    task: str
    status: str
    integration: str | None
    run_id: int | None
    course: str | None
    attempts: int
    queued_at: dt.datetime | None
    finished_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "task": self.task,
            "status": self.status,
            "integration": self.integration,
            "run_id": self.run_id,
            "course": self.course,
            "attempts": self.attempts,
            "queued_at": _iso(self.queued_at),
            "finished_at": _iso(self.finished_at),
        }


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


_LIST_SQL = """
SELECT j.id, j.task_name, j.status, j.args, j.attempts,
       (SELECT min(e.at) FROM procrastinate_events e
         WHERE e.job_id = j.id AND e.type = 'deferred') AS queued_at,
       (SELECT max(e.at) FROM procrastinate_events e
         WHERE e.job_id = j.id AND e.type IN ('succeeded', 'failed', 'cancelled', 'aborted'))
         AS finished_at
  FROM procrastinate_jobs j
 WHERE j.task_name IN (:sync, :package)
   AND (CAST(:status AS text) IS NULL OR j.status::text = ANY(string_to_array(:status, ',')))
 ORDER BY j.id DESC
 LIMIT :limit
"""


def list_jobs(
    engine: Engine, *, statuses: list[str] | None = None, limit: int = 100
) -> list[JobRow]:
    """The newest ``limit`` jobs (optionally only some statuses: queued, running, ...)."""
    wanted = None
    if statuses:
        reverse = {v: k for k, v in STATUS_NAMES.items()}
        wanted = ",".join(reverse.get(s, s) for s in statuses)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(_LIST_SQL),
            {"sync": TASK_SYNC, "package": TASK_PACKAGE, "status": wanted, "limit": limit},
        ).all()
        names = dict(conn.execute(sa.select(db.integrations.c.id, db.integrations.c.name)).all())
        sync_runs = dict(
            conn.execute(
                sa.select(db.run_packages.c.sync_job_id, db.run_packages.c.run_id).where(
                    db.run_packages.c.sync_job_id.in_([r.id for r in rows])
                )
            ).all()
        )
    result = []
    for row in rows:
        args = row.args or {}
        integration_id = args.get("integration_id")
        run_id = args.get("run_id", sync_runs.get(row.id))
        result.append(
            JobRow(
                id=row.id,
                task=row.task_name,
                status=STATUS_NAMES.get(row.status, row.status),
                integration=names.get(integration_id),
                run_id=run_id,
                course=args.get("vendor_id"),
                attempts=row.attempts,
                queued_at=row.queued_at,
                finished_at=row.finished_at,
            )
        )
    return result
