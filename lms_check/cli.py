"""``cckit lms-check``: grade an LMS connector against scripted vendor scenarios."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group("lms-check")
def lms_check() -> None:
    """Grade an LMS connector (the client side of the contract), requirement by requirement."""


@lms_check.command("scenarios")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def scenarios(output_format: str) -> None:
    """List the scenarios, their steps and the requirements each one judges."""
    from lms_check.scenarios import SCENARIOS

    if output_format == "json":
        click.echo(json.dumps([s.to_dict() for s in SCENARIOS], indent=2))
        return
    for scenario in SCENARIOS:
        click.echo(f"{scenario.name}: {scenario.summary}")
        for step in scenario.steps:
            click.echo(f"    - {step}")
        click.echo(f"    judges: {' '.join(scenario.requirements)}")


@lms_check.command("run")
@click.option(
    "--sync-cmd", required=True, metavar="CMD", help="Shell command: one sync of your client."
)
@click.option(
    "--catalog-cmd",
    metavar="CMD",
    help="Shell command printing your client's catalog as a JSON array of "
    '{"id", "active", "title", "package_sha256"}. Without it, catalog state is not checked.',
)
@click.option(
    "--scenario",
    "names",
    multiple=True,
    metavar="NAME",
    help="Run only this scenario (repeatable; see 'cckit lms-check scenarios').",
)
@click.option("--strict", is_flag=True, help="Fail on SHOULD requirements too.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Seconds one sync (or catalog) command may run before it is killed.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 8),
    default=4,
    show_default=True,
    help="Scenarios played at once (each has its own mock and state folder).",
)
@click.option("--tls", is_flag=True, help="Serve https with a throw-away CA (CCKIT_LMS_CA_FILE).")
@click.option("--report-json", type=click.Path(dir_okay=False), help="Write the JSON report.")
@click.option("--junitxml", type=click.Path(dir_okay=False), help="Write a JUnit XML report.")
@click.option("--html", type=click.Path(dir_okay=False), help="Write a self-contained HTML report.")
def run(
    sync_cmd: str,
    catalog_cmd: str | None,
    names: tuple[str, ...],
    strict: bool,
    timeout: float,
    jobs: int,
    tls: bool,
    report_json: str | None,
    junitxml: str | None,
    html: str | None,
) -> None:
    """Play the vendor scenarios against your client and print a per-requirement table.

    Exit status: 0 when no requirement failed, 1 when one did, 2 on usage errors.
    """
    from lms_check._report import ScenarioResult
    from lms_check._runner import run_check
    from lms_check._runner import select
    from lms_check.errors import ConfigurationError

    def progress(done: int, total: int, result: ScenarioResult) -> None:
        failed = result.failed
        outcome = "error" if result.error else ("FAILED " + " ".join(failed) if failed else "ok")
        syncs = len(result.syncs)
        click.echo(
            f"lms-check [{done:>2}/{total}] {result.name}: {outcome} "
            f"({syncs} sync{'s' if syncs != 1 else ''}, {result.seconds:.1f} s)",
            err=True,
        )

    try:
        chosen = select(names)
        click.echo(f"lms-check: {len(chosen)} scenario(s), client: {sync_cmd}", err=True)
        result = run_check(
            sync_cmd,
            catalog_cmd=catalog_cmd,
            scenarios=names,
            strict=strict,
            timeout=timeout,
            tls=tls,
            jobs=jobs,
            progress=progress,
        )
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
    for path, text in (
        (report_json, result.to_json()),
        (junitxml, result.to_junit()),
        (html, result.to_html()),
    ):
        if path:
            Path(path).write_text(text, encoding="utf-8")
    failures = result.failures()
    if failures:
        click.echo(failures + "\n")
    click.echo(result.table())
    if result.failed:
        ids = ", ".join(r.id for r in result.failed)
        click.echo(f"lms-check: FAIL ({len(result.failed)} requirement(s) failed: {ids})")
    else:
        warnings = result.summary["warnings"]
        click.echo("lms-check: PASS" + (f" ({warnings} SHOULD warning(s))" if warnings else ""))
    sys.exit(result.exit_code)
