"""The scenario journal: every request the client sends, recorded at the mock's WSGI edge.

:class:`Wire` wraps the mock vendor's WSGI app (``app.wsgi_app = Wire(...)``, the usual
middleware pattern) and records one :class:`Entry` per request: when it arrived and
ended (wall clock, for ``Retry-After`` and watermark checks), what was asked, with which
kind of credentials and which token (``T1``, ``T2`` ... in issue order, never the token
itself), and what was answered (status, ``Retry-After``, the served ``next`` link, bytes
sent, the SHA-256 of a served package). It is a superset of the mock's own journal: it
also sees the answers that a scenario injects here (``503`` bursts, cut or stalled
bodies, rewritten URLs), which the mock never produced.

A scenario steers the wire with a *hook*: a function called before each request is
passed on, which may change the vendor (through the mock's state) and may return an
:class:`Action` that answers in the mock's place or reshapes its answer.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import unquote

#: The mock vendor's endpoint paths (``schemas/openapi.yaml`` recommends them).
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path
LIST_PATH = "/api/v1/courses"
_PACKAGE_PATH = re.compile(r"^/api/v1/courses/([^/]+)/package\.zip$")
_NEXT_LINK = re.compile(r'<([^>]*)>\s*;[^,]*rel="?next"?', re.IGNORECASE)
_SECRET_KEYS = frozenset({"client_secret", "access_token", "token", "password"})

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class Entry:
    """One request of the client, as the vendor saw it."""

    n: int
    sync: int
    started: float
    method: str
    path: str
    query: str
    op: str
    course: str | None = None
    ended: float = 0.0
    status: int = 0
    auth: str = "none"
    token: str | None = None
    ims: str | None = None
    range: str | None = None
    retry_after: str | None = None
    error: str | None = None
    next_url: str | None = None
    length: int | None = None
    sent: int = 0
    cut: bool = False
    injected: str | None = None
    credentials_in_url: str | None = None
    package_sha256: str | None = None

    @property
    def url(self) -> str:
        """Path and (redacted) query."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300

    def describe(self) -> str:
        """One line for a verdict's evidence."""
        parts = [f"journal #{self.n} (sync {self.sync}): {self.method} {_short(self.url)}"]
        parts.append(f"-> {self.status}" + (f" {self.error}" if self.error else ""))
        cred = self.auth + (f" {self.token}" if self.token else "")
        parts.append(f"[{cred}]")
        if self.ims:
            parts.append(f"If-Modified-Since: {self.ims}")
        if self.range:
            parts.append(f"Range: {self.range}")
        if self.retry_after:
            parts.append(f"Retry-After: {self.retry_after}")
        if self.cut:
            parts.append(f"body cut after {self.sent} of {self.length} bytes")
        if self.injected:
            parts.append(f"(lms-check: {self.injected})")
        return " ".join(parts)


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Action:
    """What a hook asks the wire to do with one request.

    Attributes:
        name: Shown in the journal entry (``injected``).
        respond: ``(status, headers, body)``: answer in the vendor's place.
        cut: Send only this fraction of the body, then close the connection.
        stall: Send the headers and the first bytes, then nothing for this many seconds
            (or until the scenario ends), then close.
        rewrite: Changes the decoded JSON body of a list answer (a package URL moved).
        link: Replaces the ``next`` link of a list answer (a link to another origin).
    """

    name: str
    respond: tuple[int, dict[str, str], bytes] | None = None
    cut: float | None = None
    stall: float | None = None
    rewrite: Callable[[Any], Any] | None = None
    link: Callable[[str], str] | None = None


Hook = Callable[["Wire", Entry], Action | None]


