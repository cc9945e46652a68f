"""Read and administer the synchronised catalog: courses, package versions and runs.

These functions back ``cckit catalog ...`` and ``cckit runs ...``. Courses are addressed
by the vendor's ``ID``; when two integrations hold the same ID the caller must name the
integration. Every write is one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping

from connector import db
from connector.errors import CatalogError
from connector.errors import CourseNotFound
from connector.errors import IntegrationNotFound
from connector.errors import InvalidField
from connector.errors import RunNotFound

#: Course fields an admin may protect from being overwritten by the vendor's values.
PROTECTABLE_FIELDS = ("Title", "Description", "Keywords", "Localization")


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _integration_id(conn: Connection, name: str) -> int:
    row = conn.execute(
        sa.select(db.integrations.c.id).where(db.integrations.c.name_key == name.casefold())
    ).first()
    if row is None:
        raise IntegrationNotFound(name)
    return int(row[0])


def _course_columns() -> list[Any]:
    return [*db.courses.c, db.integrations.c.name.label("integration")]


def _current_sha256() -> Any:
    """The SHA-256 of a course's current package zip (a correlated scalar subquery)."""
    return (
        sa.select(db.package_versions.c.sha256)
        .where(db.package_versions.c.id == db.courses.c.current_package_id)
        .scalar_subquery()
        .label("package_sha256")
    )


def _find_course(conn: Connection, vendor_id: str, integration: str | None) -> RowMapping:
    stmt = sa.select(*_course_columns()).join(
        db.integrations, db.integrations.c.id == db.courses.c.integration_id
    )
    stmt = stmt.where(db.courses.c.vendor_id == vendor_id)
    if integration is not None:
        stmt = stmt.where(db.courses.c.integration_id == _integration_id(conn, integration))
    rows = conn.execute(stmt).mappings().all()
    if not rows:
        where = f" in integration {integration!r}" if integration else ""
        raise CourseNotFound(f"no course with ID {vendor_id!r}{where}")
    if len(rows) > 1:
        names = ", ".join(sorted(r["integration"] for r in rows))
        raise CatalogError(
            f"course ID {vendor_id!r} exists in several integrations ({names}); "
            "name one with --integration"
        )
    return rows[0]


def course_state(row: RowMapping) -> str:
    """One word for a course's state: inactive, missing, pending, failing or active.

    *pending*: no package was ever published (its first one failed or is still to
    come); *failing*: live, but its last update failed and is being retried.
    """
    if not row["is_active"]:
        return "inactive"
    if row["missing_from_vendor"]:
        return "missing"
    if row["current_package_id"] is None:
        return "pending"
    if row["failing_since"] is not None:
        return "failing"
    return "active"


def _course_summary(row: RowMapping) -> dict[str, Any]:
    return {
        "integration": row["integration"],
        "id": row["vendor_id"],
        "title": row["title"],
        "is_active": bool(row["is_active"]),
        "missing_from_vendor": bool(row["missing_from_vendor"]),
        "languages": list(row["languages"] or []),
        "version": row["version"],
        "vendor_last_modified": _iso(row["vendor_last_modified"]),
        "package_last_modified": _iso(row["vendor_package_last_modified"]),
        "has_package": row["current_package_id"] is not None,
        "package_sha256": row.get("package_sha256"),
        "protected_fields": list(row["protected_fields"] or []),
        "updated_at": _iso(row["updated_at"]),
        "state": course_state(row),
        "failing_since": _iso(row["failing_since"]),
        "failure_reason": row["failure_reason"],
        "failure_rules": list(row["failure_rules"] or []),
        "retry_count": row["retry_count"] or 0,
        "next_retry_at": _iso(row["next_retry_at"]),
    }


def list_courses(
    engine: Engine, *, integration: str | None = None, include_inactive: bool = False
) -> list[dict[str, Any]]:
    """Return the catalog's courses as JSON-ready dicts, ordered by integration and ID.

    Args:
        engine: Catalog database.
        integration: Only this integration's courses.
        include_inactive: Include deactivated courses (hidden by default).

    Raises:
        IntegrationNotFound: ``integration`` does not exist.
    """
    with engine.connect() as conn:
        stmt = sa.select(*_course_columns(), _current_sha256()).join(
            db.integrations, db.integrations.c.id == db.courses.c.integration_id
        )
        if integration is not None:
            stmt = stmt.where(db.courses.c.integration_id == _integration_id(conn, integration))
        if not include_inactive:
            stmt = stmt.where(db.courses.c.is_active.is_(True))
        stmt = stmt.order_by(db.integrations.c.name, db.courses.c.vendor_id)
        return [_course_summary(row) for row in conn.execute(stmt).mappings()]


