"""The catalog page: search, filters, sort, paging, bulk actions, CSV export."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import stream_with_context
from werkzeug.wrappers import Response as BaseResponse

from connector import catalog
from connector import catalog_query
from connector.catalog_query import CourseQuery
from connector.errors import InvalidField
from console.app import state

bp = Blueprint("catalog", __name__)

PER_PAGE_CHOICES = (25, 50, 100, 200)
#: Bulk actions: form value -> (label, what the confirmation says).
BULK_ACTIONS = {
    "deactivate": "Deactivate",
    "reactivate": "Reactivate",
    "protect": "Protect",
}


def _int_arg(name: str, default: int) -> int:
    value = request.values.get(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidField(name, f"must be a whole number, got {value[:20]!r}") from None


def _query() -> CourseQuery:
    return CourseQuery.from_mapping(request.values)


@bp.get("/catalog")
def index() -> str:
    console = state(current_app)
    query = _query()
    per_page = _int_arg("per_page", 50)
    if per_page not in PER_PAGE_CHOICES:
        raise InvalidField("per_page", f"choose one of {', '.join(map(str, PER_PAGE_CHOICES))}")
    result, counts = catalog_query.browse(
        console.engine, query, page=_int_arg("page", 1), per_page=per_page
    )
    return render_template(
        "catalog.html",
        query=query,
        params=query.to_params(),
        result=result,
        per_page=per_page,
        per_page_choices=PER_PAGE_CHOICES,
        counts=counts,
        statuses=catalog_query.STATUSES,
        sort_keys=catalog_query.SORT_KEYS,
        bulk_actions=BULK_ACTIONS,
        protectable=catalog.PROTECTABLE_FIELDS,
    )


@bp.get("/catalog.csv")
def export_csv() -> Response:
    console = state(current_app)
    query = _query()

    def lines() -> Iterator[str]:
        yield from catalog_query.csv_lines(console.engine, query)

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="cckit-catalog.csv"'
    return response


@bp.post("/catalog/bulk")
def bulk() -> str | BaseResponse:
    """First post: show what would change and ask; second post (``confirm``): do it."""
    console = state(current_app)
    query = _query()
    action = request.form.get("action", "")
    if action not in BULK_ACTIONS:
        raise InvalidField("action", f"unknown bulk action {action[:30]!r}")
    fields = request.form.getlist("field")
    if action == "protect":
        if not fields:
            raise InvalidField("field", "choose at least one field to protect")
        fields = [catalog.normalise_field(f) for f in fields]
    matched = catalog_query.count(console.engine, query)
    expected = request.form.get("expected")
    if request.form.get("confirm") != "yes" or expected != str(matched):
        # Also when the selection changed since the admin saw the count: ask again.
        return render_template(
            "bulk_confirm.html",
            query=query,
            params=query.to_params(),
            action=action,
            label=BULK_ACTIONS[action],
            fields=fields,
            matched=matched,
            changed=expected is not None and expected != str(matched),
        )
    if action == "protect":
        done = catalog_query.bulk_protect(console.engine, query, fields)
        flash(f"Protected {', '.join(fields)} on {done} course(s) ({query.describe()}).")
    else:
        done = catalog_query.bulk_set_active(console.engine, query, action == "reactivate")
        flash(f"{BULK_ACTIONS[action]}d {done} course(s) ({query.describe()}).")
    from console.app import _query_url

    return redirect(_query_url("catalog.index", query.to_params()))
