"""``cckit runs``: sync runs and their per-course outcomes."""

from __future__ import annotations

import click

from connector import catalog as catalog_api
from connector.cli._common import FORMAT
from connector.cli._common import counts_text
from connector.cli._common import echo_fields
from connector.cli._common import echo_json
from connector.cli._common import errors
from connector.cli._common import open_store
from connector.cli._common import store_options
from connector.cli._common import table
from connector.cli._common import when


@click.group()
def runs() -> None:
    """Inspect sync runs and their per-course outcomes."""


@runs.command("list")
@click.option("--integration", default=None, metavar="NAME", help="Only this integration.")
@click.option("--limit", type=int, default=20, show_default=True)
@FORMAT
@store_options
def runs_list(
    integration: str | None,
    limit: int,
    output_format: str,
    home: str | None,
    db_url: str | None,
) -> None:
    """List recent sync runs, newest first."""
    _settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        items = catalog_api.list_runs(engine, integration=integration, limit=limit)
    if output_format == "json":
        echo_json(items)
        return
    if not items:
        click.echo("No sync runs.")
        return
    rows = [
        [
            r["run_id"],
            r["integration"],
            r["status"],
            "full" if r["full"] else "incremental",
            when(r["started_at"]),
            counts_text(r["counts"]),
            r["downloads"],
        ]
        for r in items
    ]
    click.echo(
        table(["RUN", "INTEGRATION", "STATUS", "KIND", "STARTED", "COUNTS", "DOWNLOADS"], rows)
    )


@runs.command("show")
@click.argument("run_id", type=int)
@click.option("--failed", is_flag=True, help="Only the courses that failed.")
@FORMAT
@store_options
def runs_show(
    run_id: int, failed: bool, output_format: str, home: str | None, db_url: str | None
) -> None:
    """Show one run with the outcome of every course and its reason."""
    _settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        run = catalog_api.get_run(engine, run_id)
    if failed:
        run["outcomes"] = [o for o in run["outcomes"] if o["outcome"] == "failed"]
    if output_format == "json":
        echo_json(run)
        return
    lines: list[tuple[str, object]] = [
        (
            "Run",
            f"{run['run_id']} of {run['integration']}: {run['status']} "
            f"({'full' if run['full'] else 'incremental'})",
        ),
        ("Started", when(run["started_at"])),
        ("Finished", when(run["finished_at"], "-")),
    ]
    if run["if_modified_since"]:
        lines.append(("If-Modified-Since", when(run["if_modified_since"])))
    lines += [
        ("Counts", counts_text(run["counts"])),
        ("Pages", run["pages"]),
        ("Requests", run["requests"]),
        ("Downloads", run["downloads"]),
    ]
    if run["error"]:
        lines.append(("Error", run["error"]))
    echo_fields(lines)  # one line per field: vendor text cannot forge another line
    if run["outcomes"]:
        rows = [
            [o["id"], o["outcome"], " ".join(o["rule_ids"]), o["reason"] or ""]
            for o in run["outcomes"]
        ]
        click.echo(table(["COURSE", "OUTCOME", "RULES", "REASON"], rows))
