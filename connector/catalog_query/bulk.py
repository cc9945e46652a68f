"""Bulk actions on a filtered selection of courses, and the CSV export of one.

Writes are single transactions; a selection is exactly what :func:`~connector.catalog_query.
search` would list for the same :class:`~connector.catalog_query.CourseQuery`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector import catalog
from connector import db
from connector.catalog_query.query import _LIST_COLUMNS
from connector.catalog_query.query import CSV_COLUMNS
from connector.catalog_query.query import CourseQuery
from connector.catalog_query.query import _c
from connector.catalog_query.query import _filters
from connector.catalog_query.query import _joined
from connector.catalog_query.query import _order
from connector.errors import InvalidField


def _selected_ids(query: CourseQuery, dialect: str) -> sa.Select[Any]:
    return sa.select(_c.id).where(*_filters(query, dialect))


def bulk_set_active(engine: Engine, query: CourseQuery, active: bool) -> int:
    """Deactivate (or reactivate) every course matching ``query``; returns how many.

    Content is kept; as with :func:`connector.catalog.set_active`, the vendor's next
    change of a course sets its flag again.
    """
    with engine.begin() as conn:
        result = conn.execute(
            sa.update(db.courses)
            .where(_c.id.in_(_selected_ids(query, conn.dialect.name)))
            .values(is_active=active, updated_at=db.utcnow())
        )
    return int(result.rowcount)


def bulk_protect(
    engine: Engine, query: CourseQuery, fields: list[str], *, protected: bool = True
) -> int:
    """Protect (or unprotect) ``fields`` on every course matching ``query``.

    Returns:
        How many courses matched (each now has the fields protected or not).

    Raises:
        InvalidField: A field is not one of :data:`connector.catalog.PROTECTABLE_FIELDS`,
            or none was given.
    """
    if not fields:
        raise InvalidField("field", "choose at least one field to protect")
    names = {catalog.normalise_field(f) for f in fields}
    now = db.utcnow()
    touched = 0
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(_c.id, _c.protected_fields).where(
                _c.id.in_(_selected_ids(query, conn.dialect.name))
            )
        ).all()
        updates = []
        for course_id, current in rows:
            have = set(current or [])
            have = have | names if protected else have - names
            updates.append(
                {
                    "pk": course_id,
                    "fields": [f for f in catalog.PROTECTABLE_FIELDS if f in have],
                    "now": now,
                }
            )
        touched = len(updates)
        if updates:
            conn.execute(
                sa.update(db.courses)
                .where(_c.id == sa.bindparam("pk"))
                .values(protected_fields=sa.bindparam("fields"), updated_at=sa.bindparam("now")),
                updates,
            )
    return touched


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def csv_safe(value: str) -> str:
    """A cell that a spreadsheet will not run as a formula (vendor text is untrusted)."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def csv_lines(engine: Engine, query: CourseQuery, *, batch: int = 1000) -> Iterator[str]:
    """The courses matching ``query`` as CSV text, header first, one line per course.

    Rows are read in batches so an export of the whole catalog holds little in memory.
    Cells that a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``) are prefixed
    with ``'``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_safe(c) for c in cells])
        return buffer.getvalue()

    yield line(list(CSV_COLUMNS))
    stmt = (
        sa.select(*_LIST_COLUMNS, db.package_versions.c.sha256)
        .select_from(
            _joined().outerjoin(
                db.package_versions, db.package_versions.c.id == _c.current_package_id
            )
        )
        .where(*_filters(query, engine.dialect.name))
        .order_by(*_order(query))
    )
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(stmt).mappings()
        for r in result:
            yield line(
                [
                    r["integration"],
                    r["provider"],
                    r["vendor_id"],
                    r["title"],
                    "yes" if r["is_active"] else "no",
                    "yes" if r["current_package_id"] is None else "no",
                    "yes" if r["failing_since"] is not None else "no",
                    _text(r["failure_reason"]),
                    " ".join(r["protected_fields"] or []),
                    " ".join(r["languages"] or []),
                    _text(r["version"]),
                    _text(r["vendor_last_modified"]),
                    _text(r["sha256"]),
                    _text(r["updated_at"]),
                ]
            )
