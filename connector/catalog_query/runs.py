"""Sync run history and per-integration sync state for the admin console."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector import catalog
from connector import db
from connector.catalog_query.query import CLEAN_RUN_STATUSES
from connector.catalog_query.query import COMPLETE_RUN_STATUSES
from connector.catalog_query.query import MAX_PER_PAGE
from connector.catalog_query.query import _c
from connector.catalog_query.query import _i
from connector.errors import InvalidField
from connector.errors import RunNotFound


def _duration(started: dt.datetime | None, finished: dt.datetime | None) -> float | None:
    if started is None or finished is None:
        return None
    return max(0.0, (finished - started).total_seconds())


def runs_page(
    engine: Engine, *, integration: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """A page of sync runs, newest first, with counts and duration; and the total."""
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidField("page", "out of range")
    r = db.sync_runs.c
    where = [] if integration is None else [_i.name == integration]
    joined = db.sync_runs.join(db.integrations, _i.id == r.integration_id)
    stmt = (
        sa.select(*db.sync_runs.c, _i.name.label("integration"))
        .select_from(joined)
        .where(*where)
        .order_by(r.started_at.desc(), r.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    with engine.connect() as conn:
        total = conn.execute(
            sa.select(sa.func.count()).select_from(joined).where(*where)
        ).scalar_one()
        rows = list(conn.execute(stmt).mappings())
    runs = []
    for row in rows:
        runs.append(
            {
                "run_id": row["id"],
                "integration": row["integration"],
                "status": row["status"],
                "full": bool(row["full"]),
                "started_at": row["started_at"],
                "finished_at": row["finished_at"],
                "duration_s": _duration(row["started_at"], row["finished_at"]),
                "counts": {k: v for k, v in dict(row["counts"] or {}).items() if v},
                "pages": row["pages"],
                "requests": row["requests"],
                "downloads": row["downloads"],
                "error": row["error"],
            }
        )
    return runs, int(total)


def run_detail(engine: Engine, run_id: int, *, failed_only: bool = False) -> dict[str, Any]:
    """One run with its per-course outcomes (only the failed ones if asked).

    Each outcome carries the course's database ID (``pk``) when the course is in the
    catalog, so a screen can link to it.

    Raises:
        RunNotFound: No such run.
    """
    run = catalog.get_run(engine, run_id)
    with engine.connect() as conn:
        integration_id = conn.execute(
            sa.select(db.sync_runs.c.integration_id).where(db.sync_runs.c.id == run_id)
        ).scalar_one_or_none()
        if integration_id is None:  # pragma: no cover - removed between the two reads
            raise RunNotFound(f"no sync run with ID {run_id}")
        ids = {o["id"] for o in run["outcomes"]}
        pks: dict[str, int] = {}
        id_list = sorted(ids)
        for start in range(0, len(id_list), 500):
            chunk = id_list[start : start + 500]
            for pk, vendor_id in conn.execute(
                sa.select(_c.id, _c.vendor_id).where(
                    _c.integration_id == integration_id, _c.vendor_id.in_(chunk)
                )
            ):
                pks[str(vendor_id)] = int(pk)
    outcomes = run["outcomes"]
    run["failed_count"] = sum(1 for o in outcomes if o["outcome"] == "failed")
    run["all_count"] = len(outcomes)
    if failed_only:
        outcomes = [o for o in outcomes if o["outcome"] == "failed"]
    run["outcomes"] = [{**o, "pk": pks.get(o["id"])} for o in outcomes]
    run["duration_s"] = _duration(
        _parse(run["started_at"]),
        _parse(run["finished_at"]),
    )
    return run


def _parse(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


# --- integrations --------------------------------------------------------------------------


def last_runs_by_status(engine: Engine, statuses: tuple[str, ...]) -> dict[int, dict[str, Any]]:
    """Per integration (database ID), the newest run whose status is in ``statuses``."""
    r = db.sync_runs.c
    newest = sa.select(sa.func.max(r.id)).where(r.status.in_(statuses)).group_by(r.integration_id)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(r.id, r.integration_id, r.status, r.started_at, r.finished_at).where(
                r.id.in_(newest)
            )
        ).mappings()
        return {
            int(row["integration_id"]): {
                "run_id": row["id"],
                "status": row["status"],
                "started_at": row["started_at"],
                "finished_at": row["finished_at"],
            }
            for row in rows
        }


def last_complete_syncs(engine: Engine) -> dict[int, dict[str, Any]]:
    """The last run per integration that read the vendor's list completely."""
    return last_runs_by_status(engine, COMPLETE_RUN_STATUSES)


def last_clean_syncs(engine: Engine) -> dict[int, dict[str, Any]]:
    """The last run per integration that was complete with no course failed."""
    return last_runs_by_status(engine, CLEAN_RUN_STATUSES)


def running_syncs(engine: Engine) -> dict[int, dict[str, Any]]:
    """Integrations whose sync lock is held now: run ID, owner and heartbeat."""
    lock = db.sync_locks.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(lock.integration_id, lock.run_id, lock.owner, lock.heartbeat_at)
        ).mappings()
        return {
            int(row["integration_id"]): {
                "run_id": row["run_id"],
                "owner": row["owner"],
                "heartbeat_at": row["heartbeat_at"],
            }
            for row in rows
        }
