"""``cckit vendor``: run the mock vendor from the command line.

``cckit vendor serve`` prints, as its first line of stdout, one JSON object with the
URLs and credentials an LMS connector needs, then human-readable lines, and serves
with waitress until SIGINT or SIGTERM.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import click

_LOOPBACK = ("127.0.0.1", "localhost", "::1")

#: Defaults sized for 200 concurrent keep-alive clients: every client keeps its
#: connection open (waitress closes the rest above the limit), and the requests of the
#: mock are CPU-bound under one GIL, so a few worker threads beat many; 16 leave room for
#: the sleeping ones of the latency and slow_download faults.
DEFAULT_THREADS = 16
DEFAULT_CONNECTION_LIMIT = 1000


def _load_config_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--config") from exc
    if not isinstance(data, dict):
        raise click.BadParameter(
            f"{path}: expected a JSON object of config keys", param_hint="--config"
        )
    return {str(k).upper(): v for k, v in data.items()}


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):  # noqa: S104 - only to print a usable URL for a wildcard bind
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@click.group("vendor")
def vendor() -> None:
    """The mock vendor: a local LCMS that serves vendor contract v1 (and breaks it)."""


@vendor.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port; 0 picks a free one.",
)
@click.option("--courses", type=click.IntRange(0), help="Generated catalog size [default: 25].")
@click.option("--seed", type=int, help="Seed of the generated catalog [default: 0].")
@click.option(
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Serve the AICC zips of this folder instead of a generated catalog.",
)
@click.option("--page-size", type=click.IntRange(1), help="Courses per list page [default: 50].")
@click.option("--auth-mode", type=click.Choice(["oauth2", "basic"]), help="[default: oauth2]")
@click.option("--client-id", help="Client ID [default: cckit-demo].")
@click.option("--client-secret", help="Client secret [default: generated and printed].")
@click.option(
    "--token-ttl", type=click.IntRange(60), help="Token lifetime, seconds [default: 3600]."
)
@click.option("--admin-token", help="Admin API Bearer token [default: generated and printed].")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="NAME[:ARG][@SCOPE]",
    help="Switch a fault on (repeatable); see docs/mock-vendor.md.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache of generated packages [default: the user cache dir].",
)
@click.option("--clock-start", metavar="RFC3339", help="Instant the mock clock starts at.")
@click.option("--prebuild", is_flag=True, help="Build every package in the background at start.")
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Worker threads (requests handled at once; more only helps with slow faults).",
)
@click.option(
    "--connection-limit",
    default=DEFAULT_CONNECTION_LIMIT,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Open client connections accepted at once (keep-alive connections count).",
)
@click.option(
    "--list-inactive/--no-list-inactive",
    default=None,
    help="The list without If-Modified-Since holds inactive courses too [default: off].",
)
@click.option(
    "--etag/--no-etag",
    default=None,
    help="ETag, If-None-Match and If-Range on packages (PKG-005) [default: on].",
)
@click.option(
    "--last-modified/--no-last-modified",
    default=None,
    help="Last-Modified on packages (PKG-006) [default: on].",
)
@click.option(
    "--head/--no-head",
    default=None,
    help="HEAD on packages; off answers 405 (PKG-007) [default: on].",
)
@click.option(
    "--range/--no-range",
    "range_support",
    default=None,
    help="Byte Range requests on packages (PKG-008) [default: on].",
)
@click.option(
    "--form-client-auth/--no-form-client-auth",
    default=None,
    help="client_id/client_secret form fields on the token endpoint (AUTH-003) [default: on].",
)
@click.option(
    "--tls",
    is_flag=True,
    help="Serve https with a throw-away local CA; its file is 'ca_file' in the JSON line.",
)
@click.option(
    "--package-origin",
    type=click.Choice(["all", "some"]),
    help="Serve packages (all, or every other course) from a second origin with signed, "
    "expiring URLs that need no credentials [default: off].",
)
@click.option(
    "--package-origin-host",
    default="127.0.0.1",
    show_default=True,
    help="Interface of the second package origin (e.g. 127.0.0.2).",
)
@click.option(
    "--package-origin-port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port of the second package origin; 0 picks a free one.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file of config keys (e.g. TENANTS); options given here override it.",
)
def serve(
    host: str,
    port: int,
    courses: int | None,
    seed: int | None,
    catalog: Path | None,
    page_size: int | None,
    auth_mode: str | None,
    client_id: str | None,
    client_secret: str | None,
    token_ttl: int | None,
    admin_token: str | None,
    faults: tuple[str, ...],
    cache_dir: Path | None,
    clock_start: str | None,
    prebuild: bool,
    threads: int,
    connection_limit: int,
    list_inactive: bool | None,
    etag: bool | None,
    last_modified: bool | None,
    head: bool | None,
    range_support: bool | None,
    form_client_auth: bool | None,
    tls: bool,
    package_origin: str | None,
    package_origin_host: str,
    package_origin_port: int,
    config_file: Path | None,
) -> None:
    """Serve the mock vendor (waitress, threaded) until SIGINT/SIGTERM.

    The first stdout line is JSON: base_url, auth_url, course_list_url, client_id,
    auth_mode, admin_url (+ client_secret / admin_token when they were generated).
    """
    from mock_vendor.app import create_app
    from mock_vendor.app import get_state
    from mock_vendor.errors import MockVendorError

    overrides = {
        "COURSES": courses,
        "SEED": seed,
        "CATALOG": catalog,
        "PAGE_SIZE": page_size,
        "AUTH_MODE": auth_mode,
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        "TOKEN_TTL": token_ttl,
        "ADMIN_TOKEN": admin_token,
        "CACHE_DIR": cache_dir,
        "CLOCK_START": clock_start,
        "LIST_INACTIVE": list_inactive,
        "ETAG": etag,
        "LAST_MODIFIED_HEADER": last_modified,
        "HEAD_SUPPORT": head,
        "RANGE_SUPPORT": range_support,
        "FORM_CLIENT_AUTH": form_client_auth,
        "PACKAGE_ORIGIN": package_origin,
    }
    try:
        app = create_app(_app_config(config_file, overrides, faults, prebuild))
    except MockVendorError as exc:
        raise click.ClickException(str(exc)) from exc
    state = get_state(app)
    server = _create_server(app, host, port, threads, connection_limit, tls=tls)
    origin_url = None
    if state.package_origin_mode is not None:
        origin_url = _start_package_origin(
            app, package_origin_host, package_origin_port, threads, connection_limit
        )
    # Waitress warns "Task queue depth is N" whenever requests wait for a worker thread;
    # under a load test that is expected, not a problem worth a line per request.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    bound_port = server.effective_port
    base_url = f"{'https' if tls else 'http'}://{_url_host(host)}:{bound_port}"
    ca_file = str(server.ca_file) if tls else None
    click.echo(json.dumps(_json_line(state, base_url, origin_url, ca_file)))
    sys.stdout.flush()  # scripts wait for this line; do not leave it in a pipe buffer
    _echo_summary(state, base_url, origin_url, host)
    _run_until_stopped(server)
    click.echo("stopped")


def _app_config(
    config_file: Path | None,
    overrides: dict[str, Any],
    faults: tuple[str, ...],
    prebuild: bool,
) -> dict[str, Any]:
    """The app config: ``--config``'s keys, then every option given on the command line."""
    config: dict[str, Any] = _load_config_file(config_file) if config_file else {}
    config.update(
        {
            key: str(value) if isinstance(value, Path) else value
            for key, value in overrides.items()
            if value is not None
        }
    )
    if faults:
        config["FAULTS"] = [*config.get("FAULTS", []), *faults]
    if prebuild:
        config["PREBUILD"] = True
    return config


