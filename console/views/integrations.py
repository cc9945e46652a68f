"""The integrations page: the seven fields, state, schedule; add, edit, sync now, remove."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response as BaseResponse

from connector import catalog_query
from connector import integrations
from connector.errors import IntegrationExists
from connector.errors import InvalidField
from connector.scheduler import next_daily_run
from console.app import state

bp = Blueprint("integrations", __name__)

#: The form's text fields, in the order of the seed's seven fields plus ours.
FORM_FIELDS = (
    "name",
    "provider",
    "provider_url",
    "auth_url",
    "client_id",
    "client_secret",
    "sync_time",
    "timezone",
    "auth_mode",
    "full_every_days",
    "allowed_package_hosts",
)


def _state_of(item: integrations.Integration, running: dict[int, Any], last: Any) -> str:
    if item.id in running:
        return "syncing"
    if not item.enabled:
        return "disabled"
    if last is None:
        return "never synced"
    return f"last run {last['status']}"


@bp.get("/integrations")
def index() -> str:
    console = state(current_app)
    items = integrations.list_all(console.engine, console.settings)
    complete = catalog_query.last_complete_syncs(console.engine)
    clean = catalog_query.last_clean_syncs(console.engine)
    running = catalog_query.running_syncs(console.engine)
    latest = catalog_query.last_runs_by_status(console.engine, catalog_query.RUN_STATUSES)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for item in items:
        rows.append(
            {
                "item": item,
                "allowed_hosts": item.allowed_package_hosts,
                "complete": complete.get(item.id),
                "clean": clean.get(item.id),
                "next_sync": next_daily_run(item.sync_time, item.timezone, now)
                if item.enabled
                else None,
                "state": _state_of(item, running, latest.get(item.id)),
                "job": console.jobs.status(item.name),
            }
        )
    return render_template("integrations.html", rows=rows)


def _form_values() -> dict[str, str]:
    return {name: request.form.get(name, "").strip() for name in FORM_FIELDS}


def _hosts(text: str) -> list[str]:
    """The allowed package hosts as typed: one per line, or separated by commas/spaces."""
    return [h for h in re.split(r"[\s,]+", text) if h]


def _full_every_days(text: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidField(
            "full_every_days", f"must be a whole number, got {text[:20]!r}"
        ) from None


def _render_form(mode: str, values: dict[str, Any], error: InvalidField | None, status: int) -> Any:
    values = {**values, "client_secret": ""}  # never sent back to the browser
    return (
        render_template(
            "integration_form.html",
            mode=mode,
            values=values,
            error=error,
            auth_modes=integrations.AUTH_MODES,
        ),
        status,
    )


@bp.route("/integrations/new", methods=["GET", "POST"])
def add() -> Any:
    console = state(current_app)
    if request.method == "GET":
        defaults = {"sync_time": "02:00", "timezone": "UTC", "auth_mode": "oauth2"}
        return _render_form("add", {**defaults, "full_every_days": "7"}, None, 200)
    values = _form_values()
    try:
        item = integrations.add(
            console.engine,
            console.settings,
            name=values["name"],
            provider=values["provider"],
            provider_url=values["provider_url"],
            auth_url=values["auth_url"] or None,
            client_id=values["client_id"],
            client_secret=values["client_secret"],
            sync_time=values["sync_time"],
            timezone=values["timezone"] or "UTC",
            auth_mode=values["auth_mode"] or "oauth2",
            full_every_days=_full_every_days(values["full_every_days"]) or 7,
            enabled=request.form.get("enabled") == "yes",
            allowed_package_hosts=_hosts(values["allowed_package_hosts"]),
        )
    except IntegrationExists as exc:
        return _render_form("add", values, InvalidField("name", str(exc)), 409)
    except InvalidField as exc:
        return _render_form("add", values, exc, 400)
    flash(f"Integration {item.name} added.")
    return redirect(url_for("integrations.index"))


@bp.route("/integrations/<name>/edit", methods=["GET", "POST"])
def edit(name: str) -> Any:
    console = state(current_app)
    item = integrations.get(console.engine, console.settings, name)
    if request.method == "GET":
        values = {k: v for k, v in item.to_dict().items() if k in FORM_FIELDS}
        values["full_every_days"] = str(item.full_every_days)
        values["allowed_package_hosts"] = "\n".join(item.allowed_package_hosts)
        return _render_form("edit", {**values, "enabled": item.enabled}, None, 200)
    values = _form_values()
    try:
        updated = integrations.update(
            console.engine,
            console.settings,
            name,
            new_name=values["name"] or None,
            provider=values["provider"] or None,
            provider_url=values["provider_url"] or None,
            auth_url=values["auth_url"],
            client_id=values["client_id"] or None,
            client_secret=values["client_secret"] or None,
            sync_time=values["sync_time"] or None,
            timezone=values["timezone"] or None,
            auth_mode=values["auth_mode"] or None,
            full_every_days=_full_every_days(values["full_every_days"]),
            allowed_package_hosts=_hosts(values["allowed_package_hosts"]),
        )
    except IntegrationExists as exc:
        return _render_form("edit", values, InvalidField("name", str(exc)), 409)
    except InvalidField as exc:
        return _render_form("edit", values, exc, 400)
    flash(f"Integration {updated.name} saved.")
    return redirect(url_for("integrations.index"))


@bp.post("/integrations/<name>/enabled")
def set_enabled(name: str) -> BaseResponse:
    console = state(current_app)
    enabled = request.form.get("enabled") == "yes"
    item = (integrations.enable if enabled else integrations.disable)(
        console.engine, console.settings, name
    )
    flash(f"Integration {item.name} {'enabled' if enabled else 'disabled'}.")
    return redirect(url_for("integrations.index"))


@bp.post("/integrations/<name>/sync")
def sync_now(name: str) -> BaseResponse:
    console = state(current_app)
    console.jobs.start(name)
    flash(f"Sync of {name} started.")
    return redirect(url_for("integrations.index", _anchor=f"integration-{name}"))


@bp.get("/integrations/<name>/sync.json")
def sync_status(name: str) -> Response:
    console = state(current_app)
    integrations.get(console.engine, console.settings, name)
    job = console.jobs.status(name)
    return jsonify(job.to_dict() if job else {"integration": name, "state": "idle"})


@bp.route("/integrations/<name>/remove", methods=["GET", "POST"])
def remove(name: str) -> Any:
    console = state(current_app)
    item = integrations.get(console.engine, console.settings, name)
    if request.method == "GET" or request.form.get("confirm_name") != item.name:
        mismatch = request.method == "POST"
        counts = catalog_query.status_counts(
            console.engine, catalog_query.CourseQuery(integration=item.name)
        )
        return render_template(
            "integration_remove.html", item=item, courses=counts["all"], mismatch=mismatch
        ), (400 if mismatch else 200)
    purge = request.form.get("purge") == "yes"
    deleted = integrations.remove(console.engine, console.settings, item.name, purge=purge)
    also = f" and {len(deleted)} content folder(s)" if purge else ""
    flash(f"Integration {item.name} removed with its catalog rows and runs{also}.")
    return redirect(url_for("integrations.index"))
