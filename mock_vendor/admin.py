"""The admin API under ``/_admin/``: drive the mock from tests, demos and scenarios.

Every call needs ``Authorization: Bearer <admin token>``. Course calls act on the first
tenant unless ``?tenant=<client_id>`` names another. Bodies and answers are JSON.
See ``docs/mock-vendor.md`` for the full table.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

import flask

import aicc
from mock_vendor.catalog import package_url
from mock_vendor.clock import format_instant
from mock_vendor.errors import APIError
from mock_vendor.errors import ConfigError
from mock_vendor.faults import FAULTS
from mock_vendor.faults import make_fault
from mock_vendor.faults import parse_fault
from mock_vendor.limits import json_object_body
from mock_vendor.limits import read_body
from mock_vendor.model import COURSE_FIELDS
from mock_vendor.model import CourseRecord
from mock_vendor.model import Package
from mock_vendor.model import Rebuild
from mock_vendor.model import Tenant
from mock_vendor.sources import admin_rebuild
from mock_vendor.state import VendorState
from mock_vendor.state import get_state
from mock_vendor.state import origin_mode

bp = flask.Blueprint("admin", __name__, url_prefix="/_admin")


@bp.before_request
def _require_admin_token() -> None:
    state = get_state()
    scheme, _, token = flask.request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        token.strip().encode(), state.admin_token.encode()
    ):
        raise APIError(
            401,
            "unauthorized",
            "The admin API needs Authorization: Bearer <admin token>.",
            {"WWW-Authenticate": 'Bearer realm="cckit-mock-admin"'},
        )


@bp.after_request
def _note_change(response: flask.Response) -> flask.Response:
    # Any admin call that may change something (not GET) invalidates cached list pages,
    # whatever it changed: the catalog, secrets, faults, the clock or everything (reset).
    if flask.request.method not in ("GET", "HEAD", "OPTIONS"):
        get_state().changed()
    return response


def _json_body() -> dict[str, Any]:
    return json_object_body()


def _tenant(state: VendorState) -> Tenant:
    client_id = flask.request.args.get("tenant")
    try:
        return state.tenant(client_id)
    except KeyError:
        raise APIError(404, "not_found", f"There is no tenant {client_id!r}.") from None


def _record(tenant: Tenant, course_id: str) -> CourseRecord:
    record = tenant.by_id.get(course_id)
    if record is None:
        raise APIError(404, "not_found", f"There is no course with ID {course_id!r}.")
    return record


def _course(state: VendorState, record: CourseRecord) -> dict[str, Any]:
    return record.admin_json(package_url(state, record.course_id))


def _check_course(body: dict[str, Any]) -> None:
    """Validate a composed course object against the contract's course schema."""
    import schemas

    errors = sorted(schemas.validator("course").iter_errors(body), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(course)"
        raise APIError(
            400,
            "invalid_course",
            f"The course would break the contract at {where}: {first.message}",
            details={"errors": [e.message[:300] for e in errors[:20]]},
        )


def _built(rebuild: Rebuild, revision: int, meta: dict[str, Any]) -> Package:
    """Build a course's package; a value the AICC writer cannot write is a 400, not a 500."""
    try:
        return rebuild(revision, meta)
    except aicc.AiccError as exc:
        raise APIError(
            400, "invalid_course", f"The course cannot be written as an AICC package: {exc}"
        ) from None


def _decode_package(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise APIError(400, "invalid_body", "package_base64 is not valid base64.") from exc


@bp.get("/")
def index() -> flask.Response:
    """Overview: auth mode, clock, tenants, active faults."""
    return flask.jsonify(get_state().summary())


@bp.get("/courses")
def list_courses() -> flask.Response:
    """Every course of the tenant, inactive ones included, with internal fields."""
    state = get_state()
    with state.lock:
        tenant = _tenant(state)
        return flask.jsonify([_course(state, r) for r in tenant.records])


@bp.get("/courses/<course_id>")
def get_course(course_id: str) -> flask.Response:
    """One course."""
    state = get_state()
    with state.lock:
        return flask.jsonify(_course(state, _record(_tenant(state), course_id)))


@bp.post("/courses")
def add_course() -> tuple[flask.Response, int]:
    """Add a course: ``{"ID", "Title", ...course fields, "package_base64"?}``.

    Without ``package_base64`` a one-lesson AICC package is built with the aicc writer.
    """
    state = get_state()
    body = _json_body()
    unknown = set(body) - {*COURSE_FIELDS, "ID", "package_base64"}
    if unknown:
        raise APIError(400, "invalid_body", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    course_id = body.get("ID")
    meta = {k: v for k, v in body.items() if k in COURSE_FIELDS}
    meta.setdefault("IsActive", True)
    meta.setdefault("Description", "")
    meta.setdefault("Languages", ["en-US"])
    with state.lock:
        tenant = _tenant(state)
        if isinstance(course_id, str) and course_id in tenant.by_id:
            raise APIError(409, "conflict", f"Course {course_id!r} already exists.")
        now = state.stamp()
        probe = {
            "ID": course_id,
            "CourseType": "AICC",
            "LastModifiedUTC": format_instant(now),
            "PackageLastModifiedUTC": format_instant(now),
            "DownloadPackageUrl": "https://vendor.example/p.zip",
            **meta,
        }
        _check_course(probe)  # the schema's ID pattern also refuses "CRS-1\n"
        assert isinstance(course_id, str)  # the schema requires a string ID
    rebuild = admin_rebuild(state, course_id)
    if "package_base64" in body:
        package = Package.from_bytes(
            _decode_package(body["package_base64"]), state.cache_dir / "uploads"
        )
    else:
        package = _built(rebuild, 0, meta)
    with state.lock:
        if course_id in tenant.by_id:
            raise APIError(409, "conflict", f"Course {course_id!r} already exists.")
        record = tenant.add(course_id, meta, now, now, package, rebuild)
        return flask.jsonify(_course(state, record)), 201


def _update(state: VendorState, record: CourseRecord, changes: dict[str, Any]) -> None:
    meta = {**record.meta, **changes}
    probe = record.to_json("https://vendor.example/p.zip")
    probe.update(changes)
    if not probe.get("IsActive", True):
        probe.pop("DownloadPackageUrl", None)
    else:
        probe["DownloadPackageUrl"] = "https://vendor.example/p.zip"
    _check_course(probe)
    if meta != record.meta:
        record.meta = meta
        record.last_modified = state.stamp(record.last_modified)
        _tenant(state).touch(record)


@bp.patch("/courses/<course_id>")
def update_course(course_id: str) -> flask.Response:
    """Change course fields (bumps LastModifiedUTC when something changed)."""
    state = get_state()
    body = _json_body()
    unknown = set(body) - set(COURSE_FIELDS)
    if unknown:
        raise APIError(
            400, "invalid_body", f"Fields that cannot be changed: {', '.join(sorted(unknown))}."
        )
    with state.lock:
        record = _record(_tenant(state), course_id)
        _update(state, record, body)
        return flask.jsonify(_course(state, record))


@bp.post("/courses/<course_id>/deactivate")
def deactivate_course(course_id: str) -> flask.Response:
    """Set IsActive false (the contract has no delete)."""
    state = get_state()
    with state.lock:
        record = _record(_tenant(state), course_id)
        _update(state, record, {"IsActive": False})
        return flask.jsonify(_course(state, record))


@bp.post("/courses/<course_id>/activate")
def activate_course(course_id: str) -> flask.Response:
    """Set IsActive true again."""
    state = get_state()
    with state.lock:
        record = _record(_tenant(state), course_id)
        _update(state, record, {"IsActive": True})
        return flask.jsonify(_course(state, record))


@bp.put("/courses/<course_id>/package")
def replace_package(course_id: str) -> flask.Response:
    """Replace the package with the zip in the body, or rebuild it when the body is empty.

    PackageLastModifiedUTC moves forward exactly when the bytes change (PKG-017/018).
    """
    state = get_state()
    data = read_body()
    with state.lock:
        record = _record(_tenant(state), course_id)
        rebuild, revision, meta = record.rebuild, record.revision + 1, dict(record.meta)
    if data:
        package = Package.from_bytes(data, state.cache_dir / "uploads")
    elif rebuild is not None:
        package = _built(rebuild, revision, meta)
    else:
        raise APIError(
            400, "invalid_body", "This course has no generator: send the new zip as the body."
        )
    try:
        new_hash = package.info().sha256  # a generated package is built here
    except aicc.AiccError as exc:
        raise APIError(
            400, "invalid_course", f"The course cannot be written as an AICC package: {exc}"
        ) from None
    with state.lock:
        if new_hash != record.package.info().sha256:
            record.package = package
            record.package_last_modified = state.stamp(record.package_last_modified)
            _tenant(state).touch(record)
        if not data:
            record.revision = revision
        return flask.jsonify(_course(state, record))


@bp.get("/clock")
def get_clock() -> flask.Response:
    """The mock clock."""
    state = get_state()
    return flask.jsonify({"now": format_instant(state.clock.now()), "frozen": state.clock.frozen})


@bp.post("/clock")
def advance_clock() -> flask.Response:
    """Advance the mock clock: ``{"advance": seconds}``."""
    state = get_state()
    body = _json_body()
    seconds = body.get("advance")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise APIError(400, "invalid_body", 'Send {"advance": <seconds>}.')
    try:
        now = state.clock.advance(float(seconds))
    except ConfigError as exc:
        raise APIError(400, "invalid_body", str(exc)) from exc
    return flask.jsonify({"now": format_instant(now), "frozen": state.clock.frozen})


@bp.get("/faults")
def get_faults() -> flask.Response:
    """Active faults, and every known fault with its requirement."""
    state = get_state()
    with state.lock:
        active = state.faults.to_list()
    return flask.jsonify(
        {"active": active, "available": [spec.to_dict() for spec in FAULTS.values()]}
    )


@bp.post("/faults")
def set_fault() -> tuple[flask.Response, int]:
    """Switch a fault on: ``{"spec": "NAME[:ARG][@SCOPE]"}`` or ``{"name", "arg", "scope"}``."""
    state = get_state()
    body = _json_body()
    try:
        if "spec" in body:
            fault = parse_fault(str(body["spec"]))
        elif "name" in body:
            scope = body.get("scope")
            fault = make_fault(
                str(body["name"]), body.get("arg"), None if scope is None else str(scope)
            )
        else:
            raise APIError(400, "invalid_body", 'Send {"spec": "NAME[:ARG][@SCOPE]"}.')
    except ConfigError as exc:
        raise APIError(400, "unknown_fault", str(exc)) from exc
    with state.lock:
        state.faults.add(fault)
    return flask.jsonify(fault.to_dict()), 201


@bp.delete("/faults/<name>")
def clear_fault(name: str) -> flask.Response:
    """Switch one fault off."""
    state = get_state()
    with state.lock:
        if not state.faults.remove(name):
            raise APIError(404, "not_found", f"Fault {name!r} is not on.")
        return flask.jsonify({"active": state.faults.to_list()})


@bp.delete("/faults")
def clear_faults() -> flask.Response:
    """Switch every fault off."""
    state = get_state()
    with state.lock:
        state.faults.clear()
    return flask.jsonify({"active": []})


@bp.get("/journal")
def journal() -> flask.Response:
    """Recorded vendor requests, oldest first (``?limit=N`` keeps the last N)."""
    state = get_state()
    limit_text = flask.request.args.get("limit")
    with state.lock:
        entries = list(state.journal)
    if limit_text is not None:
        if not limit_text.isdigit():
            raise APIError(400, "invalid_query", "limit must be a non-negative integer.")
        entries = entries[len(entries) - int(limit_text) :] if int(limit_text) else []
    return flask.jsonify(entries)


@bp.delete("/journal")
def clear_journal() -> flask.Response:
    """Forget recorded requests."""
    state = get_state()
    with state.lock:
        state.journal.clear()
    return flask.jsonify({"cleared": True})


@bp.post("/clients/<client_id>/rotate-secret")
def rotate_secret(client_id: str) -> flask.Response:
    """Give a client a new secret (``{"client_secret": ...}`` or a generated one).

    Tokens already issued stay valid until they expire, as with most real vendors.
    """
    state = get_state()
    body = _json_body()
    secret = body.get("client_secret") or secrets.token_urlsafe(24)
    if not isinstance(secret, str):
        raise APIError(400, "invalid_body", "client_secret must be a string.")
    with state.lock:
        tenant = state.tenants.get(client_id)
        if tenant is None:
            raise APIError(404, "not_found", f"There is no client {client_id!r}.")
        tenant.client_secret = secret
    return flask.jsonify({"client_id": client_id, "client_secret": secret})


@bp.post("/tokens/expire")
def expire_tokens() -> flask.Response:
    """Invalidate every issued access token now."""
    state = get_state()
    with state.lock:
        count = len(state.tokens)
        state.tokens.clear()
    return flask.jsonify({"expired": count})


@bp.get("/package-origin")
def get_package_origin() -> flask.Response:
    """The package origin switch: ``{"mode", "url", "url_ttl"}``."""
    state = get_state()
    with state.lock:
        return flask.jsonify(state.origin_summary())


@bp.post("/package-origin")
def set_package_origin() -> flask.Response:
    """Switch packages to the second origin: ``{"mode": "all" | "some" | "off"}``."""
    state = get_state()
    body = _json_body()
    try:
        mode = origin_mode(body.get("mode"))
    except ConfigError as exc:
        raise APIError(400, "invalid_body", str(exc)) from None
    with state.lock:
        if mode is not None and not state.package_origin_url:
            raise APIError(
                409,
                "conflict",
                "No package origin listener runs: start the mock with "
                "mock_vendor.testing.serve(..., package_origin=True) or cckit vendor serve "
                "--package-origin, or set PACKAGE_ORIGIN_URL.",
            )
        state.package_origin_mode = mode
        return flask.jsonify(state.origin_summary())


@bp.post("/reset")
def reset() -> flask.Response:
    """Back to the configured start: catalogs, secrets, faults, clock, tokens, journal."""
    state = get_state()
    state.reset()
    return flask.jsonify(state.summary())