def _create_server(
    app: Any, host: str, port: int, threads: int, connection_limit: int, *, tls: bool
) -> Any:
    """The listening server: waitress, or with ``tls`` werkzeug's https server (waitress
    has no TLS) with the same arguments."""
    from waitress.server import create_server

    if tls:
        from mock_vendor.tls import tls_server as create_server  # type: ignore[assignment]
    try:
        return create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            connection_limit=connection_limit,
            backlog=1024,
            asyncore_use_poll=True,
            ident="cckit-mock-vendor",
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc


def _json_line(
    state: Any, base_url: str, origin_url: str | None, ca_file: str | None
) -> dict[str, Any]:
    """The first stdout line: what a connector needs (generated secrets only)."""
    tenant = state.default_tenant
    spec = state.tenant_specs[0]
    line: dict[str, Any] = {
        "base_url": base_url,
        "auth_url": f"{base_url}/oauth/token" if state.auth_mode == "oauth2" else None,
        "course_list_url": f"{base_url}/api/v1/courses",
        "client_id": tenant.client_id,
        "auth_mode": state.auth_mode,
    }
    if spec["secret_generated"]:
        line["client_secret"] = tenant.client_secret
    if origin_url:
        line["package_origin_url"] = origin_url
    line["admin_url"] = f"{base_url}/_admin"
    if ca_file is not None:
        line["ca_file"] = ca_file
    if state.admin_token_generated:
        line["admin_token"] = state.admin_token
    return line


