"""``cckit worker``: run sync and package jobs until SIGTERM, and rescue stalled ones.

procrastinate's worker sends a heartbeat every ``heartbeat`` seconds. Every worker also
looks, as often, for jobs still marked running by a worker whose heartbeat is older than
``stalled_after`` (killed with ``kill -9``, or its machine lost) and puts them back on
the queue, so another worker finishes them. SIGTERM (or SIGINT) stops taking new jobs
and lets the running ones finish; a second one stops at once (the jobs are then rescued
as stalled ones).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Sequence

import procrastinate

from connector.jobs.tasks import WorkerContext

log = logging.getLogger("connector.jobs")


async def _rescue_stalled(app: procrastinate.App, stalled_after: float, every: float) -> None:
    """Put jobs of dead workers back on the queue, for as long as the worker runs."""
    while True:
        await asyncio.sleep(every)
        try:
            stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
            for job in stalled:
                log.warning(
                    "job %s (%s) was running on a worker that stopped; queued again",
                    job.id,
                    job.task_name,
                )
                await app.job_manager.retry_job(job)
        except Exception as exc:  # a restarting database: try next time
            log.warning("stalled-job check failed: %s", type(exc).__name__)


async def serve(
    app: procrastinate.App,
    context: WorkerContext,
    *,
    concurrency: int,
    queues: Sequence[str] | None,
    heartbeat: float,
    stalled_after: float,
) -> None:
    """Run the worker until it is stopped by a signal."""
    async with app.open_async():
        rescue = asyncio.create_task(_rescue_stalled(app, stalled_after, heartbeat))
        try:
            await app.run_worker_async(
                concurrency=concurrency,
                queues=list(queues) if queues else None,  # type: ignore[arg-type] # None: all
                name=f"cckit-{socket.gethostname()}-{os.getpid()}",
                additional_context={"cckit": context},
                update_heartbeat_interval=heartbeat,
                stalled_worker_timeout=stalled_after,
                fetch_job_polling_interval=min(2.0, heartbeat),
                delete_jobs="never",
                install_signal_handlers=True,
            )
        finally:
            rescue.cancel()
