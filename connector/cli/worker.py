"""``cckit worker``: run sync and package jobs from the queue until SIGTERM."""

from __future__ import annotations

import asyncio
import logging

import click

from connector.cli._common import errors
from connector.cli._common import setup_logging
from connector.cli._common import store_options
from connector.cli.jobs import open_queue


@click.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=64),
    default=4,
    show_default=True,
    help="Jobs run at once by this process (package downloads are I/O-bound).",
)
@click.option(
    "--queue",
    "queues",
    type=click.Choice(["syncs", "packages"]),
    multiple=True,
    help="Serve only this queue (repeatable). Default: both.",
)
@click.option(
    "--heartbeat",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds between this worker's heartbeats (and stalled-job checks).",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=0.5),
    default=60.0,
    show_default=True,
    help="A worker silent this many seconds is dead: its running jobs are queued again.",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@store_options
def worker(
    concurrency: int,
    queues: tuple[str, ...],
    heartbeat: float,
    stalled_after: float,
    verbose: bool,
    home: str | None,
    db_url: str | None,
) -> None:
    """Run sync and package jobs until SIGTERM (graceful: running jobs finish).

    Needs a PostgreSQL catalog (--db or CCKIT_DATABASE_URL) and the content store every
    worker shares (CCKIT_CONTENT_DIR); see docs/connector.md, "Running on several
    machines".
    """
    setup_logging(verbose)
    if not verbose:
        # procrastinate logs every job with its arguments (a whole course object per
        # package job): keep its warnings and errors, and our own one line per run.
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    settings, engine = open_queue(home, db_url)
    from connector.jobs import app as jobs_app
    from connector.jobs import worker as jobs_worker
    from connector.jobs.tasks import WorkerContext

    with errors():
        app = jobs_app.worker_app(settings.database_url)
        context = WorkerContext(engine, settings, jobs_app.defer_app(settings.database_url))
    if heartbeat >= stalled_after:
        raise click.BadParameter("must be longer than --heartbeat", param_hint="--stalled-after")
    click.echo(
        f"worker: {concurrency} job(s) at once, queues {', '.join(queues) or 'syncs, packages'}",
        err=True,
    )
    asyncio.run(
        jobs_worker.serve(
            app,
            context,
            concurrency=concurrency,
            queues=queues or None,
            heartbeat=heartbeat,
            stalled_after=stalled_after,
        )
    )
    click.echo("worker: stopped", err=True)
