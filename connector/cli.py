"""``cckit integrations|catalog|runs|scheduler|sync|demo``: the connector's commands.

Every command accepts ``--home DIR`` (else ``CCKIT_HOME``) and ``--db URL`` (else
``CCKIT_DATABASE_URL``, else an SQLite file in the home directory). Errors are printed as
one clear line (exit 1; bad option values exit 2); secrets are never printed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from typing import TypeVar

import click
from sqlalchemy.engine import Engine

from connector import catalog as catalog_api
from connector import db
from connector import integrations as integrations_api
from connector.config import HOME_ENV
from connector.config import Settings
from connector.errors import ConfigError
from connector.errors import ConnectorError
from connector.errors import InvalidField
from connector.integrations import Integration
from connector.secrets import Secret

F = TypeVar("F", bound=Callable[..., Any])

#: Field name (library) -> option name (CLI), so errors name what the admin typed.
_FIELD_OPTIONS = {
    "name": "--name",
    "new_name": "--new-name",
    "provider": "--provider",
    "provider_url": "--provider-url",
    "auth_url": "--auth-url",
    "client_id": "--client-id",
    "client_secret": "--client-secret",
    "sync_time": "--sync-time",
    "timezone": "--timezone",
    "auth_mode": "--auth-mode",
    "full_every_days": "--full-every-days",
    "field": "--field",
    "limit": "--limit",
}

_FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


def _store_options(func: F) -> F:
    """Add ``--home`` and ``--db`` to a command."""
    func = click.option(
        "--db",
        "db_url",
        metavar="URL",
        default=None,
        help="Database URL (default: $CCKIT_DATABASE_URL, else SQLite in the home directory).",
    )(func)
    func = click.option(
        "--home",
        type=click.Path(file_okay=False),
        default=None,
        help="Connector home directory (default: $CCKIT_HOME, else the user data directory).",
    )(func)
    return func


@contextmanager
def _errors() -> Iterator[None]:
    """Turn connector errors into clean CLI errors (never a traceback)."""
    try:
        yield
    except InvalidField as exc:
        option = _FIELD_OPTIONS.get(exc.field)
        raise click.BadParameter(exc.message, param_hint=option or exc.field) from None
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None


def _open(home: str | None, db_url: str | None, *, create: bool = True) -> tuple[Settings, Engine]:
    """Resolve the settings and open the catalog; ``create=False`` for read-only commands.

    A read-only command refuses a home or database that does not exist (a typo in
    ``--home`` or ``--db`` must not silently become an empty catalog).
    """
    with _errors():
        settings = Settings.resolve(home=home, db_url=db_url)
        if create:
            if settings.database_url.startswith("sqlite"):
                settings.ensure_home()
        elif (home or os.environ.get(HOME_ENV)) and not settings.home.is_dir():
            raise ConfigError(
                f"no connector home at {settings.home} (--home/{HOME_ENV}); check the path, or "
                "create it by adding an integration (`cckit integrations add`)"
            )
        return settings, db.connect(settings, create=create)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def _when(value: str | dt.datetime | None, never: str = "never") -> str:
    if value is None:
        return never
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class _Formatter(logging.Formatter):
    """Log lines without tracebacks unless --verbose: the CLI never shows a traceback."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        if self.verbose:
            return super().format(record)
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


#: Libraries whose INFO lines describe their own inner workings (APScheduler's "Added
#: job", Alembic's "Context impl"): shown with -v only.
_CHATTY_LIBRARIES = ("apscheduler", "alembic")


def _setup_logging(verbose: bool = False, level: int | None = None) -> None:
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(existing)  # one CLI handler, even when commands run in-process
    handler = _StderrHandler()
    handler.setFormatter(_Formatter(verbose))
    root.addHandler(handler)
    if level is None:
        level = logging.DEBUG if verbose else logging.INFO
    root.setLevel(level)


# --- integrations ---------------------------------------------------------------------


@click.group()
def integrations() -> None:
    """Register and manage vendors (integrations) with the seven fields."""


class _OneLineError(click.ClickException):
    """A usage mistake reported as one line (exit 2), without click's usage banner."""

    exit_code = 2


