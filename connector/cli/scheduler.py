"""``cckit scheduler``: run every enabled integration daily at its Sync Time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from typing import Any

import click

from connector import integrations as integrations_api
from connector.cli._common import FORMAT
from connector.cli._common import echo_json
from connector.cli._common import errors
from connector.cli._common import open_store
from connector.cli._common import setup_logging
from connector.cli._common import store_options
from connector.cli._common import table

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from connector.config import Settings
    from connector.integrations import Integration
    from connector.scheduler import SyncFunction


@click.group()
def scheduler() -> None:
    """Run every enabled integration daily at its Sync Time."""


@scheduler.command("next")
@FORMAT
@store_options
def scheduler_next(output_format: str, home: str | None, db_url: str | None) -> None:
    """Print the next run time of every enabled integration (local and UTC)."""
    from connector import scheduler as scheduler_api

    settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        items = integrations_api.list_all(engine, settings, enabled_only=True)
    upcoming = scheduler_api.next_runs(items, dt.datetime.now(dt.UTC))
    if output_format == "json":
        echo_json([n.to_dict() for n in upcoming])
        return
    if not upcoming:
        click.echo("No enabled integrations.")
        return
    rows = [
        [
            n.name,
            f"{n.sync_time} {n.timezone}",
            n.local.strftime("%Y-%m-%d %H:%M %Z"),
            n.utc.strftime("%Y-%m-%d %H:%M UTC"),
        ]
        for n in upcoming
    ]
    click.echo(table(["NAME", "SYNC TIME", "NEXT RUN (LOCAL)", "NEXT RUN (UTC)"], rows))


@scheduler.command("run")
@click.option(
    "--reload-seconds",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    help="How often added, changed or removed integrations are picked up.",
)
@click.option(
    "--misfire-grace",
    type=click.IntRange(min=1),
    default=3600,
    show_default=True,
    help="Seconds a run may start late (after downtime) before it is skipped until tomorrow.",
)
@click.option(
    "--enqueue",
    is_flag=True,
    help="At each Sync Time put the sync on the job queue for `cckit worker` (PostgreSQL "
    "catalog) instead of running it in this process.",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@store_options
def scheduler_run(
    reload_seconds: int,
    misfire_grace: int,
    enqueue: bool,
    verbose: bool,
    home: str | None,
    db_url: str | None,
) -> None:
    """Run the scheduler in the foreground until SIGINT or SIGTERM.

    The cron alternative: run `cckit sync --all` (or `cckit sync --all --enqueue`) once
    a day.
    """
    from connector import scheduler as scheduler_api

    setup_logging(verbose)
    sync_fn = None
    if enqueue:
        from connector.cli.jobs import open_queue

        settings, engine = open_queue(home, db_url)
        sync_fn = _enqueuer(settings)
    else:
        settings, engine = open_store(home, db_url)
    with errors():
        scheduler_api.run_forever(
            engine,
            settings,
            reload_seconds=reload_seconds,
            misfire_grace_seconds=misfire_grace,
            sync_fn=sync_fn,
        )


def _enqueuer(settings: Settings) -> SyncFunction:
    """The scheduler's job in --enqueue mode: queue the sync (a no-op when one is pending)."""
    from connector.jobs import app as jobs_app
    from connector.jobs import queue

    app = jobs_app.defer_app(settings.database_url)

    def enqueue(engine: Engine, settings: Settings, integration: Integration) -> Any:
        return queue.enqueue_sync(engine, app, integration)

    return enqueue