def get_course(engine: Engine, vendor_id: str, *, integration: str | None = None) -> dict[str, Any]:
    """Return one course with its metadata, current package version and version history.

    Args:
        engine: Catalog database.
        vendor_id: The vendor's course ``ID``.
        integration: The integration, required when the ID is ambiguous.

    Raises:
        CourseNotFound: No such course.
        CatalogError: The ID exists in several integrations and none was named.
    """
    with engine.connect() as conn:
        row = _find_course(conn, vendor_id, integration)
        versions = (
            conn.execute(
                sa.select(db.package_versions)
                .where(db.package_versions.c.course_id == row["id"])
                .order_by(db.package_versions.c.downloaded_at.desc(), db.package_versions.c.id)
            )
            .mappings()
            .all()
        )
    detail = _course_summary(row)
    detail.update(
        {
            "description": row["description"],
            "course_type": row["course_type"],
            "duration": row["duration"],
            "thumbnail": row["thumbnail"],
            "subjects": list(row["subjects"] or []),
            "keywords": list(row["keywords"] or []),
            "localization": list(row["localization"] or []),
            "missing_since": _iso(row["missing_since"]),
            "created_at": _iso(row["created_at"]),
        }
    )
    current = None
    history = []
    for version in versions:
        item = {
            "sha256": version["sha256"],
            "size": version["size"],
            "stored_path": version["stored_path"],
            "package_last_modified": _iso(version["package_last_modified"]),
            "downloaded_at": _iso(version["downloaded_at"]),
            "aicc_summary": version["aicc_summary"],
            "current": version["id"] == row["current_package_id"],
        }
        history.append(item)
        if item["current"]:
            current = item
    detail["current_package"] = current
    detail["package_versions"] = history
    return detail


def set_active(
    engine: Engine, vendor_id: str, active: bool, *, integration: str | None = None
) -> dict[str, Any]:
    """Activate or deactivate a course in the local catalog (content is kept).

    The vendor owns ``IsActive``: the next time a sync receives the course as active
    (after a change on the vendor's side, or in a full list) it is active again.

    Raises:
        CourseNotFound: No such course.
        CatalogError: Ambiguous ID.
    """
    with engine.begin() as conn:
        row = _find_course(conn, vendor_id, integration)
        conn.execute(
            sa.update(db.courses)
            .where(db.courses.c.id == row["id"])
            .values(is_active=active, updated_at=db.utcnow())
        )
    return get_course(engine, vendor_id, integration=row["integration"])


def normalise_field(name: str) -> str:
    """Map a user-typed field name (any case) to its canonical spelling.

    Raises:
        InvalidField: Not one of :data:`PROTECTABLE_FIELDS`.
    """
    for canonical in PROTECTABLE_FIELDS:
        if name.strip().lower() == canonical.lower():
            return canonical
    raise InvalidField(
        "field", f"{name!r} cannot be protected (choose from {', '.join(PROTECTABLE_FIELDS)})"
    )


def protect(
    engine: Engine,
    vendor_id: str,
    fields: list[str],
    *,
    protected: bool = True,
    integration: str | None = None,
) -> list[str]:
    """Protect (or unprotect) course fields from being overwritten by the next syncs.

    Args:
        engine: Catalog database.
        vendor_id: The vendor's course ``ID``.
        fields: Field names among :data:`PROTECTABLE_FIELDS` (any case).
        protected: ``False`` removes the protection.
        integration: The integration, required when the ID is ambiguous.

    Returns:
        The course's protected fields after the change, in canonical order.

    Raises:
        InvalidField: A field cannot be protected.
        CourseNotFound: No such course.
        CatalogError: Ambiguous ID.
    """
    names = {normalise_field(f) for f in fields}
    with engine.begin() as conn:
        row = _find_course(conn, vendor_id, integration)
        current = set(row["protected_fields"] or [])
        current = current | names if protected else current - names
        result = [f for f in PROTECTABLE_FIELDS if f in current]
        conn.execute(
            sa.update(db.courses)
            .where(db.courses.c.id == row["id"])
            .values(protected_fields=result, updated_at=db.utcnow())
        )
    return result


