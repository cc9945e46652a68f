"""Alembic environment of the catalog schema.

:mod:`connector.migrate` runs the migrations on a connection it already holds inside a
transaction and under the schema lock (``config.attributes["connection"]``). The
``alembic`` command (``alembic -c connector/migrations/alembic.ini ...``, for developers
writing a revision) instead opens ``-x url=URL``, else ``$CCKIT_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from connector import db
from connector.migrate import VERSION_TABLE
from connector.migrate import include_name

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        version_table=VERSION_TABLE,
        # SQLite alters a table by copying it; autogenerate writes batch operations then.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    if context.is_offline_mode():
        raise SystemExit("offline (--sql) mode is not supported; run against a database")
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "CCKIT_DATABASE_URL"
    )
    if not url:
        raise SystemExit("give the database: alembic -x url=URL ... (or CCKIT_DATABASE_URL)")
    engine = db.create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


_main()
