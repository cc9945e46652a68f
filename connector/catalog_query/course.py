"""One course for the admin console: its reference, detail, outcomes and AICC tree."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector import catalog
from connector import db
from connector.catalog_query.query import _c
from connector.catalog_query.query import _i
from connector.catalog_query.query import _joined
from connector.errors import CourseNotFound


def course_ref(engine: Engine, course_pk: int) -> tuple[str, str]:
    """``(integration name, vendor ID)`` of the course with database ID ``course_pk``.

    Raises:
        CourseNotFound: No such course.
    """
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(_i.name, _c.vendor_id).select_from(_joined()).where(_c.id == course_pk)
        ).first()
    if row is None:
        raise CourseNotFound(f"no course #{course_pk}")
    return str(row[0]), str(row[1])


def course_outcomes(
    engine: Engine, integration: str, vendor_id: str, *, limit: int = 10
) -> list[dict[str, Any]]:
    """The latest recorded outcomes of one course, newest first, with their runs."""
    o, r = db.course_outcomes.c, db.sync_runs.c
    stmt = (
        sa.select(o.outcome, o.reason, o.rule_ids, o.run_id, r.started_at, r.status)
        .select_from(
            db.course_outcomes.join(db.sync_runs, r.id == o.run_id).join(
                db.integrations, _i.id == r.integration_id
            )
        )
        .where(_i.name == integration, o.vendor_id == vendor_id)
        .order_by(o.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [
            {
                "outcome": row["outcome"],
                "reason": row["reason"],
                "rule_ids": list(row["rule_ids"] or []),
                "run_id": row["run_id"],
                "run_status": row["status"],
                "started_at": row["started_at"],
            }
            for row in conn.execute(stmt).mappings()
        ]


def course_detail(engine: Engine, course_pk: int) -> dict[str, Any]:
    """Everything a course page shows: metadata, package versions, statuses, outcomes.

    Raises:
        CourseNotFound: No such course.
    """
    integration, vendor_id = course_ref(engine, course_pk)
    detail = catalog.get_course(engine, vendor_id, integration=integration)
    outcomes = course_outcomes(engine, integration, vendor_id)
    detail["pk"] = course_pk
    detail["pending"] = detail["current_package"] is None
    detail["failing"] = detail["failing_since"] is not None
    detail["outcomes"] = outcomes
    detail["protectable_fields"] = list(catalog.PROTECTABLE_FIELDS)
    return detail


def content_root(settings_content_dir: Path, stored_path: str) -> Path | None:
    """The extracted folder of a package version, if it lies inside the content folder.

    Returns ``None`` when the folder is missing or points outside ``settings_content_dir``
    (a moved home, or a row not written by the sync).
    """
    root = settings_content_dir.resolve()
    try:
        folder = Path(stored_path).resolve()
    except (OSError, RuntimeError):
        return None
    if not folder.is_dir() or not folder.is_relative_to(root):
        return None
    return folder


def course_structure(folder: Path) -> list[dict[str, Any]]:
    """The AICC structure of an extracted package as trees, one per course file set.

    Each node is ``{"id", "kind" (block|au|unknown), "title", "launch", "launch_found",
    "children"}``; ``launch`` is an AU's File_Name (else Command_Line) and
    ``launch_found`` says whether that file is in the package. Read once per folder
    (a published version's folder never changes) and kept in a small cache.
    """
    return _structure_cached(str(folder))


@functools.lru_cache(maxsize=16)
def _structure_cached(folder: str) -> list[dict[str, Any]]:
    import aicc
    from aicc.model import id_key

    report = aicc.read(Path(folder))
    files = {p.relative_to(folder).as_posix().lower() for p in Path(folder).rglob("*")}
    trees = []
    for course in report.courses:
        titles = {id_key(d.system_id): d.title for d in course.descriptors}
        aus = {id_key(a.system_id): a for a in course.aus}
        nodes: dict[str, dict[str, Any]] = {}
        root: dict[str, Any] | None = None
        for node in course.walk():
            au = aus.get(id_key(node.system_id)) if node.kind == "au" else None
            launch = au.launch if au is not None else ""
            item: dict[str, Any] = {
                "id": node.system_id,
                "kind": node.kind,
                "title": titles.get(id_key(node.system_id), ""),
                "launch": launch,
                "launch_found": bool(launch) and launch.lstrip("./").lower() in files,
                "children": [],
            }
            if node.parent is None:
                item["title"] = item["title"] or course.course_title
                root = item
            else:
                nodes[id_key(node.parent)]["children"].append(item)
            if node.kind == "block":
                nodes.setdefault(id_key(node.system_id), item)
        trees.append(
            {
                "course_id": course.course_id,
                "title": course.course_title,
                "aus": len(course.aus),
                "blocks": len(course.blocks),
                "root": root,
            }
        )
    return trees