def _run_summary(row: RowMapping) -> dict[str, Any]:
    return {
        "run_id": row["id"],
        "integration": row["integration"],
        "status": row["status"],
        "full": bool(row["full"]),
        "started_at": _iso(row["started_at"]),
        "finished_at": _iso(row["finished_at"]),
        "if_modified_since": _iso(row["if_modified_since"]),
        "counts": dict(row["counts"] or {}),
        "pages": row["pages"],
        "requests": row["requests"],
        "downloads": row["downloads"],
        "error": row["error"],
    }


def _runs_select() -> sa.Select[Any]:
    return sa.select(*db.sync_runs.c, db.integrations.c.name.label("integration")).join(
        db.integrations, db.integrations.c.id == db.sync_runs.c.integration_id
    )


def list_runs(
    engine: Engine, *, integration: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Return the most recent sync runs, newest first.

    Raises:
        IntegrationNotFound: ``integration`` does not exist.
        InvalidField: ``limit`` is below 1.
    """
    if limit < 1:
        raise InvalidField("limit", f"must be at least 1, got {limit}")
    with engine.connect() as conn:
        stmt = _runs_select()
        if integration is not None:
            stmt = stmt.where(db.sync_runs.c.integration_id == _integration_id(conn, integration))
        stmt = stmt.order_by(db.sync_runs.c.started_at.desc(), db.sync_runs.c.id.desc())
        return [_run_summary(row) for row in conn.execute(stmt.limit(limit)).mappings()]


def get_run(engine: Engine, run_id: int) -> dict[str, Any]:
    """Return one run with its per-course outcomes (ordered by course ID).

    Raises:
        RunNotFound: No such run.
    """
    with engine.connect() as conn:
        row = conn.execute(_runs_select().where(db.sync_runs.c.id == run_id)).mappings().first()
        if row is None:
            raise RunNotFound(f"no sync run with ID {run_id}")
        outcomes = conn.execute(
            sa.select(db.course_outcomes)
            .where(db.course_outcomes.c.run_id == run_id)
            .order_by(db.course_outcomes.c.vendor_id, db.course_outcomes.c.id)
        ).mappings()
        run = _run_summary(row)
        run["outcomes"] = [
            {
                "id": o["vendor_id"],
                "outcome": o["outcome"],
                "reason": o["reason"],
                "rule_ids": list(o["rule_ids"] or []),
            }
            for o in outcomes
        ]
    return run


def sync_milestones(engine: Engine) -> dict[int, dict[str, str | None]]:
    """Per integration ID: when its last complete and last clean sync started.

    *Complete*: the whole list was read (status ``succeeded`` or ``partial``; the
    watermark moved). *Clean*: complete with no failed course (``succeeded``).
    """
    runs = db.sync_runs.c
    result: dict[int, dict[str, str | None]] = {}
    with engine.connect() as conn:
        for key, statuses in (
            ("last_complete", ("succeeded", "partial")),
            ("last_clean", ("succeeded",)),
        ):
            rows = conn.execute(
                sa.select(runs.integration_id, sa.func.max(runs.started_at))
                .where(runs.status.in_(statuses))
                .group_by(runs.integration_id)
            )
            for integration_id, started in rows:
                entry = result.setdefault(
                    integration_id, {"last_complete": None, "last_clean": None}
                )
                entry[key] = _iso(started)
    return result


def last_runs(engine: Engine) -> dict[int, dict[str, Any]]:
    """Return the latest run of each integration, keyed by integration database ID."""
    latest = sa.select(sa.func.max(db.sync_runs.c.id)).group_by(db.sync_runs.c.integration_id)
    with engine.connect() as conn:
        rows = conn.execute(_runs_select().where(db.sync_runs.c.id.in_(latest))).mappings()
        return {row["integration_id"]: _run_summary(row) for row in rows}


__all__ = [
    "PROTECTABLE_FIELDS",
    "course_state",
    "get_course",
    "get_run",
    "last_runs",
    "list_courses",
    "list_runs",
    "normalise_field",
    "protect",
    "set_active",
    "sync_milestones",
]