def _read_secret(
    client_secret: str | None, client_secret_env: str | None, *, required: bool
) -> Secret | None:
    if client_secret is not None and client_secret_env is not None:
        raise click.UsageError("give either --client-secret or --client-secret-env, not both")
    if client_secret_env is not None:
        value = os.environ.get(client_secret_env)
        if not value:
            raise click.BadParameter(
                f"the environment variable {client_secret_env} is not set or empty",
                param_hint="--client-secret-env",
            )
        return Secret(value)
    if client_secret is not None:
        return Secret(client_secret)
    if not required:
        return None
    stdin = sys.stdin
    if stdin.isatty():
        value = click.prompt(
            "Client secret", hide_input=True, err=True, default="", show_default=False
        )
    else:
        # No terminal to prompt on (cron, a script, a pipe): read one line, if any, rather
        # than let getpass warn and echo; nothing there is a clear error.
        value = stdin.readline().rstrip("\r\n")
        if not value:
            raise _OneLineError(
                "no Client Secret: give --client-secret-env VAR (or --client-secret); stdin "
                "is not a terminal, so it cannot be asked for"
            )
    if not value:
        raise click.BadParameter("must not be empty", param_hint="--client-secret")
    return Secret(value)


def _secret_options(func: F) -> F:
    func = click.option(
        "--client-secret-env",
        metavar="VAR",
        default=None,
        help="Read the Client Secret from this environment variable.",
    )(func)
    func = click.option(
        "--client-secret",
        default=None,
        help="Client Secret (visible to other local users in the process list; prefer "
        "--client-secret-env or the prompt).",
    )(func)
    return func


@integrations.command("add")
@click.option("--name", required=True, help="Integration Name (unique; letters, digits, . _ -).")
@click.option("--provider", required=True, help="Provider Name (the vendor).")
@click.option("--provider-url", required=True, help="Provider URL: the vendor's course list URL.")
@click.option("--auth-url", default=None, help="Authentication URL: the OAuth2 token URL.")
@click.option("--client-id", required=True, help="Client ID.")
@_secret_options
@click.option("--sync-time", required=True, metavar="HH:MM", help="Daily Sync Time.")
@click.option(
    "--timezone", default="UTC", show_default=True, help="IANA time zone of the Sync Time."
)
@click.option(
    "--auth-mode", type=click.Choice(["oauth2", "basic"]), default="oauth2", show_default=True
)
@click.option(
    "--full-every-days",
    type=int,
    default=integrations_api.DEFAULT_FULL_EVERY_DAYS,
    show_default=True,
    help="Request the full course list every N days.",
)
@click.option("--disabled", is_flag=True, help="Register it disabled (the scheduler skips it).")
@_FORMAT
@_store_options
def integrations_add(
    name: str,
    provider: str,
    provider_url: str,
    auth_url: str | None,
    client_id: str,
    client_secret: str | None,
    client_secret_env: str | None,
    sync_time: str,
    timezone: str,
    auth_mode: str,
    full_every_days: int,
    disabled: bool,
    output_format: str,
    home: str | None,
    db_url: str | None,
) -> None:
    """Register a vendor.

    The Client Secret comes from --client-secret-env VAR, --client-secret, or a hidden
    prompt; it is stored encrypted.
    """
    settings, engine = _open(home, db_url)
    with _errors():
        # Check the plain fields before asking for the secret, so a typo costs no prompt.
        integrations_api.validate_name(name)
        integrations_api.validate_url("provider_url", provider_url)
        if auth_url:
            integrations_api.validate_url("auth_url", auth_url)
        integrations_api.parse_sync_time(sync_time)
        integrations_api.validate_timezone(timezone)
    secret = _read_secret(client_secret, client_secret_env, required=True)
    with _errors():
        item = integrations_api.add(
            engine,
            settings,
            name=name,
            provider=provider,
            provider_url=provider_url,
            auth_url=auth_url,
            client_id=client_id,
            client_secret=secret or Secret(""),
            sync_time=sync_time,
            timezone=timezone,
            auth_mode=auth_mode,
            full_every_days=full_every_days,
            enabled=not disabled,
        )
    if output_format == "json":
        _echo_json(item.to_dict())
    else:
        click.echo(
            f"Added integration {item.name} ({item.provider}); syncs daily at "
            f"{item.sync_time_text} {item.timezone}."
        )


def _integration_view(item: Integration, last_run: dict[str, Any] | None) -> dict[str, Any]:
    data = item.to_dict()
    data["last_successful_sync"] = data["last_success_started_at"]
    data["last_run"] = (
        {k: last_run[k] for k in ("run_id", "status", "started_at", "finished_at", "error")}
        if last_run
        else None
    )
    return data


