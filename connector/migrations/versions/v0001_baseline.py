"""Baseline: the catalog schema of cckit 0.1.0 (what ``metadata.create_all`` made).

A catalog created before migrations existed has these tables and no version table;
:mod:`connector.migrate` recognises it and stamps it at this revision instead of running
it. This file is a frozen copy: never edit it to change the schema, add a revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
# The catalog's line of revisions; another schema in the same database (for instance a
# job queue's) can come as a second branch with its own label and base.
branch_labels = ("catalog",)
depends_on = None

#: The tables of this revision (how an unversioned 0.1.0 catalog is recognised).
TABLES = (
    "integrations",
    "courses",
    "package_versions",
    "sync_runs",
    "course_outcomes",
    "sync_locks",
)


def _utc() -> sa.DateTime:
    # connector.db.UTCDateTime stores through this type.
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the six tables of cckit 0.1.0."""
    op.create_table(
        "integrations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("provider_url", sa.String(2000), nullable=False),
        sa.Column("auth_url", sa.String(2000), nullable=True),
        sa.Column("client_id", sa.String(500), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text, nullable=False),
        sa.Column("auth_mode", sa.String(10), nullable=False, server_default="oauth2"),
        sa.Column("sync_time", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("full_every_days", sa.Integer, nullable=False, server_default="7"),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("last_success_started_at", _utc(), nullable=True),
        sa.Column("last_full_sync_at", _utc(), nullable=True),
    )
    op.create_table(
        "courses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "integration_id",
            sa.Integer,
            sa.ForeignKey("integrations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("vendor_id", sa.String(50), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("course_type", sa.String(20), nullable=False, server_default="AICC"),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("languages", sa.JSON, nullable=False),
        sa.Column("duration", sa.String(20), nullable=True),
        sa.Column("thumbnail", sa.String(2000), nullable=True),
        sa.Column("subjects", sa.JSON, nullable=False),
        sa.Column("keywords", sa.JSON, nullable=False),
        sa.Column("version", sa.String(100), nullable=True),
        sa.Column("localization", sa.JSON, nullable=False),
        sa.Column("vendor_last_modified", _utc(), nullable=True),
        sa.Column("vendor_package_last_modified", _utc(), nullable=True),
        sa.Column("protected_fields", sa.JSON, nullable=False),
        sa.Column("missing_from_vendor", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("missing_since", _utc(), nullable=True),
        sa.Column("current_package_id", sa.Integer, nullable=True),
        sa.Column("raw", sa.JSON, nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.UniqueConstraint("integration_id", "vendor_id", name="uq_courses_integration_vendor"),
    )
    op.create_table(
        "package_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "course_id",
            sa.Integer,
            sa.ForeignKey("courses.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("stored_path", sa.String(4000), nullable=False),
        sa.Column("aicc_summary", sa.JSON, nullable=True),
        sa.Column("package_last_modified", _utc(), nullable=True),
        sa.Column("downloaded_at", _utc(), nullable=False),
        sa.UniqueConstraint("course_id", "sha256", name="uq_package_versions_course_sha256"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "integration_id",
            sa.Integer,
            sa.ForeignKey("integrations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("full", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("if_modified_since", _utc(), nullable=True),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
        sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("downloads", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_sync_runs_integration_started", "sync_runs", ["integration_id", "started_at"]
    )
    op.create_table(
        "course_outcomes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("sync_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("vendor_id", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("rule_ids", sa.JSON, nullable=False),
    )
    op.create_index("ix_course_outcomes_run", "course_outcomes", ["run_id"])
    op.create_table(
        "sync_locks",
        sa.Column(
            "integration_id",
            sa.Integer,
            sa.ForeignKey("integrations.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("acquired_at", _utc(), nullable=False),
        sa.Column("heartbeat_at", _utc(), nullable=False),
    )


def downgrade() -> None:
    """Not supported: restore the backup taken before the upgrade instead."""
    raise NotImplementedError("downgrades are not supported; restore a backup")
