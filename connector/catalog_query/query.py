"""The admin console's course search: the filter object, status derivations, search, paging, counts.

See :mod:`connector.catalog_query` for what each status means. Every function takes an
:class:`~sqlalchemy.engine.Engine` and works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping

from connector import db
from connector.errors import InvalidField

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
