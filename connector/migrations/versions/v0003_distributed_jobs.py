"""The distributed mode (issue 12): ``run_packages`` and, on PostgreSQL, the job queue.

* ``run_packages``: one row per run whose packages are fanned out as jobs (pending
  counter, the package jobs' counts and downloads); see :mod:`connector.jobs.fanout`.
* On PostgreSQL, procrastinate's own schema (its ``procrastinate_*`` tables, types and
  functions), applied from the SQL procrastinate ships as package data through
  :func:`connector.jobs.app.apply_procrastinate_schema`. That SQL is not idempotent, so it
  is applied only when the tables are missing. Without the ``distributed`` extra the
  queue is left out here; ``cckit worker`` and ``--enqueue`` apply it later (same
  function, under the schema lock). SQLite catalogs get no queue (no distributed mode).
"""

from __future__ import annotations

import importlib.util
import logging

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("connector.migrate")


def upgrade() -> None:
    """Create ``run_packages``; on PostgreSQL with procrastinate installed, the job queue."""
    op.create_table(
        "run_packages",
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("sync_runs.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("sync_job_id", sa.BigInteger, nullable=True),
        sa.Column("pending", sa.Integer, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("downloads", sa.Integer, nullable=False, server_default="0"),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if importlib.util.find_spec("procrastinate") is None:
        log.info("job queue tables skipped: the 'distributed' extra is not installed")
        return
    from connector.jobs.app import apply_procrastinate_schema

    if apply_procrastinate_schema(bind):
        log.info("job queue tables created (procrastinate)")
