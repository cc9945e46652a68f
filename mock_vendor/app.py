"""The app factory and the request hooks shared by every blueprint."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

import flask

from mock_vendor import admin
from mock_vendor import auth
from mock_vendor import catalog
from mock_vendor import origin
from mock_vendor import packages
from mock_vendor.clock import format_instant
from mock_vendor.config import DEFAULTS
from mock_vendor.errors import APIError
from mock_vendor.errors import OAuthError
from mock_vendor.errors import ResponseValidationError
from mock_vendor.errors import register_error_handlers
from mock_vendor.limits import apply_body_limit
from mock_vendor.state import EXTENSION
from mock_vendor.state import VendorState
from mock_vendor.state import get_state
from mock_vendor.state import note_fault

#: Blueprint endpoint prefix -> the operation name faults and the journal use.
_OPERATIONS = {"auth": "token", "catalog": "list", "packages": "package", "origin": "package"}

#: Werkzeug compiles each URL rule with ``ast.parse``, and CPython 3.11 keeps the AST
#: converter's recursion counter per interpreter, not per thread: two threads building apps
#: at once (``cckit lms-check --jobs``) can fail with "SystemError: AST constructor
#: recursion depth mismatch" (python/cpython#106905). Apps are built one at a time.
_BUILD_LOCK = threading.Lock()


def create_app(config: Mapping[str, Any] | None = None) -> flask.Flask:
    """Build the mock vendor app.

    Defaults come from :data:`mock_vendor.config.DEFAULTS`, then environment variables
    with the ``CCKIT_MOCK_`` prefix, then ``config``.

    Args:
        config: Overrides, e.g. ``{"COURSES": 10, "SEED": 3, "FAULTS": ["latency:50"]}``.

    Returns:
        The Flask app; its state is ``app.extensions["mock_vendor"]`` (:func:`get_state`).

    Raises:
        ConfigError: A configuration value is unusable (the message names the key).
        CatalogError: A catalog folder cannot be served.
    """
    app = flask.Flask("mock_vendor", static_folder=None)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("CCKIT_MOCK")
    if config:
        app.config.update(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the contract's field order
    app.extensions[EXTENSION] = VendorState(app.config)

    register_error_handlers(app)
    app.before_request(_before_request)
    app.after_request(_after_request)
    with _BUILD_LOCK:
        for blueprint in (auth.bp, catalog.bp, packages.bp, admin.bp):
            app.register_blueprint(blueprint)
    if app.config["PREBUILD"]:
        threading.Thread(
            target=prebuild, args=(get_state(app),), name="mock-vendor-prebuild", daemon=True
        ).start()
    return app


def create_origin_app(app: flask.Flask) -> flask.Flask:
    """The app of the second package origin of ``app`` (same state, signed URLs only).

    Serve it on its own listener and set ``get_state(app).package_origin_url`` to that
    listener's base URL (:func:`mock_vendor.testing.serve` and ``cckit vendor serve`` do).
    """
    origin_app = flask.Flask("mock_vendor.origin", static_folder=None)
    origin_app.config.from_mapping(app.config)
    origin_app.json.sort_keys = False  # type: ignore[attr-defined]
    origin_app.extensions[EXTENSION] = get_state(app)
    register_error_handlers(origin_app)
    origin_app.before_request(_before_request)
    origin_app.after_request(_after_request)
    with _BUILD_LOCK:
        origin_app.register_blueprint(origin.bp)
    return origin_app


def prebuild(state: VendorState) -> None:
    """Build (or load from the cache) every package of every tenant."""
    with state.lock:
        packages = [r.package for t in state.tenants.values() for r in t.records]
    for package in packages:
        try:
            package.info()
        except OSError as exc:  # keep going: the download will report it
            state.record_problem(f"prebuild: {exc}")


def operation() -> str | None:
    """The operation of the current request: ``token``, ``list``, ``package`` or ``None``."""
    endpoint = flask.request.endpoint or ""
    return _OPERATIONS.get(endpoint.partition(".")[0])


def _before_request() -> None:
    flask.g.started = time.perf_counter()
    apply_body_limit()
    op = operation()
    if op is None:
        return
    state = get_state()
    if not state.faults:
        return  # the common case: no fault is on, nothing to look up
    course_id = (flask.request.view_args or {}).get("course_id")
    with state.lock:
        latency = state.faults.get("latency", op, course_id)
        delay = latency.arg / 1000 if latency else 0.0
        down = state.faults.get("token_endpoint_down", op, course_id)
        limited = state.faults.get("rate_limit", op, course_id)
        limited_now = limited.fire_counted() if limited else False
        failing = state.faults.get("server_error", op, course_id)
        failing_now = failing.fire_counted() if failing else False
    if latency:
        note_fault("latency")
        time.sleep(delay)  # outside the lock: other requests keep flowing
    if down:
        note_fault("token_endpoint_down")
        raise OAuthError(503, "temporarily_unavailable", "The token endpoint is down (fault).")
    if limited and limited_now:
        note_fault("rate_limit")
        raise APIError(
            429,
            "rate_limited",
            "Too many requests (fault rate_limit).",
            {"Retry-After": str(limited.arg[1])},
        )
    if failing_now:
        note_fault("server_error")
        raise APIError(500, "internal_error", "Simulated server error (fault server_error).")


def _schema_for(response: flask.Response) -> str | None:
    op = operation()
    if response.status_code == 304 or not response.is_json:
        return None
    if response.status_code >= 400:
        return "oauth-error" if flask.g.get("error_kind") == "oauth" else "api-error"
    if op == "token":
        return "token-response"
    if op == "list":
        return "course-list"
    return None


def _validate(response: flask.Response, state: VendorState) -> None:
    import schemas

    name = _schema_for(response)
    if name is None or flask.g.get("faults_applied"):
        return
    body = json.loads(response.get_data())
    errors = sorted(schemas.validator(name).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(root)"
        message = (
            f"{flask.request.method} {flask.request.path} -> {response.status_code}: body does "
            f"not match schema {name!r} at {where}: {first.message}"
        )
        state.record_problem(message)
        raise ResponseValidationError(message)


def _auth_kind() -> str:
    header = flask.request.headers.get("Authorization", "")
    scheme = header.partition(" ")[0].lower()
    if scheme in ("basic", "bearer"):
        return scheme
    if header:
        return "other"
    if flask.request.method == "POST" and "client_secret" in flask.request.form:
        return "form"
    return "none"


_SECRET_PARAMETERS = frozenset({"client_secret", "access_token", "token", "password"})


def _safe_query() -> str:
    """The query string with the values of secret-looking parameters redacted."""
    parts = []
    for key, value in flask.request.args.items(multi=True):
        shown = "[redacted]" if key.lower() in _SECRET_PARAMETERS else value
        parts.append(f"{key}={shown}")
    return "&".join(parts)


def _after_request(response: flask.Response) -> flask.Response:
    state = get_state()
    if flask.current_app.config["VALIDATE_RESPONSES"]:
        _validate(response, state)
    if flask.request.blueprint == "admin":
        return response  # the journal records vendor traffic only
    started = flask.g.get("started", time.perf_counter())
    entry = {
        "time": format_instant(state.clock.now()),
        "method": flask.request.method,
        "path": flask.request.path,
        "query": _safe_query(),
        "operation": operation(),
        "status": response.status_code,
        # Only the kind of credentials, never their value.
        "auth": _auth_kind(),
        "client_id": flask.g.get("client_id"),
        "if_modified_since": flask.request.headers.get("If-Modified-Since"),
        "range": flask.request.headers.get("Range"),
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "faults": list(flask.g.get("faults_applied", [])),
    }
    state.record(entry)
    return response


__all__ = [
    "EXTENSION",
    "create_app",
    "create_origin_app",
    "get_state",
    "note_fault",
    "operation",
    "prebuild",
]