@dataclass
class Wire:
    """WSGI middleware that records the client's requests and applies scenario actions.

    Args:
        app: The wrapped WSGI app (the mock's original ``wsgi_app``).
        secret: The client secret (to spot it in URLs; never recorded).
        package_sha256: ``course ID -> SHA-256`` of the bytes the mock serves now.
    """

    app: WSGIApp
    secret: str
    package_sha256: Callable[[str], str | None]
    entries: list[Entry] = field(default_factory=list)
    hook: Hook | None = None
    sync: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tokens: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ bookkeeping

    def token_label(self, token: str) -> str:
        """``T<n>`` of a token in issue order (``T?`` for one the vendor never issued)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            return self._tokens.get(digest, "T?")

    def _issue(self, token: str) -> str:
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            return self._tokens.setdefault(digest, f"T{len(self._tokens) + 1}")

    def _known_token(self, text: str) -> bool:
        with self._lock:
            digests = set(self._tokens)
        return any(
            hashlib.sha256(word.encode()).hexdigest() in digests
            for word in re.split(r"[/?&=;,]", text)
            if len(word) >= 16
        )

    def of_sync(self, sync: int) -> list[Entry]:
        """The entries of one sync, in arrival order."""
        with self._lock:
            return [e for e in self.entries if e.sync == sync]

    def snapshot(self) -> list[Entry]:
        """Every entry so far."""
        with self._lock:
            return list(self.entries)

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        if path.startswith("/_admin"):
            return self.app(environ, start_response)
        entry = self._open(environ, path)
        action = self.hook(self, entry) if self.hook is not None else None
        if action is not None:
            entry.injected = action.name
        if action is not None and action.respond is not None:
            status, headers, body = action.respond
            entry.status = status
            entry.retry_after = headers.get("Retry-After")
            entry.length = entry.sent = len(body)
            entry.ended = time.time()
            reason = {429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "Error")
            start_response(
                f"{status} {reason}",
                [*headers.items(), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self._forward(environ, start_response, entry, action)

    def _open(self, environ: dict[str, Any], path: str) -> Entry:
        raw_query = str(environ.get("QUERY_STRING") or "")
        package = _PACKAGE_PATH.match(path)
        op = (
            "token"
            if path == TOKEN_PATH
            else "list"
            if path == LIST_PATH
            else "package"
            if package
            else "other"
        )
        with self._lock:
            entry = Entry(
                n=len(self.entries) + 1,
                sync=self.sync,
                started=time.time(),
                method=str(environ.get("REQUEST_METHOD") or "GET"),
                path=path,
                query=_redact(raw_query),
                op=op,
                course=unquote(package.group(1)) if package else None,
                ims=environ.get("HTTP_IF_MODIFIED_SINCE"),
                range=environ.get("HTTP_RANGE"),
            )
            self.entries.append(entry)
        entry.auth, bearer = self._credentials(environ)
        if bearer is not None:
            entry.token = self.token_label(bearer)
        entry.credentials_in_url = self._credentials_in_url(unquote(path), unquote(raw_query))
        return entry

    def _credentials(self, environ: dict[str, Any]) -> tuple[str, str | None]:
        header = str(environ.get("HTTP_AUTHORIZATION") or "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return "bearer", value.strip()
        if scheme.lower() == "basic":
            return "basic", None
        if header:
            return "other", None
        if environ.get("REQUEST_METHOD") == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size) if 0 < size <= 65536 else b""
            environ["wsgi.input"] = io.BytesIO(body)
            if b"client_secret" in body:
                return "form", None
        return "none", None

    def _credentials_in_url(self, path: str, query: str) -> str | None:
        keys = {key.lower() for key, _ in parse_qsl(query, keep_blank_values=True)}
        if keys & _SECRET_KEYS:
            return "a credential parameter (" + ", ".join(sorted(keys & _SECRET_KEYS)) + ")"
        text = f"{path}?{query}"
        if self.secret and self.secret in text:
            return "the client secret"
        if self._known_token(text):
            return "an access token"
        return None

    def _forward(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        entry: Entry,
        action: Action | None,
    ) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, list(headers)
            return lambda data: None  # the app's write() is unused by Flask

        result = self.app(environ, capture)
        entry.status = int(str(captured["status"]).split()[0])
        headers: list[tuple[str, str]] = captured["headers"]
        entry.retry_after = _header(headers, "Retry-After")
        challenge = _header(headers, "WWW-Authenticate") or ""
        if 'error="invalid_token"' in challenge:
            entry.error = "invalid_token"
        if entry.op == "package" and entry.course and entry.ok:
            entry.package_sha256 = self.package_sha256(entry.course)
        buffered = entry.op in ("token", "list") or not entry.ok
        if buffered:
            body = b"".join(result)
            _close(result)
            body, headers = self._inspect(entry, body, headers, action)
            entry.length = entry.sent = len(body)
            entry.ended = time.time()
            start_response(captured["status"], headers)
            return [body]
        length = _header(headers, "Content-Length")
        entry.length = int(length) if length and length.isdigit() else None
        if action is not None and (action.cut is not None or action.stall is not None):
            headers = [(k, v) for k, v in headers if k.lower() != "connection"]
            headers.append(("Connection", "close"))
        start_response(captured["status"], headers)
        return self._stream(result, entry, action)

    def _inspect(
        self,
        entry: Entry,
        body: bytes,
        headers: list[tuple[str, str]],
        action: Action | None,
    ) -> tuple[bytes, list[tuple[str, str]]]:
        """Read a buffered answer: issued tokens, OAuth errors, next links; apply rewrites."""
        decoded: Any = None
        if body[:1] in (b"{", b"["):
            try:
                decoded = json.loads(body)
            except ValueError:
                decoded = None
        if isinstance(decoded, dict):
            if entry.op == "token" and entry.ok and isinstance(decoded.get("access_token"), str):
                entry.token = self._issue(decoded["access_token"])
            if isinstance(decoded.get("error"), str) and entry.error is None:
                entry.error = decoded["error"]
        link = _header(headers, "Link")
        match = _NEXT_LINK.search(link or "")
        if match and action is not None and action.link is not None:
            new_url = action.link(match.group(1))
            headers = [(k, v) for k, v in headers if k.lower() != "link"]
            headers.append(("Link", f'<{new_url}>; rel="next"'))
            match = _NEXT_LINK.search(f'<{new_url}>; rel="next"')
        entry.next_url = match.group(1) if match else None
        if action is not None and action.rewrite is not None and isinstance(decoded, list):
            body = json.dumps(action.rewrite(decoded)).encode()
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        return body, headers

    def _stream(
        self, result: Iterable[bytes], entry: Entry, action: Action | None
    ) -> Iterator[bytes]:
        limit = None
        if action is not None and action.cut is not None and entry.length:
            limit = max(1, int(entry.length * action.cut))
        if action is not None and action.stall is not None:
            limit = min(1024, entry.length or 1024)
        try:
            for chunk in result:
                if limit is not None and entry.sent + len(chunk) >= limit:
                    piece = chunk[: limit - entry.sent]
                    entry.sent += len(piece)
                    entry.cut = True
                    yield piece
                    if action is not None and action.stall is not None:
                        self.released.wait(action.stall)
                    return
                entry.sent += len(chunk)
                yield chunk
        finally:
            entry.ended = time.time()
            _close(result)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if callable(close):
        close()


def _redact(query: str) -> str:
    parts = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        shown = "[redacted]" if key.lower() in _SECRET_KEYS else value
        parts.append(f"{key}={shown}")
    return "&".join(parts)


__all__ = ["LIST_PATH", "TOKEN_PATH", "Action", "Entry", "Hook", "Wire"]
