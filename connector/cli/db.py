"""``cckit db``: the catalog database's schema revision and upgrades (Alembic).

The connector upgrades the schema on first use anyway (:func:`connector.db.connect`);
these commands let an administrator see where it stands and upgrade when they choose.
"""

from __future__ import annotations

import click

from connector import db as db_api
from connector.cli._common import FORMAT
from connector.cli._common import echo_json
from connector.cli._common import errors
from connector.cli._common import store_options
from connector.config import Settings


@click.group("db")
def db() -> None:
    """The catalog database's schema: its revision, and upgrades (Alembic)."""


@db.command("upgrade")
@store_options
def db_upgrade(home: str | None, db_url: str | None) -> None:
    """Create the catalog schema, or upgrade it to this release's revision.

    Every command does this on first use too; run it to upgrade at a time of your choosing.
    An SQLite file is copied aside first (the path is printed).
    """
    from connector import migrate

    with errors():
        settings = Settings.resolve(home=home, db_url=db_url)
        if settings.database_url.startswith("sqlite"):
            settings.ensure_home()
        engine = db_api.create_engine(settings.database_url)
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


@db.command("status")
@FORMAT
@store_options
def db_status(output_format: str, home: str | None, db_url: str | None) -> None:
    """Show the schema revision of the catalog and what an upgrade would run (changes nothing)."""
    from connector import migrate

    with errors():
        settings = Settings.resolve(home=home, db_url=db_url)
        engine = db_api.create_engine(settings.database_url, create=False)
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
        echo_json(view)
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


db.add_command(db_status, "current")


__all__ = ["db"]
