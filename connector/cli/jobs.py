"""``cckit jobs``: the job queue of the distributed mode (PostgreSQL + procrastinate).

Also home of :func:`open_queue`, which every distributed command (``cckit worker``,
``cckit sync --enqueue``, ``cckit scheduler run --enqueue``) uses to open the catalog:
it refuses an SQLite catalog in one line and makes sure the job tables exist.
"""

from __future__ import annotations

import click
from sqlalchemy.engine import Engine

from connector import db
from connector.cli._common import FORMAT
from connector.cli._common import echo_json
from connector.cli._common import errors
from connector.cli._common import store_options
from connector.cli._common import table
from connector.cli._common import when
from connector.config import Settings

_STATUSES = ("queued", "running", "done", "failed", "cancelled", "aborted")


def open_queue(home: str | None, db_url: str | None) -> tuple[Settings, Engine]:
    """Resolve the settings, refuse a non-PostgreSQL catalog, open it with the job tables."""
    with errors():
        settings = Settings.resolve(home=home, db_url=db_url)
        from connector.jobs import app as jobs_app

        jobs_app.conninfo(settings.database_url)  # the one-line refusal comes first
        engine = db.connect(settings)
        jobs_app.ensure_schema(engine)
        return settings, engine


@click.group()
def jobs() -> None:
    """The job queue of the distributed mode (see `cckit worker`)."""


@jobs.command("list")
@click.option(
    "--status",
    "statuses",
    type=click.Choice(_STATUSES),
    multiple=True,
    help="Only jobs in this state (repeatable). Default: every state.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Newest jobs shown.",
)
@FORMAT
@store_options
def jobs_list(
    statuses: tuple[str, ...],
    limit: int,
    output_format: str,
    home: str | None,
    db_url: str | None,
) -> None:
    """Show queued, running, failed and done jobs with their integration and run."""
    _settings, engine = open_queue(home, db_url)
    from connector.jobs import queue

    with errors():
        rows = queue.list_jobs(engine, statuses=list(statuses), limit=limit)
    if output_format == "json":
        echo_json([r.to_dict() for r in rows])
        return
    if not rows:
        click.echo("No jobs.")
        return
    click.echo(
        table(
            ["JOB", "TASK", "STATUS", "INTEGRATION", "RUN", "COURSE", "ATTEMPTS", "FINISHED"],
            [
                [
                    r.id,
                    r.task,
                    r.status,
                    r.integration or "-",
                    r.run_id if r.run_id is not None else "-",
                    r.course or "-",
                    r.attempts,
                    when(r.finished_at, never="-"),
                ]
                for r in rows
            ],
        )
    )
