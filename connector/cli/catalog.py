"""``cckit catalog``: browse and administer the synchronised course catalog."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from connector import catalog as catalog_api
from connector.cli._common import FORMAT
from connector.cli._common import echo_fields
from connector.cli._common import echo_json
from connector.cli._common import errors
from connector.cli._common import open_store
from connector.cli._common import store_options
from connector.cli._common import table
from connector.cli._common import truncate
from connector.cli._common import when


@click.group()
def catalog() -> None:
    """Browse and administer the synchronised course catalog."""


_INTEGRATION_OPTION = click.option(
    "--integration", default=None, metavar="NAME", help="The integration holding the course."
)


@catalog.command("list")
@click.option("--integration", default=None, metavar="NAME", help="Only this integration.")
@click.option("--inactive", is_flag=True, help="Include deactivated courses.")
@FORMAT
@store_options
def catalog_list(
    integration: str | None,
    inactive: bool,
    output_format: str,
    home: str | None,
    db_url: str | None,
) -> None:
    """List the catalog's courses (active ones unless --inactive)."""
    _settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        rows = catalog_api.list_courses(engine, integration=integration, include_inactive=inactive)
    if output_format == "json":
        echo_json(rows)
        return
    if not rows:
        click.echo("No courses.")
        return
    click.echo(format_catalog(rows))


def format_catalog(rows: Sequence[dict[str, Any]]) -> str:
    """Render catalog rows (from ``list_courses``) as a text table."""
    table_rows = []
    for r in rows:
        flags = [r["state"]]
        if r["protected_fields"]:
            flags.append("protected:" + "/".join(r["protected_fields"]))
        table_rows.append(
            [
                r["integration"],
                r["id"],
                truncate(r["title"], 50),
                ",".join(r["languages"]),
                "yes" if r["has_package"] else "no",
                " ".join(flags),
            ]
        )
    return table(["INTEGRATION", "ID", "TITLE", "LANGUAGES", "PACKAGE", "STATE"], table_rows)


def _state_text(course: dict[str, Any]) -> str:
    """The course's state, with why and since when for a pending or failing course."""
    state = str(course["state"])
    if course["failing_since"] is None:
        return state
    rules = f" [{' '.join(course['failure_rules'])}]" if course["failure_rules"] else ""
    retry = (
        f"; next retry after {when(course['next_retry_at'])}"
        if course["next_retry_at"]
        else "; re-checked when the vendor lists it again"
    )
    return (
        f"{state}: failing since {when(course['failing_since'])} "
        f"({course['retry_count']} attempt(s)){rules}: {course['failure_reason']}{retry}"
    )


@catalog.command("show")
@click.argument("course_id")
@_INTEGRATION_OPTION
@FORMAT
@store_options
def catalog_show(
    course_id: str,
    integration: str | None,
    output_format: str,
    home: str | None,
    db_url: str | None,
) -> None:
    """Show one course: metadata, current package version and its AICC summary."""
    _settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        course = catalog_api.get_course(engine, course_id, integration=integration)
    if output_format == "json":
        echo_json(course)
        return
    package = course["current_package"]
    lines: list[tuple[str, Any]] = [
        ("ID", course["id"]),
        ("Integration", course["integration"]),
        ("Title", course["title"]),
        ("Description", truncate(course["description"].replace("\n", " "), 200)),
        ("State", _state_text(course)),
        ("Active", "yes" if course["is_active"] else "no"),
        (
            "Missing from vendor",
            f"since {when(course['missing_since'])}" if course["missing_from_vendor"] else "no",
        ),
        ("Languages", ", ".join(course["languages"])),
        ("Duration", course["duration"] or "-"),
        ("Version", course["version"] or "-"),
        ("Subjects", ", ".join(course["subjects"]) or "-"),
        ("Keywords", ", ".join(course["keywords"]) or "-"),
        ("Protected fields", ", ".join(course["protected_fields"]) or "none"),
        ("Vendor last modified", when(course["vendor_last_modified"], "-")),
        ("Package last modified", when(course["package_last_modified"], "-")),
    ]
    if package is None:
        lines.append(("Current package", "none"))
    else:
        lines += [
            ("Current package", package["sha256"]),
            ("Package size", f"{package['size']} bytes"),
            ("Content path", package["stored_path"]),
            ("Downloaded", when(package["downloaded_at"])),
        ]
        lines += _aicc_lines(package["aicc_summary"])
    lines.append(("Package versions", len(course["package_versions"])))
    echo_fields(lines)


def _aicc_lines(summary: Any) -> list[tuple[str, Any]]:
    """Key lines of a package's AICC summary (course title, sizes, warnings)."""
    if not isinstance(summary, dict):
        return []
    lines: list[tuple[str, Any]] = []
    for course in summary.get("courses") or []:
        if isinstance(course, dict):
            lines.append(
                (
                    "AICC course",
                    f"{course.get('title')!r} (Course_ID {course.get('course_id')}, level "
                    f"{course.get('level')}, {course.get('aus')} AU(s), {course.get('blocks')} "
                    f"block(s), {course.get('objectives')} objective(s))",
                )
            )
    for key, value in summary.items():
        if key in ("courses", "diagnostics") or isinstance(value, (dict, list)):
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        lines.append((f"AICC {key}", value))
    return lines


@catalog.command("activate")
@click.argument("course_id")
@_INTEGRATION_OPTION
@store_options
def catalog_activate(
    course_id: str, integration: str | None, home: str | None, db_url: str | None
) -> None:
    """Make a course visible in the catalog again."""
    _settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        course = catalog_api.set_active(engine, course_id, True, integration=integration)
    click.echo(f"Activated course {course['id']} ({course['integration']}).")


@catalog.command("deactivate")
@click.argument("course_id")
@_INTEGRATION_OPTION
@store_options
def catalog_deactivate(
    course_id: str, integration: str | None, home: str | None, db_url: str | None
) -> None:
    """Hide a course from the catalog (its content is kept)."""
    _settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        course = catalog_api.set_active(engine, course_id, False, integration=integration)
    click.echo(f"Deactivated course {course['id']} ({course['integration']}).")


@catalog.command("protect")
@click.argument("course_id")
@click.option(
    "--field",
    "fields",
    multiple=True,
    required=True,
    help="Title, Description, Keywords or Localization (repeatable).",
)
@click.option("--unprotect", is_flag=True, help="Remove the protection instead.")
@_INTEGRATION_OPTION
@store_options
def catalog_protect(
    course_id: str,
    fields: tuple[str, ...],
    unprotect: bool,
    integration: str | None,
    home: str | None,
    db_url: str | None,
) -> None:
    """Keep local edits of course fields: syncs will not overwrite protected fields."""
    _settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        result = catalog_api.protect(
            engine, course_id, list(fields), protected=not unprotect, integration=integration
        )
    click.echo(f"Protected fields of {course_id}: {', '.join(result) or 'none'}.")