def _echo_summary(state: Any, base_url: str, origin_url: str | None, host: str) -> None:
    """The human-readable lines after the JSON line."""
    summary = state.summary()
    click.echo(f"cckit mock vendor on {base_url} ({state.auth_mode} auth)")
    for item in summary["tenants"]:
        click.echo(
            f"  client {item['client_id']}: {item['catalog']} "
            f"({item['active']} of {item['courses']} active)"
        )
    off = [key for key, on in summary["features"].items() if not on and key != "LIST_INACTIVE"]
    if off:
        click.echo(f"  SHOULD features off: {', '.join(off)}")
    if summary["features"]["LIST_INACTIVE"]:
        click.echo("  the full list holds inactive courses too")
    if origin_url:
        click.echo(
            f"  packages ({state.package_origin_mode}) from {origin_url}: signed URLs, "
            f"valid {state.package_url_ttl} s, no credentials"
        )
    for fault in summary["faults"]:
        click.echo(f"  fault on: {fault['name']} ({fault['requirement']})")
    if host not in _LOOPBACK:
        click.echo(f"warning: listening on {host}, not only on loopback", err=True)
    click.echo("Press Ctrl+C (or send SIGTERM) to stop.")
    sys.stdout.flush()


def _run_until_stopped(server: Any) -> None:
    """Serve until SIGINT or SIGTERM, then close the server."""

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.run()
    except KeyboardInterrupt:  # pragma: no cover - waitress usually handles it itself
        pass
    finally:
        server.close()


def _start_package_origin(
    app: Any, host: str, port: int, threads: int, connection_limit: int
) -> str:
    """Serve the second package origin in a daemon thread; returns its base URL."""
    import threading

    from waitress.server import create_server

    from mock_vendor.app import create_origin_app
    from mock_vendor.state import get_state

    try:
        server = create_server(
            create_origin_app(app),
            host=host,
            port=port,
            threads=max(2, threads // 2),
            connection_limit=connection_limit,
            asyncore_use_poll=True,
            ident="cckit-mock-vendor-packages",
        )
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} (package origin): {exc}"
        ) from exc
    url = f"http://{_url_host(host)}:{server.effective_port}"  # type: ignore[union-attr]
    state = get_state(app)
    state.package_origin_url = url
    state.changed()
    threading.Thread(target=server.run, name="mock-vendor-packages", daemon=True).start()
    return url


@vendor.command("faults")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def faults_command(as_json: bool) -> None:
    """List the faults of the fault library and the requirement each one violates."""
    from mock_vendor.faults import FAULTS

    if as_json:
        click.echo(json.dumps([spec.to_dict() for spec in FAULTS.values()], indent=2))
        return
    width = max(len(name) for name in FAULTS)
    for spec in FAULTS.values():
        arg = f"  [ARG: {spec.arg_help}]" if spec.arg_help else ""
        click.echo(f"{spec.name:<{width}}  {spec.requirement:<10}  {spec.summary}{arg}")
