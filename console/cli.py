"""``cckit console``: serve the admin console; ``cckit console set-password``."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from console.errors import ConsoleError


@contextmanager
def _errors() -> Iterator[None]:
    """Known errors become one ``Error: ...`` line and exit status 2, never a traceback."""
    from connector.errors import ConnectorError

    try:
        yield
    except (ConsoleError, ConnectorError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free."
)
@click.option("--home", default=None, help="CCKIT_HOME (database, key, content, password).")
@click.option("--db", "db_url", default=None, help="Database URL (default: SQLite in home).")
@click.option("--login", is_flag=True, help="Ask for the password also on a loopback address.")
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="Trust one reverse proxy's X-Forwarded-Proto/Host/For (https offload).",
)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
@click.pass_context
def console(
    ctx: click.Context,
    host: str,
    port: int,
    home: str | None,
    db_url: str | None,
    login: bool,
    behind_proxy: bool,
    threads: int,
) -> None:
    """The admin console: catalog, integrations and runs in a browser.

    Prints one JSON line, {"url": ...}, then serves until interrupted. A login is
    required on any non-loopback address (set the password with "cckit console
    set-password" first).
    """
    ctx.ensure_object(dict)
    ctx.obj.update(home=home, db_url=db_url)
    if ctx.invoked_subcommand is not None:
        return
    from waitress.server import create_server

    from connector.config import Settings
    from console.app import create_app
    from console.security import is_loopback

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with _errors():
        settings = Settings.resolve(home=home, db_url=db_url)
        settings.ensure_home()
        loopback = is_loopback(host)
        app = create_app(
            {
                "CCKIT_SETTINGS": settings,
                "REQUIRE_LOGIN": login or not loopback,
                "BEHIND_PROXY": behind_proxy,
                # On loopback, refuse other Host names: a DNS-rebinding page must not read
                # the console through its own domain.
                "TRUSTED_HOSTS": ["localhost", "127.0.0.1", "::1", "[::1]"]
                if loopback and not behind_proxy
                else None,
            }
        )
        try:
            server = create_server(app, host=host, port=port, threads=threads)
        except OSError as exc:
            raise ConsoleError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    shown = f"[{host}]" if ":" in host else host
    effective = getattr(server, "effective_port", port)
    click.echo(json.dumps({"url": f"http://{shown}:{effective}/"}))
    sys.stdout.flush()
    login_text = "login required" if app.extensions["cckit_console"].require_login else "no login"
    click.echo(
        f"cckit console: catalog {settings.safe_database_url} ({login_text}); Ctrl-C stops",
        err=True,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@console.command("set-password")
@click.option("--home", default=None, help="CCKIT_HOME (default: the console's --home).")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@click.pass_context
def set_password(ctx: click.Context, home: str | None, password_stdin: bool) -> None:
    """Set the console's login password (stored as a salted scrypt hash)."""
    from connector.config import Settings
    from console import security

    with _errors():
        settings = Settings.resolve(home=home or ctx.obj.get("home"), db_url=ctx.obj.get("db_url"))
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(
                "New console password", hide_input=True, confirmation_prompt=True
            )
        path = security.set_password(settings.home, password)
    click.echo(f"Password hash written to {path}")


__all__ = ["console"]
