"""What every connector command shares: store options, errors, tables, safe text, logging.

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
from typing import Any
from typing import TypeVar

import click
from sqlalchemy.engine import Engine

from connector import db
from connector.config import HOME_ENV
from connector.config import Settings
from connector.errors import ConfigError
from connector.errors import ConnectorError
from connector.errors import InvalidField
from schemas import visible

F = TypeVar("F", bound=Callable[..., Any])

#: Field name (library) -> option name (CLI), so errors name what the admin typed.
FIELD_OPTIONS = {
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

FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


def store_options(func: F) -> F:
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
def errors() -> Iterator[None]:
    """Turn connector errors into clean CLI errors (never a traceback)."""
    try:
        yield
    except InvalidField as exc:
        option = FIELD_OPTIONS.get(exc.field)
        raise click.BadParameter(exc.message, param_hint=option or exc.field) from None
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None


def open_store(
    home: str | None, db_url: str | None, *, must_exist: bool = False
) -> tuple[Settings, Engine]:
    """Resolve the settings and open the catalog database (errors as CLI errors).

    Args:
        home: ``--home``.
        db_url: ``--db``.
        must_exist: Refuse a home or database that does not exist (naming it and how to
            create one) instead of creating an empty catalog: for commands that read, or
            change what must already be there, so a typo is not an empty catalog.
    """
    with errors():
        settings = Settings.resolve(home=home, db_url=db_url)
        if not must_exist:
            if settings.database_url.startswith("sqlite"):
                settings.ensure_home()
        elif (home or os.environ.get(HOME_ENV)) and not settings.home.is_dir():
            raise ConfigError(
                f"no connector home at {settings.home} (--home/{HOME_ENV}); check the path, or "
                "create it by adding an integration (`cckit integrations add`)"
            )
        return settings, db.connect(settings, create=not must_exist)


class OneLineError(click.ClickException):
    """A usage mistake reported as one line (exit 2), without click's usage banner."""

    exit_code = 2


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON (exact: JSON escapes control characters itself)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as aligned text columns; every cell shown with :func:`visible` (one line each)."""
    cells = [[("" if c is None else visible(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def when(value: str | dt.datetime | None, never: str = "never") -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS UTC``, or ``never``."""
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

    def formatMessage(self, record: logging.LogRecord) -> str:
        # Log lines carry vendor text (IDs, titles, reasons): never raw control codes.
        return visible(super().formatMessage(record))

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
CHATTY_LIBRARIES = ("apscheduler", "alembic")


def setup_logging(verbose: bool = False, level: int | None = None) -> None:
    """One stderr handler for the CLI: no tracebacks unless verbose, vendor text escaped."""
    for name in CHATTY_LIBRARIES:
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


def counts_text(counts: dict[str, int]) -> str:
    """A run's non-zero counts as ``new=3 failed=1`` (``-`` when all are zero)."""
    order = ["new", "updated", "unchanged", "deactivated", "failed", "missing"]
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return " ".join(f"{k}={counts[k]}" for k in keys if counts[k]) or "-"


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


def echo_fields(lines: Sequence[tuple[str, Any]]) -> None:
    """Print ``Key: value`` lines aligned; values are shown with :func:`visible`."""
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"{key + ':':<{width + 1}} {visible(value)}")
