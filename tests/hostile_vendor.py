"""Helpers of tests/test_connector_hostile.py: a hostile vendor, traps, memory probes.

- :class:`Hostile` wraps the real mock vendor's WSGI app: a test installs an ``attack``
  (answers chosen requests itself) and/or a ``rewrite`` of the course list JSON; every
  other request reaches the mock unchanged.
- :class:`Trap` is an HTTP server on a second loopback address (127.0.0.2) that records
  every request: a test fails if a request it must never see reaches it. Set as
  ``HTTP(S)_PROXY``, it is the trap proxy.
- :func:`guard_sockets` refuses (and records) any connection to a non-loopback address,
  so that a regression can never send a packet off the machine.
- :func:`peak_rss_reset` / :func:`peak_rss` read ``VmHWM`` from ``/proc/self/status``.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import ipaddress
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any
from typing import cast

import pytest

from connector.integrations import Integration
from connector.limits import Limits

StartResponse = Callable[..., Any]
Attack = Callable[[dict[str, Any], StartResponse, "Hostile"], Iterable[bytes] | None]


class Hostile:
    """WSGI middleware turning the mock vendor hostile on demand."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.attack: Attack | None = None
        self.rewrite: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
        self.seen: list[tuple[str, str, str | None]] = []  # method, path, Authorization

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_admin"):
            self.seen.append((environ["REQUEST_METHOD"], path, environ.get("HTTP_AUTHORIZATION")))
            if self.attack is not None:
                answer = self.attack(environ, start_response, self)
                if answer is not None:
                    return answer
            if self.rewrite is not None and path.endswith("/courses"):
                return self._rewritten(environ, start_response)
        return self.app(environ, start_response)

    def _rewritten(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        captured: dict[str, Any] = {}
        # The rewritten courses are "modified": the whole list is the delta.
        environ.pop("HTTP_IF_MODIFIED_SINCE", None)

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        if captured["status"].startswith("200"):
            assert self.rewrite is not None
            body = json.dumps(self.rewrite(json.loads(body))).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


def respond(
    start_response: StartResponse,
    body: Iterable[bytes] | bytes,
    *,
    status: str = "200 OK",
    headers: Iterable[tuple[str, str]] = (),
    content_type: str = "application/json",
) -> Iterable[bytes]:
    """Answer a request from an attack."""
    all_headers = [("Content-Type", content_type), *headers]
    if isinstance(body, bytes):
        all_headers.append(("Content-Length", str(len(body))))
        body = [body]
    start_response(status, all_headers)
    return body


def drip(data: bytes, every: float) -> Iterator[bytes]:
    """Send ``data`` one byte every ``every`` seconds (a vendor that never quite stops)."""
    for index in range(len(data)):
        time.sleep(every)
        yield data[index : index + 1]


@functools.cache
def gzip_bomb(inflated: int) -> bytes:
    """A gzip body inflating to ``inflated`` bytes of a JSON array (mostly spaces)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    block = b" " * (1024 * 1024)
    out = [packer.compress(b"[")]
    out.extend(packer.compress(block) for _ in range(inflated // len(block)))
    out.append(packer.compress(b"]") + packer.flush())
    return b"".join(out)


def nested(depth: int) -> bytes:
    """A JSON value nested ``depth`` levels deep."""
    return b"[" * depth + b"]" * depth


class _Recorder(http.server.BaseHTTPRequestHandler):
    def _record(self) -> None:
        trap = cast(Trap, self.server.trap)  # type: ignore[attr-defined]
        trap.hits.append((self.command, self.path, self.headers.get("Authorization")))
        body = b"trapped"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_CONNECT = do_HEAD = _record

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Trap:
    """An HTTP server on a second loopback address recording every request."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        self.hits: list[tuple[str, str, str | None]] = []
        self.server = http.server.ThreadingHTTPServer((host, 0), _Recorder)
        self.server.daemon_threads = True
        self.server.trap = self  # type: ignore[attr-defined]
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def guard_sockets(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Refuse and record every connect() to an address outside 127.0.0.0/8 and ::1."""
    refused: list[Any] = []
    original = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            ip = ipaddress.ip_address(str(host).split("%", 1)[0])
            if not ip.is_loopback:
                refused.append(address)
                raise AssertionError(f"test tried to connect to {host}")
        original(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return refused


def peak_rss_reset() -> None:
    """Reset the kernel's peak-RSS mark of this process (when allowed)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{key} not in /proc/self/status")


def rss() -> int:
    """Current resident set size in bytes."""
    return _status_kib("VmRSS") * 1024


def peak_rss() -> int:
    """Peak resident set size (since the last :func:`peak_rss_reset`) in bytes."""
    return _status_kib("VmHWM") * 1024


def with_network(
    integration: Integration, limits: Limits, allowed_package_hosts: tuple[str, ...] = ()
) -> Integration:
    """``integration`` with these limits and allowed package hosts.

    The allowed hosts bypass the admin's validation (which refuses IP literals): a test
    CDN lives on a second loopback address.
    """
    return dataclasses.replace(
        integration,
        limit_overrides=limits.to_mapping(),
        allowed_package_hosts=allowed_package_hosts,
    )
