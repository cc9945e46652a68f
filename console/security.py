"""The console's defences: security headers, the login and its password file.

* Every response carries a Content-Security-Policy (no inline script, no framing by
  other sites), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``
  and ``X-Frame-Options``. Published course content (the preview) gets its own,
  sandboxing policy: see :data:`PREVIEW_CSP`.
* CSRF tokens (Flask-WTF's ``CSRFProtect``) guard every POST, also on loopback: any page
  open in the admin's browser can post a form to ``http://127.0.0.1``.
* When a login is required (always when bound to a non-loopback address), the password
  is checked against a salted scrypt hash in ``CCKIT_HOME/console-password`` (written by
  ``cckit console set-password``, mode 0600); the plain password is never stored.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import threading
import time
from pathlib import Path

from flask import Response
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from console.errors import ConsoleError

#: Policy of every console page: our own scripts and styles only, frames only of our
#: own preview, never framed by another site, forms post only to us.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: Policy of published course content. ``sandbox`` without ``allow-same-origin`` runs the
#: vendor's page in an opaque origin: it cannot read the console's cookies or pages, and
#: without ``allow-forms``/``allow-top-navigation`` it cannot post forms or take over the
#: window. Scripts may run (AICC lessons need them) but cannot call anyone
#: (``connect-src 'none'``, ``form-action 'none'``).
PREVIEW_CSP = (
    "sandbox allow-scripts; default-src 'self' data: blob: 'unsafe-inline' 'unsafe-eval'; "
    "connect-src 'none'; form-action 'none'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'self'"
)
#: Name of the password hash file in CCKIT_HOME.
PASSWORD_FILE = "console-password"  # noqa: S105 - a file name
#: Shortest password ``set-password`` accepts.
MIN_PASSWORD_CHARS = 10
#: Failed logins from one address before it must wait :data:`LOCKOUT_SECONDS`.
MAX_FAILED_LOGINS = 5
LOCKOUT_SECONDS = 60.0


def set_headers(response: Response, *, preview: bool = False) -> Response:
    """Add the security headers to ``response`` (the preview's policy when asked)."""
    headers = response.headers
    headers["Content-Security-Policy"] = PREVIEW_CSP if preview else CONSOLE_CSP
    headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: over https the CSRF check compares the Referer of a
    # POST with our own host, and no URL of ours ever reaches another site.
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "SAMEORIGIN" if preview else "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers.setdefault("Cache-Control", "no-store")
    return response


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1``."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def password_path(home: Path) -> Path:
    """Where the password hash lives for this CCKIT_HOME."""
    return home / PASSWORD_FILE


def set_password(home: Path, password: str) -> Path:
    """Store a salted hash of ``password`` (never the password) under ``home``.

    Raises:
        ConsoleError: The password is too short or the file cannot be written.
    """
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConsoleError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    path = password_path(home)
    hashed = generate_password_hash(password, method="scrypt")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(hashed + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConsoleError(f"cannot write {path}: {exc.strerror}") from None
    return path


def load_password_hash(home: Path) -> str | None:
    """The stored hash, or ``None`` when no password was set.

    Raises:
        ConsoleError: The file exists but cannot be read or holds no hash.
    """
    path = password_path(home)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConsoleError(f"cannot read {path}: {exc.strerror}") from None
    if not text.startswith(("scrypt:", "pbkdf2:")):
        raise ConsoleError(f"{path} holds no password hash; run cckit console set-password")
    return text


class LoginGuard:
    """Checks passwords and slows down guessing: after :data:`MAX_FAILED_LOGINS`
    failures an address waits :data:`LOCKOUT_SECONDS` before the next try is checked."""

    def __init__(self, password_hash: str | None) -> None:
        self.password_hash = password_hash
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def locked_out(self, address: str) -> bool:
        """True when ``address`` failed too often recently."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(address, []) if now - t < LOCKOUT_SECONDS]
            self._failures[address] = recent
            return len(recent) >= MAX_FAILED_LOGINS

    def check(self, address: str, password: str) -> bool:
        """True when ``password`` matches; a failure is counted against ``address``."""
        ok = self.password_hash is not None and check_password_hash(self.password_hash, password)
        if not ok:
            with self._lock:
                self._failures.setdefault(address, []).append(time.monotonic())
        return ok


__all__ = [
    "CONSOLE_CSP",
    "MIN_PASSWORD_CHARS",
    "PASSWORD_FILE",
    "PREVIEW_CSP",
    "LoginGuard",
    "is_loopback",
    "load_password_hash",
    "password_path",
    "set_headers",
    "set_password",
]
