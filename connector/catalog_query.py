"""Catalog queries for an administrator's screen: search, filters, paging, bulk actions.

This is the query side of the admin console (``cckit console``): the console's views
only call these functions and render what they return, so that every rule about what a
*pending* or *failing* course is, which courses a bulk action touches, or what a CSV
export holds lives here, once, next to the tables.

The statuses an admin filters on:

* ``active`` / ``inactive``: the course's ``is_active`` flag;
* ``pending``: no published package yet (``current_package_id`` is empty);
* ``failing``: the course's last update failed and is being retried
  (``failing_since`` is set; the sync records it);
* ``protected``: at least one field is protected from the vendor's values.

Every function takes an :class:`~sqlalchemy.engine.Engine` and works the same on SQLite
and PostgreSQL. Writes are single transactions.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping

from connector import catalog
from connector import db
from connector.errors import CourseNotFound
from connector.errors import InvalidField
from connector.errors import RunNotFound

#: The status filters, in the order a screen shows them.
STATUSES = ("active", "inactive", "pending", "failing", "protected")
#: Sort keys an admin may choose, with the column each sorts by.
SORT_KEYS = ("title", "id", "provider", "integration", "updated")
#: Largest page a caller may ask for.
MAX_PER_PAGE = 500
#: Longest search text accepted (longer is an input error, not a slow query).
MAX_SEARCH_CHARS = 200
#: Every status a sync run record can have.
RUN_STATUSES = ("running", "succeeded", "partial", "failed", "interrupted", "abandoned")
#: Run statuses that mean "the vendor's list was read completely".
COMPLETE_RUN_STATUSES = ("succeeded", "partial")
#: The run status that means "complete and no course failed".
CLEAN_RUN_STATUSES = ("succeeded",)
#: Columns of the CSV export, in order.
CSV_COLUMNS = (
    "integration",
    "provider",
    "id",
    "title",
    "active",
    "pending",
    "failing",
    "failure_reason",
    "protected_fields",
    "languages",
    "version",
    "vendor_last_modified",
    "package_sha256",
    "updated_at",
)

_c = db.courses.c
_i = db.integrations.c


@dataclass(frozen=True)
class CourseQuery:
    """What an admin is looking at: search text, one status filter, an integration, a sort.

    Attributes:
        text: Case-insensitive substring of the title, the course ID, the provider or
            the integration name; empty for everything.
        status: One of :data:`STATUSES`, or ``None`` for every course.
        integration: Only this integration (by name), or ``None``.
        sort: One of :data:`SORT_KEYS`.
        descending: Reverse the order.
    """

    text: str = ""
    status: str | None = None
    integration: str | None = None
    sort: str = "title"
    descending: bool = False

    def __post_init__(self) -> None:
        if len(self.text) > MAX_SEARCH_CHARS:
            raise InvalidField("q", f"search text is longer than {MAX_SEARCH_CHARS} characters")
        if self.status is not None and self.status not in STATUSES:
            raise InvalidField(
                "status", f"unknown filter {self.status!r} (choose from {', '.join(STATUSES)})"
            )
        if self.sort not in SORT_KEYS:
            raise InvalidField(
                "sort", f"unknown sort {self.sort!r} (choose from {', '.join(SORT_KEYS)})"
            )

    @classmethod
    def from_mapping(cls, args: Mapping[str, str]) -> CourseQuery:
        """Build a query from URL parameters ``q``, ``status``, ``integration``, ``sort``,
        ``dir`` (``asc``/``desc``); empty values mean "not set".

        Raises:
            InvalidField: A parameter has an unknown value (the message names it).
        """
        direction = (args.get("dir") or "asc").strip().lower()
        if direction not in ("asc", "desc"):
            raise InvalidField("dir", f"must be asc or desc, got {direction!r}")
        return cls(
            text=(args.get("q") or "").strip(),
            status=(args.get("status") or "").strip() or None,
            integration=(args.get("integration") or "").strip() or None,
            sort=(args.get("sort") or "title").strip(),
            descending=direction == "desc",
        )

    def to_params(self) -> dict[str, str]:
        """The URL parameters that rebuild this query (defaults left out)."""
        params = {
            "q": self.text,
            "status": self.status or "",
            "integration": self.integration or "",
            "sort": "" if self.sort == "title" else self.sort,
            "dir": "desc" if self.descending else "",
        }
        return {k: v for k, v in params.items() if v}

    def with_status(self, status: str | None) -> CourseQuery:
        """The same query with another status filter."""
        return replace(self, status=status)

    def describe(self) -> str:
        """A short human description, e.g. ``failing courses matching 'intro'``."""
        what = f"{self.status} courses" if self.status else "all courses"
        if self.text:
            what += f" matching {self.text!r}"
        if self.integration:
            what += f" of integration {self.integration!r}"
        return what


@dataclass(frozen=True)
class CoursePage:
    """One page of a course search."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the whole result has (at least 1)."""
        return max(1, -(-self.total // self.per_page))


# --- the status derivations (the one place to change when the store records them) -----


def pending_condition() -> sa.ColumnElement[bool]:
    """A course with no published package."""
    return _c.current_package_id.is_(None)


def protected_condition() -> sa.ColumnElement[bool]:
    """A course with at least one protected field (same SQL on SQLite and PostgreSQL)."""
    return sa.func.json_array_length(_c.protected_fields) > 0


def failing_condition() -> sa.ColumnElement[bool]:
    """A course whose last update failed and is being retried (``failing_since`` set)."""
    return _c.failing_since.is_not(None)


def _status_condition(status: str) -> sa.ColumnElement[bool]:
    conditions = {
        "active": lambda: _c.is_active.is_(True),
        "inactive": lambda: _c.is_active.is_(False),
        "pending": pending_condition,
        "failing": failing_condition,
        "protected": protected_condition,
    }
    return conditions[status]()


# --- search --------------------------------------------------------------------------------


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _text_condition(text: str, dialect: str) -> sa.ColumnElement[bool]:
    pattern = _like_pattern(text)

    def contains(column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
        # SQLite's LIKE already ignores ASCII case, and its lower() knows no other case:
        # ILIKE's lower(x) LIKE lower(y) would only cost time there.
        if dialect == "sqlite":
            return column.like(pattern, escape="\\")
        return column.ilike(pattern, escape="\\")

    # Integrations are few: match their name and provider once, not once per course.
    integrations = sa.select(_i.id).where(sa.or_(contains(_i.name), contains(_i.provider)))
    return sa.or_(contains(_c.title), contains(_c.vendor_id), _c.integration_id.in_(integrations))


def _filters(
    query: CourseQuery, dialect: str, *, with_status: bool = True
) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``courses`` alone (no join needed) selecting ``query``'s courses."""
    where: list[sa.ColumnElement[bool]] = []
    if query.text:
        where.append(_text_condition(query.text, dialect))
    if query.integration:
        where.append(_c.integration_id.in_(sa.select(_i.id).where(_i.name == query.integration)))
    if with_status and query.status:
        where.append(_status_condition(query.status))
    return where


def _joined() -> sa.Join:
    return db.courses.join(db.integrations, _i.id == _c.integration_id)


def _order(query: CourseQuery) -> list[sa.ColumnElement[Any]]:
    column: sa.ColumnElement[Any] = {
        # Case-insensitive, as an admin reads a list; the same on every backend.
        "title": sa.func.lower(_c.title),
        "id": _c.vendor_id,
        "provider": _i.provider,
        "integration": _i.name,
        "updated": _c.updated_at,
    }[query.sort]
    first = column.desc() if query.descending else column.asc()
    return [first, _c.id.desc() if query.descending else _c.id.asc()]


def _row(row: RowMapping) -> dict[str, Any]:
    return {
        "pk": row["id"],
        "integration": row["integration"],
        "provider": row["provider"],
        "id": row["vendor_id"],
        "title": row["title"],
        "is_active": bool(row["is_active"]),
        "pending": row["current_package_id"] is None,
        "failing": row["failing_since"] is not None,
        "failing_since": row["failing_since"],
        "failure_reason": row["failure_reason"],
        "protected_fields": list(row["protected_fields"] or []),
        "languages": list(row["languages"] or []),
        "version": row["version"],
        "missing_from_vendor": bool(row["missing_from_vendor"]),
        "vendor_last_modified": row["vendor_last_modified"],
        "updated_at": row["updated_at"],
    }


_LIST_COLUMNS = (
    _c.id,
    _c.vendor_id,
    _c.title,
    _c.is_active,
    _c.current_package_id,
    _c.protected_fields,
    _c.languages,
    _c.version,
    _c.missing_from_vendor,
    _c.vendor_last_modified,
    _c.updated_at,
    _c.failing_since,
    _c.failure_reason,
    _c.integration_id,
    _i.name.label("integration"),
    _i.provider,
)


def _check_paging(page: int, per_page: int) -> None:
    if page < 1:
        raise InvalidField("page", f"must be 1 or more, got {page}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidField("per_page", f"must be 1-{MAX_PER_PAGE}, got {per_page}")


def _page_rows(
    conn: Connection, query: CourseQuery, total: int, page: int, per_page: int
) -> CoursePage:
    """Sort only the IDs (a narrow sort), then read the rows of the one page."""
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    source: Any = _joined() if query.sort in ("provider", "integration") else db.courses
    ids = [
        row[0]
        for row in conn.execute(
            sa.select(_c.id)
            .select_from(source)
            .where(*_filters(query, conn.dialect.name))
            .order_by(*_order(query))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ]
    rows = {
        r["id"]: r
        for r in conn.execute(
            sa.select(*_LIST_COLUMNS).select_from(_joined()).where(_c.id.in_(ids))
        ).mappings()
    }
    return CoursePage(
        rows=[_row(rows[i]) for i in ids if i in rows], total=total, page=page, per_page=per_page
    )


def search(engine: Engine, query: CourseQuery, *, page: int = 1, per_page: int = 50) -> CoursePage:
    """One page of the courses matching ``query``, in its order.

    Args:
        engine: Catalog database.
        query: Search text, filter, integration and sort.
        page: 1-based page number; a page past the end gives the last page.
        per_page: Rows per page (1 to :data:`MAX_PER_PAGE`).

    Raises:
        InvalidField: ``page`` or ``per_page`` out of range.
    """
    _check_paging(page, per_page)
    with engine.connect() as conn:
        total = _count(conn, query)
        return _page_rows(conn, query, total, page, per_page)


def browse(
    engine: Engine, query: CourseQuery, *, page: int = 1, per_page: int = 50
) -> tuple[CoursePage, dict[str, int]]:
    """A catalog screen in two scans: :func:`status_counts` (whose count for the chosen
    status is the page's total) and the page of :func:`search`.

    Raises:
        InvalidField: ``page`` or ``per_page`` out of range.
    """
    _check_paging(page, per_page)
    with engine.connect() as conn:
        counts = _status_counts(conn, query)
        total = counts[query.status or "all"]
        return _page_rows(conn, query, total, page, per_page), counts


def _count(conn: Connection, query: CourseQuery) -> int:
    stmt = sa.select(sa.func.count()).select_from(db.courses)
    return int(conn.execute(stmt.where(*_filters(query, conn.dialect.name))).scalar_one())


def count(engine: Engine, query: CourseQuery) -> int:
    """How many courses match ``query`` (what a bulk action on it would touch)."""
    with engine.connect() as conn:
        return _count(conn, query)


def status_counts(engine: Engine, query: CourseQuery) -> dict[str, int]:
    """Courses matching ``query``'s text and integration, per status (and ``all``)."""
    with engine.connect() as conn:
        return _status_counts(conn, query)


def _status_counts(conn: Connection, query: CourseQuery) -> dict[str, int]:
    def flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    stmt = sa.select(
        sa.func.count().label("all"),
        flag(_c.is_active.is_(True)).label("active"),
        flag(_c.is_active.is_(False)).label("inactive"),
        flag(pending_condition()).label("pending"),
        flag(failing_condition()).label("failing"),
        flag(protected_condition()).label("protected"),
    ).where(*_filters(query, conn.dialect.name, with_status=False))
    return {k: int(v) for k, v in conn.execute(stmt).mappings().one().items()}


# --- bulk actions and export -----------------------------------------------------------


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


# --- one course ----------------------------------------------------------------------------


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


# --- runs ----------------------------------------------------------------------------------


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


__all__ = [
    "CLEAN_RUN_STATUSES",
    "COMPLETE_RUN_STATUSES",
    "CSV_COLUMNS",
    "MAX_PER_PAGE",
    "RUN_STATUSES",
    "SORT_KEYS",
    "STATUSES",
    "CoursePage",
    "CourseQuery",
    "browse",
    "bulk_protect",
    "bulk_set_active",
    "content_root",
    "count",
    "course_detail",
    "course_outcomes",
    "course_ref",
    "course_structure",
    "csv_lines",
    "csv_safe",
    "failing_condition",
    "last_clean_syncs",
    "last_complete_syncs",
    "last_runs_by_status",
    "pending_condition",
    "protected_condition",
    "run_detail",
    "running_syncs",
    "search",
    "status_counts",
]