@integrations.command("list")
@_FORMAT
@_store_options
def integrations_list(output_format: str, home: str | None, db_url: str | None) -> None:
    """List integrations with their Sync Time and last successful sync."""
    settings, engine = _open(home, db_url, create=False)
    with _errors():
        items = integrations_api.list_all(engine, settings)
        last = catalog_api.last_runs(engine)
    views = [_integration_view(i, last.get(i.id)) for i in items]
    if output_format == "json":
        _echo_json(views)
        return
    if not views:
        click.echo("No integrations. Add one with `cckit integrations add`.")
        return
    rows = [
        [
            v["name"],
            v["provider"],
            "yes" if v["enabled"] else "no",
            f"{v['sync_time']} {v['timezone']}",
            v["auth_mode"],
            _when(v["last_successful_sync"]),
            v["last_run"]["status"] if v["last_run"] else "-",
        ]
        for v in views
    ]
    headers = [
        "NAME",
        "PROVIDER",
        "ENABLED",
        "SYNC TIME",
        "AUTH",
        "LAST SUCCESSFUL SYNC",
        "LAST RUN",
    ]
    click.echo(_table(headers, rows))


@integrations.command("show")
@click.argument("name")
@_FORMAT
@_store_options
def integrations_show(name: str, output_format: str, home: str | None, db_url: str | None) -> None:
    """Show one integration (the Client Secret is never shown)."""
    settings, engine = _open(home, db_url, create=False)
    with _errors():
        item = integrations_api.get(engine, settings, name)
        view = _integration_view(item, catalog_api.last_runs(engine).get(item.id))
    if output_format == "json":
        _echo_json(view)
        return
    last_run = view["last_run"]
    lines = [
        ("Integration Name", view["name"]),
        ("Provider Name", view["provider"]),
        ("Provider URL", view["provider_url"]),
        ("Authentication URL", view["auth_url"] or "-"),
        ("Client ID", view["client_id"]),
        ("Client Secret", "*** (stored encrypted)"),
        ("Sync Time", f"{view['sync_time']} {view['timezone']}"),
        ("Auth mode", view["auth_mode"]),
        ("Enabled", "yes" if view["enabled"] else "no"),
        ("Full list every", f"{view['full_every_days']} days"),
        ("Last successful sync", _when(view["last_successful_sync"])),
        ("Last full sync", _when(view["last_full_sync_at"])),
        (
            "Last run",
            f"#{last_run['run_id']} {last_run['status']} at {_when(last_run['started_at'])}"
            if last_run
            else "none",
        ),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"{key + ':':<{width + 1}} {value}")


@integrations.command("update")
@click.argument("name")
@click.option("--new-name", default=None, help="Rename the integration.")
@click.option("--provider", default=None)
@click.option("--provider-url", default=None)
@click.option("--auth-url", default=None)
@click.option("--client-id", default=None)
@_secret_options
@click.option("--prompt-secret", is_flag=True, help="Ask for a new Client Secret (hidden).")
@click.option("--sync-time", default=None, metavar="HH:MM")
@click.option("--timezone", default=None)
@click.option("--auth-mode", type=click.Choice(["oauth2", "basic"]), default=None)
@click.option("--full-every-days", type=int, default=None)
@_store_options
def integrations_update(
    name: str,
    new_name: str | None,
    provider: str | None,
    provider_url: str | None,
    auth_url: str | None,
    client_id: str | None,
    client_secret: str | None,
    client_secret_env: str | None,
    prompt_secret: bool,
    sync_time: str | None,
    timezone: str | None,
    auth_mode: str | None,
    full_every_days: int | None,
    home: str | None,
    db_url: str | None,
) -> None:
    """Change fields of an integration; options not given keep their value."""
    changes: tuple[object, ...] = (new_name, provider, provider_url, auth_url, client_id)
    changes += (client_secret, client_secret_env, sync_time, timezone, auth_mode)
    changes += (full_every_days,)
    if all(value is None for value in changes) and not prompt_secret:
        raise _OneLineError(
            f"nothing to change for {name}: give at least one option (see "
            "`cckit integrations update --help`)"
        )
    settings, engine = _open(home, db_url, create=False)
    secret = _read_secret(client_secret, client_secret_env, required=prompt_secret)
    with _errors():
        item = integrations_api.update(
            engine,
            settings,
            name,
            client_secret=secret,
            new_name=new_name,
            provider=provider,
            provider_url=provider_url,
            auth_url=auth_url,
            client_id=client_id,
            sync_time=sync_time,
            timezone=timezone,
            auth_mode=auth_mode,
            full_every_days=full_every_days,
        )
    click.echo(f"Updated integration {item.name}.")


