"""Loopback servers of a scenario: the mock vendor (behind the journal) and the trap.

The trap listens on a second loopback address (``127.0.0.2``; on systems where only
``127.0.0.1`` answers, another port of it: still another origin) and records every
request it gets. It plays "another origin": a CDN that serves packages by signed URL
without credentials, and a host that a hostile ``next`` link points at.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from lms_check.errors import ConfigurationError

TRAP_HOSTS = ("127.0.0.2", "127.0.0.1")


class _QuietHandler(WSGIRequestHandler):
    """No access log lines on the console."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        return None


@dataclass
class Server:
    """A werkzeug server in a daemon thread."""

    server: BaseWSGIServer
    thread: threading.Thread
    base_url: str

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


def start(app: Callable[..., Iterable[bytes]], host: str, context: ssl.SSLContext | None) -> Server:
    """Serve ``app`` on ``host`` and a free port (https when ``context`` is given).

    Raises:
        ConfigurationError: The address cannot be bound.
    """
    try:
        server = make_server(
            host, 0, app, threaded=True, request_handler=_QuietHandler, ssl_context=context
        )
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}: {exc.strerror or exc}") from None
    thread = threading.Thread(target=server.serve_forever, name="lms-check-server", daemon=True)
    thread.start()
    scheme = "https" if context is not None else "http"
    return Server(server, thread, f"{scheme}://{host}:{server.port}")


@dataclass
class TrapEntry:
    """One request that reached the trap."""

    n: int
    sync: int
    time: float
    method: str
    path: str
    credentials: str | None

    def describe(self) -> str:
        """One line for a verdict's evidence."""
        sent = f"with {self.credentials}" if self.credentials else "without credentials"
        return f"trap #{self.n} (sync {self.sync}): {self.method} {self.path} {sent}"


@dataclass
class Trap:
    """WSGI app of the second origin: records, serves ``/cdn/<ID>.zip``, refuses the rest.

    Args:
        package: ``course ID -> zip bytes`` (``None`` when unknown).
    """

    package: Callable[[str], bytes | None]
    entries: list[TrapEntry] = field(default_factory=list)
    sync: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        header = str(environ.get("HTTP_AUTHORIZATION") or "")
        credentials = f"Authorization: {header.partition(' ')[0]} ..." if header else None
        query = str(environ.get("QUERY_STRING") or "")
        if credentials is None and "client_secret" in query:
            credentials = "client_secret in the query"
        with self._lock:
            self.entries.append(
                TrapEntry(
                    len(self.entries) + 1,
                    self.sync,
                    time.time(),
                    str(environ.get("REQUEST_METHOD")),
                    path,
                    credentials,
                )
            )
        body: bytes | None = None
        if path.startswith("/cdn/") and path.endswith(".zip"):
            body = self.package(path[len("/cdn/") : -len(".zip")])
        if body is None:
            text = b'{"error": "unauthorized", "message": "This origin serves no course list."}'
            start_response(
                "401 Unauthorized",
                [("Content-Type", "application/json"), ("Content-Length", str(len(text)))],
            )
            return [text]
        start_response(
            "200 OK", [("Content-Type", "application/zip"), ("Content-Length", str(len(body)))]
        )
        return [body]

    def snapshot(self) -> list[TrapEntry]:
        """Every request so far."""
        with self._lock:
            return list(self.entries)


def start_trap(trap: Trap, context: ssl.SSLContext | None) -> Server:
    """Serve the trap on the second loopback address, or another port of 127.0.0.1."""
    last: ConfigurationError | None = None
    for host in TRAP_HOSTS:
        try:
            return start(trap, host, context)
        except ConfigurationError as exc:
            last = exc
    assert last is not None
    raise last


__all__ = ["TRAP_HOSTS", "Server", "Trap", "TrapEntry", "start", "start_trap"]
