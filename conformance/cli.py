"""``cckit conformance``: check a vendor against contract v1 from the command line.

No asserts in this module: it is imported before ``pytest.main`` runs, so pytest could not
rewrite them (and would warn).
"""

from __future__ import annotations

import click

from conformance._settings import SECRET_ENV


@click.group("conformance")
def conformance() -> None:
    """Check a vendor's endpoints against the cckit vendor contract v1."""


@conformance.command("run")
@click.option("--course-list-url", required=True, metavar="URL", help="Course list (Provider) URL.")
@click.option("--auth-url", metavar="URL", help="Token (Authentication) URL; oauth2 mode.")
@click.option("--client-id", required=True, metavar="ID", help="Client ID issued by the vendor.")
@click.option(
    "--client-secret",
    envvar=SECRET_ENV,
    metavar="SECRET",
    help=f"Client secret (or the {SECRET_ENV} environment variable).",
)
@click.option(
    "--auth-mode",
    type=click.Choice(["oauth2", "basic"]),
    default="oauth2",
    show_default=True,
    help="oauth2: token endpoint + Bearer; basic: HTTP Basic on every call.",
)
@click.option("--report-json", type=click.Path(dir_okay=False), help="Write the JSON report.")
@click.option("--junitxml", type=click.Path(dir_okay=False), help="Write a JUnit XML report.")
@click.option("--html", type=click.Path(dir_okay=False), help="Write a self-contained HTML report.")
@click.option(
    "--max-packages",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Packages to download and check (a sample chosen by --seed).",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Sample/probe seed."
)
@click.option("--strict", is_flag=True, help="Fail on SHOULD requirements too.")
@click.option(
    "--expected-failures",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON/YAML file of requirement IDs expected to fail, each with a reason.",
)
def run(
    course_list_url: str,
    auth_url: str | None,
    client_id: str,
    client_secret: str | None,
    auth_mode: str,
    report_json: str | None,
    junitxml: str | None,
    html: str | None,
    max_packages: int,
    seed: int,
    strict: bool,
    expected_failures: str | None,
) -> None:
    """Run the conformance suite against a vendor and print a per-requirement table.

    Exit status: 0 when no requirement failed, 1 when one did, 2 on usage or connection
    errors.
    """
    from conformance._runner import check_vendor
    from conformance.errors import ConfigurationError
    from conformance.errors import TargetUnreachableError

    if not client_secret:
        raise click.UsageError(f"--client-secret (or the {SECRET_ENV} variable) is required")
    try:
        result = check_vendor(
            course_list_url,
            auth_url=auth_url,
            client_id=client_id,
            client_secret=client_secret,
            auth_mode=auth_mode,
            max_packages=max_packages,
            seed=seed,
            strict=strict,
            expected_failures=expected_failures,
            report_json=report_json,
            junitxml=junitxml,
            html=html,
            quiet=False,
            option_style="cli",
        )
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
    except TargetUnreachableError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None
    failed = [r.id for r in result.failed]
    if failed:
        click.echo(f"conformance: FAIL ({len(failed)} requirement(s) failed: {', '.join(failed)})")
    else:
        warnings = result.summary["warnings"]
        click.echo("conformance: PASS" + (f" ({warnings} SHOULD warning(s))" if warnings else ""))
    raise SystemExit(result.exit_code)