@integrations.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_store_options
def integrations_remove(name: str, yes: bool, home: str | None, db_url: str | None) -> None:
    """Remove an integration with its catalog rows and run history.

    Published content files are kept on disk.
    """
    settings, engine = _open(home, db_url, create=False)
    with _errors():
        integrations_api.get(engine, settings, name)
    if not yes:
        click.confirm(
            f"Remove integration {name} and its catalog and run history?", abort=True, err=True
        )
    with _errors():
        integrations_api.remove(engine, settings, name)
    click.echo(f"Removed integration {name}; content under {settings.content_dir} was kept.")


@integrations.command("enable")
@click.argument("name")
@_store_options
def integrations_enable(name: str, home: str | None, db_url: str | None) -> None:
    """Enable an integration (the scheduler runs it)."""
    settings, engine = _open(home, db_url, create=False)
    with _errors():
        integrations_api.enable(engine, settings, name)
    click.echo(f"Enabled integration {name}.")


@integrations.command("disable")
@click.argument("name")
@_store_options
def integrations_disable(name: str, home: str | None, db_url: str | None) -> None:
    """Disable an integration (the scheduler skips it; `cckit sync NAME` still works)."""
    settings, engine = _open(home, db_url, create=False)
    with _errors():
        integrations_api.disable(engine, settings, name)
    click.echo(f"Disabled integration {name}.")


# --- catalog -------------------------------------------------------------------------


@click.group()
def catalog() -> None:
    """Browse and administer the synchronised course catalog."""


_INTEGRATION_OPTION = click.option(
    "--integration", default=None, metavar="NAME", help="The integration holding the course."
)


@catalog.command("list")
@click.option("--integration", default=None, metavar="NAME", help="Only this integration.")
@click.option("--inactive", is_flag=True, help="Include deactivated courses.")
@_FORMAT
@_store_options
def catalog_list(
    integration: str | None,
    inactive: bool,
    output_format: str,
    home: str | None,
    db_url: str | None,
) -> None:
    """List the catalog's courses (active ones unless --inactive)."""
    _settings, engine = _open(home, db_url, create=False)
    with _errors():
        rows = catalog_api.list_courses(engine, integration=integration, include_inactive=inactive)
    if output_format == "json":
        _echo_json(rows)
        return
    if not rows:
        click.echo("No courses.")
        return
    click.echo(format_catalog(rows))


def format_catalog(rows: Sequence[dict[str, Any]]) -> str:
    """Render catalog rows (from ``list_courses``) as a text table."""
    table_rows = []
    for r in rows:
        flags = []
        if not r["is_active"]:
            flags.append("inactive")
        if r["missing_from_vendor"]:
            flags.append("missing")
        if r["protected_fields"]:
            flags.append("protected:" + "/".join(r["protected_fields"]))
        table_rows.append(
            [
                r["integration"],
                r["id"],
                _truncate(r["title"], 50),
                ",".join(r["languages"]),
                "yes" if r["has_package"] else "no",
                " ".join(flags) or "active",
            ]
        )
    return _table(["INTEGRATION", "ID", "TITLE", "LANGUAGES", "PACKAGE", "STATE"], table_rows)


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@catalog.command("show")
@click.argument("course_id")
@_INTEGRATION_OPTION
@_FORMAT
@_store_options
def catalog_show(
    course_id: str,
    integration: str | None,
    output_format: str,
    home: str | None,
    db_url: str | None,
) -> None:
    """Show one course: metadata, current package version and its AICC summary."""
    _settings, engine = _open(home, db_url, create=False)
    with _errors():
        course = catalog_api.get_course(engine, course_id, integration=integration)
    if output_format == "json":
        _echo_json(course)
        return
    package = course["current_package"]
    lines: list[tuple[str, Any]] = [
        ("ID", course["id"]),
        ("Integration", course["integration"]),
        ("Title", course["title"]),
        ("Description", _truncate(course["description"].replace("\n", " "), 200)),
        ("Active", "yes" if course["is_active"] else "no"),
        (
            "Missing from vendor",
            f"since {_when(course['missing_since'])}" if course["missing_from_vendor"] else "no",
        ),
        ("Languages", ", ".join(course["languages"])),
        ("Duration", course["duration"] or "-"),
        ("Version", course["version"] or "-"),
        ("Subjects", ", ".join(course["subjects"]) or "-"),
        ("Keywords", ", ".join(course["keywords"]) or "-"),
        ("Protected fields", ", ".join(course["protected_fields"]) or "none"),
        ("Vendor last modified", _when(course["vendor_last_modified"], "-")),
        ("Package last modified", _when(course["package_last_modified"], "-")),
    ]
    if package is None:
        lines.append(("Current package", "none"))
    else:
        lines += [
            ("Current package", package["sha256"]),
            ("Package size", f"{package['size']} bytes"),
            ("Content path", package["stored_path"]),
            ("Downloaded", _when(package["downloaded_at"])),
        ]
        lines += _aicc_lines(package["aicc_summary"])
    lines.append(("Package versions", len(course["package_versions"])))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"{key + ':':<{width + 1}} {value}")


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
@_store_options
def catalog_activate(
    course_id: str, integration: str | None, home: str | None, db_url: str | None
) -> None:
    """Make a course visible in the catalog again."""
    _settings, engine = _open(home, db_url, create=False)
    with _errors():
        course = catalog_api.set_active(engine, course_id, True, integration=integration)
    click.echo(f"Activated course {course['id']} ({course['integration']}).")


