"""The runs page: history with counts and durations; one run's per-course outcomes."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import request

from connector import catalog_query
from connector.errors import InvalidField
from console.app import state

bp = Blueprint("runs", __name__)
PER_PAGE = 50


@bp.get("/runs")
def index() -> str:
    console = state(current_app)
    integration = request.args.get("integration") or None
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        raise InvalidField("page", "must be a whole number") from None
    runs, total = catalog_query.runs_page(
        console.engine, integration=integration, page=page, per_page=PER_PAGE
    )
    pages = max(1, -(-total // PER_PAGE))
    return render_template(
        "runs.html", runs=runs, total=total, page=page, pages=pages, integration=integration
    )


@bp.get("/runs/<int:run_id>")
def show(run_id: int) -> str:
    console = state(current_app)
    failed_only = request.args.get("failed") == "1"
    run = catalog_query.run_detail(console.engine, run_id, failed_only=failed_only)
    return render_template("run.html", run=run, failed_only=failed_only)
