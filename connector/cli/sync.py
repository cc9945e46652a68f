"""``cckit sync``: sync one integration, or every enabled one, now.

On a terminal the run shows a live display (rich): pages and courses read, packages
done of those queued with bytes and rate, failures, and a total with an ETA once the
list is read. Without a terminal it writes one line per list page. SIGINT (Ctrl-C) and
SIGTERM end the run as ``interrupted``, with what it did recorded, and exit 130 / 143.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn
from rich.progress import Progress
from rich.progress import TaskID
from rich.progress import TextColumn
from rich.progress import TimeRemainingColumn

from connector import integrations as integrations_api
from connector.cli._common import FORMAT
from connector.cli._common import counts_text
from connector.cli._common import echo_json
from connector.cli._common import errors
from connector.cli._common import open_store
from connector.cli._common import setup_logging
from connector.cli._common import store_options
from connector.errors import ConnectorError
from schemas import visible

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from connector.config import Settings
    from connector.integrations import Integration
    from connector.sync import SyncOptions

#: Exit status of a run stopped by a signal (the shell's 128 + signal number).
_SIGNAL_EXIT = {"SIGINT": 130, "SIGTERM": 143}


class _LiveProgress:
    """A live display of one run on a terminal (rich), redrawn a few times a second."""

    def __init__(self, name: str) -> None:
        self.name = visible(name)
        self.pages = self.courses = self.failed = 0
        self.queued = self.done = 0
        self.bytes = 0
        self.started = time.monotonic()
        self.display = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[packages]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.task: TaskID = self.display.add_task(self._text(), total=None, packages="")
        self.display.start()

    def _text(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.bytes / elapsed / 1e6
        return (
            f"{self.name}: page {self.pages}, {self.courses} course(s), "
            f"{self.bytes / 1e6:.1f} MB at {rate:.1f} MB/s, {self.failed} failed"
        )

    def __call__(self, event: Any) -> None:
        kind = event.kind
        total: int | None = None
        if kind == "page":
            self.pages += 1
        elif kind == "course":
            self.courses += 1
            self.failed += event.outcome == "failed"
        elif kind == "queued":
            self.queued += 1
        elif kind == "download":
            self.done += 1
            self.bytes += event.size or 0
        elif kind == "listed":
            total = self.queued  # every package is queued now: a total and an ETA
        update: dict[str, Any] = {
            "description": self._text(),
            "completed": self.done,
            "packages": f"packages {self.done}/{self.queued}",
        }
        if total is not None:
            update["total"] = max(total, 1)
        self.display.update(self.task, **update)

    def close(self) -> None:
        self.display.stop()


class _LineProgress:
    """Without a terminal: one line per list page (and the end of the list)."""

    def __call__(self, event: Any) -> None:
        if event.kind in ("page", "listed"):
            click.echo(visible(event.message()), err=True)

    def close(self) -> None:
        """Nothing to tidy up."""


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`~connector.sync.SyncInterrupted` in the main thread.

    The run catches it, records itself as ``interrupted`` and re-raises it; a second
    signal while it does so is ignored (the record is written in well under a second).
    """
    from connector.sync import SyncInterrupted

    def stop(signum: int, _frame: FrameType | None) -> None:
        for caught in (signal.SIGINT, signal.SIGTERM):
            signal.signal(caught, signal.SIG_IGN)
        raise SyncInterrupted(signal.Signals(signum).name)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for caught, handler in previous.items():
            signal.signal(caught, handler)


def _describe_run(record: dict[str, Any]) -> list[str]:
    kind = "full" if record["full"] else "incremental"
    lines = [
        f"{record['integration']}: run {record['run_id']} {record['status']} ({kind}): "
        f"{counts_text(record['counts'])}; {record['pages']} page(s), {record['requests']} "
        f"request(s), {record['downloads']} download(s)"
    ]
    if record.get("error"):
        lines.append(f"  error: {visible(record['error'])}")
    for outcome in record.get("outcomes", []):
        if outcome["outcome"] == "failed":
            rules = f" [{' '.join(outcome['rule_ids'])}]" if outcome["rule_ids"] else ""
            lines.append(
                f"  failed {visible(outcome['id'])}{visible(rules)}: {visible(outcome['reason'])}"
            )
    return lines


