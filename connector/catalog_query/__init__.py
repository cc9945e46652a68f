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

The package's modules: :mod:`~connector.catalog_query.query` (the filter object, status
derivations, search, paging, counts), :mod:`~connector.catalog_query.bulk` (bulk actions and
the CSV export), :mod:`~connector.catalog_query.course` (one course: detail, outcomes, AICC
tree) and :mod:`~connector.catalog_query.runs` (run history, per-integration sync state).
Everything public is importable from here.
"""

from __future__ import annotations

from connector.catalog_query.bulk import bulk_protect
from connector.catalog_query.bulk import bulk_set_active
from connector.catalog_query.bulk import csv_lines
from connector.catalog_query.bulk import csv_safe
from connector.catalog_query.course import content_root
from connector.catalog_query.course import course_detail
from connector.catalog_query.course import course_outcomes
from connector.catalog_query.course import course_ref
from connector.catalog_query.course import course_structure
from connector.catalog_query.query import CLEAN_RUN_STATUSES
from connector.catalog_query.query import COMPLETE_RUN_STATUSES
from connector.catalog_query.query import CSV_COLUMNS
from connector.catalog_query.query import MAX_PER_PAGE
from connector.catalog_query.query import MAX_SEARCH_CHARS
from connector.catalog_query.query import RUN_STATUSES
from connector.catalog_query.query import SORT_KEYS
from connector.catalog_query.query import STATUSES
from connector.catalog_query.query import CoursePage
from connector.catalog_query.query import CourseQuery
from connector.catalog_query.query import browse
from connector.catalog_query.query import count
from connector.catalog_query.query import failing_condition
from connector.catalog_query.query import pending_condition
from connector.catalog_query.query import protected_condition
from connector.catalog_query.query import search
from connector.catalog_query.query import status_counts
from connector.catalog_query.runs import last_clean_syncs
from connector.catalog_query.runs import last_complete_syncs
from connector.catalog_query.runs import last_runs_by_status
from connector.catalog_query.runs import run_detail
from connector.catalog_query.runs import running_syncs
from connector.catalog_query.runs import runs_page

__all__ = [
    "CLEAN_RUN_STATUSES",
    "COMPLETE_RUN_STATUSES",
    "CSV_COLUMNS",
    "MAX_PER_PAGE",
    "MAX_SEARCH_CHARS",
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
    "runs_page",
    "search",
    "status_counts",
]