@catalog.command("deactivate")
@click.argument("course_id")
@_INTEGRATION_OPTION
@_store_options
def catalog_deactivate(
    course_id: str, integration: str | None, home: str | None, db_url: str | None
) -> None:
    """Hide a course from the catalog (its content is kept)."""
    _settings, engine = _open(home, db_url, create=False)
    with _errors():
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
@_store_options
def catalog_protect(
    course_id: str,
    fields: tuple[str, ...],
    unprotect: bool,
    integration: str | None,
    home: str | None,
    db_url: str | None,
) -> None:
    """Keep local edits of course fields: syncs will not overwrite protected fields."""
    _settings, engine = _open(home, db_url, create=False)
    with _errors():
        result = catalog_api.protect(
            engine, course_id, list(fields), protected=not unprotect, integration=integration
        )
    click.echo(f"Protected fields of {course_id}: {', '.join(result) or 'none'}.")


# --- runs ------------------------------------------------------------------------------


@click.group()
def runs() -> None:
    """Inspect sync runs and their per-course outcomes."""


@runs.command("list")
@click.option("--integration", default=None, metavar="NAME", help="Only this integration.")
@click.option("--limit", type=int, default=20, show_default=True)
@_FORMAT
@_store_options
def runs_list(
    integration: str | None,
    limit: int,
    output_format: str,
    home: str | None,
    db_url: str | None,
) -> None:
    """List recent sync runs, newest first."""
    _settings, engine = _open(home, db_url, create=False)
    with _errors():
        items = catalog_api.list_runs(engine, integration=integration, limit=limit)
    if output_format == "json":
        _echo_json(items)
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
            _when(r["started_at"]),
            _counts(r["counts"]),
            r["downloads"],
        ]
        for r in items
    ]
    click.echo(
        _table(["RUN", "INTEGRATION", "STATUS", "KIND", "STARTED", "COUNTS", "DOWNLOADS"], rows)
    )


def _counts(counts: dict[str, int]) -> str:
    order = ["new", "updated", "unchanged", "deactivated", "failed", "missing"]
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return " ".join(f"{k}={counts[k]}" for k in keys if counts[k]) or "-"


@runs.command("show")
@click.argument("run_id", type=int)
@_FORMAT
@_store_options
def runs_show(run_id: int, output_format: str, home: str | None, db_url: str | None) -> None:
    """Show one run with the outcome of every course and its reason."""
    _settings, engine = _open(home, db_url, create=False)
    with _errors():
        run = catalog_api.get_run(engine, run_id)
    if output_format == "json":
        _echo_json(run)
        return
    click.echo(
        f"Run {run['run_id']} of {run['integration']}: {run['status']} "
        f"({'full' if run['full'] else 'incremental'})"
    )
    click.echo(f"Started:  {_when(run['started_at'])}")
    click.echo(f"Finished: {_when(run['finished_at'], '-')}")
    if run["if_modified_since"]:
        click.echo(f"If-Modified-Since: {_when(run['if_modified_since'])}")
    click.echo(f"Counts:   {_counts(run['counts'])}")
    click.echo(f"Pages: {run['pages']}  Requests: {run['requests']}  Downloads: {run['downloads']}")
    if run["error"]:
        click.echo(f"Error:    {run['error']}")
    if run["outcomes"]:
        rows = [
            [o["id"], o["outcome"], " ".join(o["rule_ids"]), o["reason"] or ""]
            for o in run["outcomes"]
        ]
        click.echo(_table(["COURSE", "OUTCOME", "RULES", "REASON"], rows))


