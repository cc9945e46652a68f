"""Integration identity, the retry set and the run heartbeat (issue 14).

* ``integrations``: ``uid`` (immutable, content folders are keyed by it), ``name_key``
  (the case-folded name, unique), ``allowed_package_hosts`` (JSON list), ``limits``
  (JSON object of overrides). Existing rows get a fresh uid, ``[]`` and ``{}``. Two
  existing names that differ only in case (possible before this revision) cannot both
  keep their name: the later one is renamed ``<name>-<id>`` and a warning says so.
* ``courses``: ``failing_since``, ``failure_reason``, ``failure_rules``, ``retry_count``
  (0), ``next_retry_at``.
* ``sync_runs``: ``heartbeat_at``.
"""

from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("connector.migrate")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the columns, fill them for existing integrations, then make them required."""
    with op.batch_alter_table("courses") as batch:
        batch.add_column(sa.Column("failing_since", _utc(), nullable=True))
        batch.add_column(sa.Column("failure_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("failure_rules", sa.JSON, nullable=True))
        batch.add_column(sa.Column("retry_count", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_retry_at", _utc(), nullable=True))
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", _utc(), nullable=True))
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("uid", sa.String(32), nullable=True))
        batch.add_column(sa.Column("name_key", sa.String(100), nullable=True))
        batch.add_column(sa.Column("allowed_package_hosts", sa.JSON, nullable=True))
        batch.add_column(sa.Column("limits", sa.JSON, nullable=True))
    _fill_integrations()
    with op.batch_alter_table("integrations") as batch:
        batch.alter_column("uid", existing_type=sa.String(32), nullable=False)
        batch.alter_column("name_key", existing_type=sa.String(100), nullable=False)
        for name in ("allowed_package_hosts", "limits"):
            batch.alter_column(name, existing_type=sa.JSON, nullable=False)
        # The names PostgreSQL gives the unnamed constraints of connector.db's tables.
        batch.create_unique_constraint("integrations_uid_key", ["uid"])
        batch.create_unique_constraint("integrations_name_key_key", ["name_key"])


def _fill_integrations() -> None:
    table = sa.table(
        "integrations",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("uid", sa.String),
        sa.column("name_key", sa.String),
        sa.column("allowed_package_hosts", sa.JSON),
        sa.column("limits", sa.JSON),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, table.c.name).order_by(table.c.id)).all()
    taken = {str(name).casefold() for _, name in rows}
    seen: set[str] = set()
    for row_id, name in rows:
        new_name = str(name)
        if new_name.casefold() in seen:
            new_name = f"{new_name[:90]}-{row_id}"
            while new_name.casefold() in taken:
                new_name += "-"
            taken.add(new_name.casefold())
            log.warning(
                "integration %r renamed %r: names are now unique regardless of case", name, new_name
            )
        seen.add(new_name.casefold())
        bind.execute(
            table.update()
            .where(table.c.id == row_id)
            .values(
                name=new_name,
                uid=uuid.uuid4().hex,
                name_key=new_name.casefold(),
                allowed_package_hosts=[],
                limits={},
            )
        )


def downgrade() -> None:
    """Not supported: restore the backup taken before the upgrade instead."""
    raise NotImplementedError("downgrades are not supported; restore a backup")
