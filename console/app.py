"""The console's Flask app factory: configuration, extensions, headers, error pages."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from connector import db
from connector.config import Settings
from connector.errors import ConnectorError
from connector.errors import CourseNotFound
from connector.errors import IntegrationNotFound
from connector.errors import RunNotFound
from console import text
from console.jobs import SyncJobs
from console.security import LoginGuard
from console.security import load_password_hash
from console.security import set_headers

EXTENSION = "cckit_console"
#: Endpoints reachable without a login.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})


@dataclass
class ConsoleState:
    """What the views share, on ``app.extensions["cckit_console"]``."""

    settings: Settings
    engine: Engine
    jobs: SyncJobs
    require_login: bool
    guard: LoginGuard


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookie marked ``Secure`` whenever the request came over https (directly,
    or through a proxy the admin declared with ``--behind-proxy``)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def state(app: Flask) -> ConsoleState:
    """The console state of ``app``."""
    found: ConsoleState = app.extensions[EXTENSION]
    return found


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the console.

    Config keys (besides Flask's own):
        CCKIT_SETTINGS: :class:`connector.config.Settings` (default: resolved from the
            environment).
        CCKIT_ENGINE: an engine to use instead of opening ``CCKIT_SETTINGS``' database.
        REQUIRE_LOGIN: ask for the password of ``cckit console set-password``.
        BEHIND_PROXY: trust one proxy's ``X-Forwarded-Proto/Host/For`` (https offload).

    Raises:
        ConsoleError: A login is required and no password was set.
        ConnectorError: The catalog database cannot be opened.
    """
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=False,
        SESSION_COOKIE_NAME="cckit_console",
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=True,
        MAX_CONTENT_LENGTH=1024 * 1024,
        MAX_FORM_PARTS=200,
        REQUIRE_LOGIN=False,
        BEHIND_PROXY=False,
    )
    app.config.update(dict(config or {}))
    app.session_interface = _SessionInterface()
    if app.config["BEHIND_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    settings = app.config.get("CCKIT_SETTINGS") or Settings.resolve()
    engine = app.config.get("CCKIT_ENGINE") or db.connect(settings)
    require_login = bool(app.config["REQUIRE_LOGIN"])
    password_hash = load_password_hash(settings.home) if require_login else None
    if require_login and password_hash is None:
        from console.errors import ConsoleError

        raise ConsoleError(
            "a login is required (non-loopback address or --login) but no password is set; "
            "run: cckit console set-password"
        )
    app.extensions[EXTENSION] = ConsoleState(
        settings=settings,
        engine=engine,
        jobs=SyncJobs(engine, settings),
        require_login=require_login,
        guard=LoginGuard(password_hash),
    )
    CSRFProtect(app)
    _register_templates(app)
    _register_blueprints(app)
    _register_hooks(app)
    _register_errors(app)
    return app


def _register_templates(app: Flask) -> None:
    app.jinja_env.filters["visible"] = text.visible
    app.jinja_env.filters["when"] = text.when
    app.jinja_env.filters["size"] = text.size
    app.jinja_env.filters["duration"] = text.duration
    app.jinja_env.globals["query_url"] = _query_url


def _query_url(endpoint: str, params: Mapping[str, Any], **extra: Any) -> str:
    """URL of ``endpoint`` with ``params`` and ``extra`` as its query string."""
    merged = {k: v for k, v in {**params, **extra}.items() if v not in (None, "")}
    base = url_for(endpoint)
    return f"{base}?{urlencode(merged)}" if merged else base


def _register_blueprints(app: Flask) -> None:
    from console.views import auth
    from console.views import catalog
    from console.views import courses
    from console.views import integrations
    from console.views import runs

    for module in (auth, catalog, courses, integrations, runs):
        app.register_blueprint(module.bp)

    @app.get("/")
    def index() -> BaseResponse:
        return redirect(url_for("catalog.index"))


def _register_hooks(app: Flask) -> None:
    @app.before_request
    def require_login() -> BaseResponse | None:
        console = state(app)
        g.logged_in = bool(session.get("logged_in"))
        if not console.require_login or g.logged_in:
            return None
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.path.endswith(".json"):
            return _error_response(401, "log in first")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.after_request
    def headers(response: Response) -> Response:
        return set_headers(response, preview=bool(g.get("preview")))

    @app.context_processor
    def globals_() -> dict[str, Any]:
        return {"login_enabled": state(app).require_login, "logged_in": g.get("logged_in")}


def _wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def _error_response(status: int, message: str) -> Response:
    if _wants_json():
        response = jsonify({"error": message, "status": status})
    elif request_ctx.url_adapter is None:
        # The request never got as far as routing (e.g. an untrusted Host): no links.
        response = Response(message, mimetype="text/plain")
    else:
        response = Response(render_template("error.html", status=status, message=message))
    response.status_code = status
    return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> Response:
        return _error_response(400, f"The form was refused: {exc.description}")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return _error_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(ConnectorError)
    def connector_error(exc: ConnectorError) -> Response:
        missing = (CourseNotFound, IntegrationNotFound, RunNotFound)
        return _error_response(404 if isinstance(exc, missing) else 400, str(exc))


__all__ = ["EXTENSION", "ConsoleState", "create_app", "state"]