# --- db -------------------------------------------------------------------------------


@click.group("db")
def db_group() -> None:
    """The catalog database's schema: its revision, and upgrades (Alembic)."""


@db_group.command("upgrade")
@_store_options
def db_upgrade(home: str | None, db_url: str | None) -> None:
    """Create the catalog schema, or upgrade it to this release's revision.

    Every command does this on first use too; run it to upgrade at a time of your choosing.
    An SQLite file is copied aside first (the path is printed).
    """
    from connector import migrate

    with _errors():
        settings = Settings.resolve(home=home, db_url=db_url)
        if settings.database_url.startswith("sqlite"):
            settings.ensure_home()
        engine = db.create_engine(settings.database_url)
        try:
            result = migrate.upgrade(engine)
        finally:
            engine.dispose()
    where, revision = settings.safe_database_url, "/".join(result.after)
    if result.created:
        click.echo(f"Created the catalog schema (revision {revision}) in {where}.")
        return
    if result.stamped:
        click.echo(
            f"Recognised a catalog made before schema versions; stamped it {migrate.BASELINE}."
        )
    if result.applied:
        click.echo(f"Upgraded {where} to revision {revision} ({', '.join(result.applied)} ran).")
        if result.backup:
            click.echo(f"The previous file was copied to {result.backup}.")
    elif not result.stamped:
        click.echo(f"{where} is up to date (revision {revision}).")


@db_group.command("status")
@_FORMAT
@_store_options
def db_status(output_format: str, home: str | None, db_url: str | None) -> None:
    """Show the schema revision of the catalog and what an upgrade would run (changes nothing)."""
    from connector import migrate

    with _errors():
        settings = Settings.resolve(home=home, db_url=db_url)
        engine = db.create_engine(settings.database_url, create=False)
        try:
            state = migrate.status(engine)
        finally:
            engine.dispose()
    view = {
        "database": settings.safe_database_url,
        "current": list(state.current),
        "heads": list(state.heads),
        "pending": list(state.pending),
        "unversioned": state.unversioned,
    }
    if output_format == "json":
        _echo_json(view)
        return
    if state.empty:
        current = "none (no catalog yet)"
    elif state.unversioned:
        current = "none (a catalog made before schema versions)"
    else:
        current = "/".join(state.current)
    click.echo(f"Database: {view['database']}")
    click.echo(f"Revision: {current}")
    click.echo(f"Newest:   {'/'.join(state.heads)}")
    if state.up_to_date:
        click.echo("Up to date.")
    else:
        click.echo(f"Pending:  {', '.join(state.pending) or 'stamp only'} (run `cckit db upgrade`)")


db_group.add_command(db_status, "current")


# --- scheduler ---------------------------------------------------------------------


@click.group()
def scheduler() -> None:
    """Run every enabled integration daily at its Sync Time."""


@scheduler.command("next")
@_FORMAT
@_store_options
def scheduler_next(output_format: str, home: str | None, db_url: str | None) -> None:
    """Print the next run time of every enabled integration (local and UTC)."""
    from connector import scheduler as scheduler_api

    settings, engine = _open(home, db_url, create=False)
    with _errors():
        items = integrations_api.list_all(engine, settings, enabled_only=True)
    upcoming = scheduler_api.next_runs(items, dt.datetime.now(dt.UTC))
    if output_format == "json":
        _echo_json([n.to_dict() for n in upcoming])
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
    click.echo(_table(["NAME", "SYNC TIME", "NEXT RUN (LOCAL)", "NEXT RUN (UTC)"], rows))


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
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@_store_options
def scheduler_run(
    reload_seconds: int, misfire_grace: int, verbose: bool, home: str | None, db_url: str | None
) -> None:
    """Run the scheduler in the foreground until SIGINT or SIGTERM.

    The cron alternative: run `cckit sync --all` once a day.
    """
    from connector import scheduler as scheduler_api

    _setup_logging(verbose)
    settings, engine = _open(home, db_url)
    with _errors():
        scheduler_api.run_forever(
            engine, settings, reload_seconds=reload_seconds, misfire_grace_seconds=misfire_grace
        )


