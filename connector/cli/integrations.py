"""``cckit integrations``: register and manage vendors with the seven fields."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from connector import catalog as catalog_api
from connector import integrations as integrations_api
from connector.cli._common import FORMAT
from connector.cli._common import F
from connector.cli._common import OneLineError
from connector.cli._common import echo_fields
from connector.cli._common import echo_json
from connector.cli._common import errors
from connector.cli._common import open_store
from connector.cli._common import store_options
from connector.cli._common import table
from connector.cli._common import when
from connector.integrations import Integration
from connector.secrets import Secret
from schemas import visible


@click.group()
def integrations() -> None:
    """Register and manage vendors (integrations) with the seven fields."""


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
    if sys.stdin.isatty():
        value = click.prompt(
            "Client secret", hide_input=True, err=True, default="", show_default=False
        )
    else:
        # No terminal to prompt on (cron, a script, a pipe): read one line, if any, rather
        # than let getpass warn and echo; nothing there is a clear error.
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise OneLineError(
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


_ALLOWED_HOSTS = click.option(
    "--allowed-package-host",
    "allowed_package_hosts",
    multiple=True,
    metavar="HOST",
    help="A host other than the Provider URL's that package URLs may name (a CDN; "
    "fetched without credentials, https only). Repeatable; *.example.com allows "
    "its subdomains.",
)


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
@_ALLOWED_HOSTS
@FORMAT
@store_options
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
    allowed_package_hosts: tuple[str, ...],
    output_format: str,
    home: str | None,
    db_url: str | None,
) -> None:
    """Register a vendor.

    The Client Secret comes from --client-secret-env VAR, --client-secret, or a hidden
    prompt; it is stored encrypted.
    """
    settings, engine = open_store(home, db_url)
    with errors():
        # Check the plain fields before asking for the secret, so a typo costs no prompt.
        integrations_api.validate_name(name)
        integrations_api.validate_url("provider_url", provider_url)
        if auth_url:
            integrations_api.validate_url("auth_url", auth_url)
        integrations_api.parse_sync_time(sync_time)
        integrations_api.validate_timezone(timezone)
        integrations_api.validate_allowed_hosts(allowed_package_hosts)
    secret = _read_secret(client_secret, client_secret_env, required=True)
    with errors():
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
            allowed_package_hosts=allowed_package_hosts,
        )
    if output_format == "json":
        echo_json(item.to_dict())
    else:
        click.echo(
            f"Added integration {item.name} ({item.provider}); syncs daily at "
            f"{item.sync_time_text} {item.timezone}."
        )


def _integration_view(
    item: Integration, last_run: dict[str, Any] | None, milestones: dict[str, Any] | None
) -> dict[str, Any]:
    data = item.to_dict()
    # A complete sync read the whole list (the watermark moved), failed courses or not;
    # a clean one also had no failed course.
    data["last_complete_sync"] = (milestones or {}).get("last_complete")
    data["last_clean_sync"] = (milestones or {}).get("last_clean")
    data["last_run"] = (
        {k: last_run[k] for k in ("run_id", "status", "started_at", "finished_at", "error")}
        if last_run
        else None
    )
    return data


@integrations.command("list")
@FORMAT
@store_options
def integrations_list(output_format: str, home: str | None, db_url: str | None) -> None:
    """List integrations with their Sync Time and last successful sync."""
    settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        items = integrations_api.list_all(engine, settings)
        last = catalog_api.last_runs(engine)
        milestones = catalog_api.sync_milestones(engine)
    views = [_integration_view(i, last.get(i.id), milestones.get(i.id)) for i in items]
    if output_format == "json":
        echo_json(views)
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
            when(v["last_complete_sync"]),
            when(v["last_clean_sync"]),
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
        "LAST COMPLETE SYNC",
        "LAST CLEAN SYNC",
        "LAST RUN",
    ]
    click.echo(table(headers, rows))


@integrations.command("show")
@click.argument("name")
@FORMAT
@store_options
def integrations_show(name: str, output_format: str, home: str | None, db_url: str | None) -> None:
    """Show one integration (the Client Secret is never shown)."""
    settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        item = integrations_api.get(engine, settings, name)
        view = _integration_view(
            item,
            catalog_api.last_runs(engine).get(item.id),
            catalog_api.sync_milestones(engine).get(item.id),
        )
    if output_format == "json":
        echo_json(view)
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
        ("Allowed package hosts", ", ".join(view["allowed_package_hosts"]) or "none"),
        ("Limits", ", ".join(f"{k}={v}" for k, v in sorted(view["limits"].items())) or "defaults"),
        ("Last complete sync", when(view["last_complete_sync"])),
        ("Last clean sync", when(view["last_clean_sync"])),
        ("Last full sync", when(view["last_full_sync_at"])),
        (
            "Last run",
            f"#{last_run['run_id']} {last_run['status']} at {when(last_run['started_at'])}"
            if last_run
            else "none",
        ),
    ]
    echo_fields(lines)


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
@_ALLOWED_HOSTS
@click.option("--no-allowed-package-hosts", is_flag=True, help="Allow packages from no other host.")
@store_options
def integrations_update(
    name: str,
    client_secret: str | None,
    client_secret_env: str | None,
    prompt_secret: bool,
    allowed_package_hosts: tuple[str, ...],
    no_allowed_package_hosts: bool,
    home: str | None,
    db_url: str | None,
    **fields: Any,
) -> None:
    """Change fields of an integration; options not given keep their value.

    --allowed-package-host replaces the whole list (repeat it for several hosts).
    """
    if allowed_package_hosts and no_allowed_package_hosts:
        raise click.UsageError(
            "give --allowed-package-host or --no-allowed-package-hosts, not both"
        )
    hosts: tuple[str, ...] | None = allowed_package_hosts or None
    if no_allowed_package_hosts:
        hosts = ()
    given = {k: v for k, v in fields.items() if v is not None}
    anything = given or hosts is not None or client_secret or client_secret_env or prompt_secret
    if not anything:
        raise click.UsageError(
            "nothing to change: give at least one option (see cckit integrations update --help)"
        )
    settings, engine = open_store(home, db_url, must_exist=True)
    secret = _read_secret(client_secret, client_secret_env, required=prompt_secret)
    with errors():
        item = integrations_api.update(
            engine,
            settings,
            name,
            client_secret=secret,
            allowed_package_hosts=hosts,
            **given,
        )
    click.echo(f"Updated integration {visible(item.name)}.")


@integrations.command("remove")
@click.argument("name")
@click.option(
    "--purge",
    is_flag=True,
    help="Also delete the integration's published content (its own folders only).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@store_options
def integrations_remove(
    name: str, purge: bool, yes: bool, home: str | None, db_url: str | None
) -> None:
    """Remove an integration with its catalog rows and run history.

    Published content files are kept on disk unless --purge is given; --purge deletes
    the integration's own content folders, never another integration's.
    """
    settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        item = integrations_api.get(engine, settings, name)
    what = (
        "its catalog, run history and published content" if purge else "its catalog and run history"
    )
    if not yes:
        click.confirm(f"Remove integration {visible(item.name)} and {what}?", abort=True, err=True)
    with errors():
        removed = integrations_api.remove(engine, settings, item.name, purge=purge)
    if purge:
        click.echo(
            f"Removed integration {visible(item.name)} and {len(removed)} content folder(s)."
        )
    else:
        click.echo(
            f"Removed integration {visible(item.name)}; its content under "
            f"{integrations_api.content_root(settings, item)} was kept "
            "(remove with --purge to delete it)."
        )


def _set_enabled(name: str, enabled: bool, home: str | None, db_url: str | None) -> None:
    settings, engine = open_store(home, db_url, must_exist=True)
    with errors():
        item = integrations_api.update(engine, settings, name, enabled=enabled)
    click.echo(f"{'Enabled' if enabled else 'Disabled'} integration {visible(item.name)}.")


@integrations.command("enable")
@click.argument("name")
@store_options
def integrations_enable(name: str, home: str | None, db_url: str | None) -> None:
    """Enable an integration (the scheduler runs it)."""
    _set_enabled(name, True, home, db_url)


@integrations.command("disable")
@click.argument("name")
@store_options
def integrations_disable(name: str, home: str | None, db_url: str | None) -> None:
    """Disable an integration (the scheduler skips it; `cckit sync NAME` still works)."""
    _set_enabled(name, False, home, db_url)