@click.command("sync")
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True, help="Sync every enabled integration.")
@click.option("--full", is_flag=True, help="Request the full course list (no If-Modified-Since).")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=32),
    default=4,
    show_default=True,
    help="Parallel package downloads.",
)
@click.option(
    "--enqueue",
    is_flag=True,
    help="Put the sync on the job queue for `cckit worker` (PostgreSQL catalog) instead "
    "of running it here.",
)
@FORMAT
@click.option("-v", "--verbose", is_flag=True, help="Log every course and download.")
@store_options
def sync(
    name: str | None,
    all_: bool,
    full: bool,
    workers: int,
    enqueue: bool,
    output_format: str,
    verbose: bool,
    home: str | None,
    db_url: str | None,
) -> None:
    """Sync one integration (NAME) or every enabled one (--all) now.

    Exit status 0 when every run succeeded, 1 when a run failed or any course failed,
    130/143 when SIGINT/SIGTERM interrupted it (the run is recorded as interrupted).
    With --format json the run record is printed (a list with --all).
    With --enqueue the sync is queued for the workers (exit 0 also when one is already
    queued or running: that is said, nothing is queued twice).
    """
    if (name is None) == (not all_):
        raise click.UsageError("give an integration NAME or --all (not both)")
    if enqueue:
        _enqueue(name, all_, full, output_format, home, db_url)
        return
    # The run record printed below names every failure once; without -v the engine's own
    # log lines (meant for the scheduler's log and library users) would repeat each one.
    setup_logging(
        verbose,
        level=None if verbose else logging.WARNING,
        mute=() if verbose else ("connector.sync",),
    )
    settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        if all_:
            targets = integrations_api.list_all(engine, settings, enabled_only=True)
        else:
            targets = [integrations_api.get(engine, settings, name or "")]
    if all_ and not targets:
        click.echo("No enabled integrations.", err=True)
    # Imported here: the sync stack (jsonschema formats, aicc) takes a moment to load and
    # the argument and integration checks above should answer at once.
    from connector import sync as sync_api

    options = sync_api.SyncOptions(workers=workers)
    records: list[dict[str, Any]] = []
    ok = True
    try:
        with _interruptible():
            ok = _run_all(engine, settings, targets, full, options, output_format, records)
    except sync_api.SyncInterrupted as exc:
        # The run that was going has recorded itself; say which and what it did.
        _report_interrupted(exc, exc.result.integration if exc.result else (name or "sync"))
    if output_format == "json":
        echo_json(records if all_ else (records[0] if records else None))
    sys.exit(0 if ok else 1)


def _enqueue(
    name: str | None,
    all_: bool,
    full: bool,
    output_format: str,
    home: str | None,
    db_url: str | None,
) -> None:
    """``--enqueue``: one sync job per integration (a no-op that says so when pending)."""
    from connector.cli.jobs import open_queue

    settings, engine = open_queue(home, db_url)
    from connector.jobs import app as jobs_app
    from connector.jobs import queue

    with errors():
        if all_:
            targets = integrations_api.list_all(engine, settings, enabled_only=True)
        else:
            targets = [integrations_api.get(engine, settings, name or "")]
        app = jobs_app.defer_app(settings.database_url)
        answers = [queue.enqueue_sync(engine, app, item, full=full) for item in targets]
    if output_format == "json":
        data = [a.to_dict() for a in answers]
        echo_json(data if all_ else data[0])
        return
    if all_ and not answers:
        click.echo("No enabled integrations.", err=True)
    for answer in answers:
        click.echo(visible(answer.message()))


def _run_all(
    engine: Engine,
    settings: Settings,
    targets: list[Integration],
    full: bool,
    options: SyncOptions,
    output_format: str,
    records: list[dict[str, Any]],
) -> bool:
    """Sync each target in turn; True when every run succeeded."""
    from connector import sync as sync_api

    live = sys.stderr.isatty() and output_format == "text"
    ok = True
    for item in targets:
        progress: _LiveProgress | _LineProgress = (
            _LiveProgress(item.name) if live else _LineProgress()
        )
        try:
            item.client_secret.reveal()  # fail early and clearly if the key changed
            result = sync_api.sync(
                engine, settings, item, full=full, options=options, progress=progress
            )
        except ConnectorError as exc:
            ok = False
            click.echo(f"Error: {visible(item.name)}: {visible(exc)}", err=True)
            continue
        finally:
            progress.close()
        record = result.to_dict()
        records.append(record)
        ok = ok and result.ok
        if output_format == "text":
            for line in _describe_run(record):
                click.echo(line)
    return ok


def _report_interrupted(exc: Any, name: str) -> None:
    """Say which run was interrupted and what it had done; exit 130 or 143."""
    result = exc.result
    if result is not None:
        click.echo(
            f"{visible(name)}: run {result.run_id} interrupted by {exc.signal_name} and "
            f"recorded as interrupted: {counts_text(result.counts)}; {result.downloads} "
            "download(s) kept",
            err=True,
        )
    else:
        click.echo(f"{visible(name)}: interrupted by {exc.signal_name}", err=True)
    sys.exit(_SIGNAL_EXIT.get(exc.signal_name, 130))