# --- sync -------------------------------------------------------------------------------


class _Progress:
    """Progress display: a rewritten line on a TTY, one log line per page otherwise."""

    def __init__(self, name: str, tty: bool) -> None:
        self.name = name
        self.tty = tty
        self.pages = 0
        self.courses = 0
        self.downloads = 0
        self.failed = 0
        self._drawn = False

    def __call__(self, event: Any) -> None:
        kind = getattr(event, "kind", None)
        if kind == "page":
            self.pages += 1
            if not self.tty:
                click.echo(event.message(), err=True)
        elif kind == "course":
            self.courses += 1
            if getattr(event, "outcome", None) == "failed":
                self.failed += 1
        elif kind == "download" and getattr(event, "ok", True):
            self.downloads += 1
        if self.tty:
            click.echo(
                f"\r{self.name}: page {self.pages}, {self.courses} course(s), "
                f"{self.downloads} download(s), {self.failed} failed",
                nl=False,
                err=True,
            )
            self._drawn = True

    def close(self) -> None:
        if self._drawn:
            click.echo("", err=True)
            self._drawn = False


def _describe_run(record: dict[str, Any]) -> list[str]:
    kind = "full" if record["full"] else "incremental"
    lines = [
        f"{record['integration']}: run {record['run_id']} {record['status']} ({kind}): "
        f"{_counts(record['counts'])}; {record['pages']} page(s), {record['requests']} "
        f"request(s), {record['downloads']} download(s)"
    ]
    if record.get("error"):
        lines.append(f"  error: {record['error']}")
    for outcome in record.get("outcomes", []):
        if outcome["outcome"] == "failed":
            rules = f" [{' '.join(outcome['rule_ids'])}]" if outcome["rule_ids"] else ""
            lines.append(f"  failed {outcome['id']}{rules}: {outcome['reason']}")
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
@_FORMAT
@click.option("-v", "--verbose", is_flag=True, help="Log every course and download.")
@_store_options
def sync(
    name: str | None,
    all_: bool,
    full: bool,
    workers: int,
    output_format: str,
    verbose: bool,
    home: str | None,
    db_url: str | None,
) -> None:
    """Sync one integration (NAME) or every enabled one (--all) now.

    Exit status 0 when every run succeeded, 1 when a run failed or any course failed.
    With --format json the run record is printed (a list with --all).
    """
    if (name is None) == (not all_):
        raise click.UsageError("give an integration NAME or --all (not both)")
    _setup_logging(verbose, level=None if verbose else logging.WARNING)
    settings, engine = _open(home, db_url, create=False)
    with _errors():
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
    tty = sys.stderr.isatty() and output_format == "text"
    records: list[dict[str, Any]] = []
    ok = True
    for item in targets:
        progress = _Progress(item.name, tty)
        try:
            item.client_secret.reveal()  # fail early and clearly if the key changed
            result = sync_api.sync(
                engine, settings, item, full=full, options=options, progress=progress
            )
        except ConnectorError as exc:
            progress.close()
            ok = False
            click.echo(f"Error: {item.name}: {exc}", err=True)
            continue
        progress.close()
        record = result.to_dict()
        records.append(record)
        ok = ok and result.ok
        if output_format == "text":
            for line in _describe_run(record):
                click.echo(line)
    if output_format == "json":
        _echo_json(records if all_ else (records[0] if records else None))
    sys.exit(0 if ok else 1)


# --- demo ---------------------------------------------------------------------------------


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's home (database, key, content) here; default: a temporary directory.",
)
@click.option("--courses", type=click.IntRange(3, 500), default=12, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--no-conformance", is_flag=True, help="Skip the conformance suite step.")
def demo(workdir: Path | None, courses: int, seed: int, no_conformance: bool) -> None:
    """Start the mock vendor, register it, sync, change it, sync again, check conformance."""
    from connector import demo as demo_api

    _setup_logging(verbose=False, level=logging.WARNING)
    with _errors():
        status = demo_api.run_demo(
            workdir, echo=click.echo, courses=courses, seed=seed, conformance=not no_conformance
        )
    sys.exit(status)
