"""Log in and out (only when the console requires a login)."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from werkzeug.wrappers import Response as BaseResponse

from console.app import state

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a local path is followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("catalog.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int]:
    console = state(current_app)
    if not console.require_login:
        return redirect(url_for("catalog.index"))
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target, error=None)
    address = request.remote_addr or "?"
    if console.guard.locked_out(address):
        error = "Too many failed attempts: wait a minute and try again."
        return render_template("login.html", next=target, error=error), 429
    if not console.guard.check(address, request.form.get("password", "")):
        return render_template("login.html", next=target, error="Wrong password."), 401
    session.clear()  # a fresh session (and CSRF token) after login: no fixation
    session["logged_in"] = True
    return redirect(target)


@bp.post("/logout")
def logout() -> BaseResponse:
    session.clear()
    return redirect(url_for("auth.login"))
