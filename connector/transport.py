"""The socket level of the connector's HTTP: vetted connections, deadlines, bounded bodies.

- :func:`make_adapter` builds a ``requests`` adapter whose connections resolve and check
  every address with a :class:`connector.netpolicy.NetPolicy` and that never retries on
  its own (the one retry layer is :mod:`connector.http`).
- :func:`deadline` opens a wall-clock deadline for the requests made in its block by this
  thread: every socket they use is watched by one background thread that shuts the
  socket down when the deadline passes. A read timeout alone cannot bound a vendor that
  sends one byte every few seconds; this does, for the TLS handshake, the headers and
  the body alike.
- :func:`iter_body` reads a body in chunks, decoding gzip/deflate itself in bounded steps,
  and stops as soon as the decoded size passes the cap: a gzip bomb is refused after
  ``cap`` bytes of output, never inflated in full.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as urllib3_errors
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import NameResolutionError
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from connector.limits import LimitExceeded
from connector.netpolicy import BlockedAddress
from connector.netpolicy import NetPolicy

__all__ = ["BlockedConnection", "Deadline", "deadline", "iter_body", "make_adapter", "read_body"]

#: Raw read size; also the most a decoder may output per step.
_CHUNK = 64 * 1024
#: Queued deadlines past which finished ones are dropped from the watchdog's queue.
_COMPACT_AT = 4096


class BlockedConnection(NewConnectionError):
    """urllib3's form of :class:`BlockedAddress` (keeps the policy's message)."""


# -- deadlines ------------------------------------------------------------------------------


class Deadline:
    """A wall-clock deadline for the requests of one block (see :func:`deadline`).

    Attributes:
        at: ``time.monotonic()`` value at which it expires.
        limit: the option name that set it (for the error message).
        value: that option's value.
        expired: set once the watchdog cut the block's sockets.
    """

    def __init__(self, at: float, limit: str, value: float) -> None:
        self.at = at
        self.limit = limit
        self.value = value
        self.expired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once the block ended."""
        return self._closed

    def remaining(self) -> float:
        """Seconds left (may be negative)."""
        return self.at - time.monotonic()

    def check(self, url: str) -> None:
        """Raise :class:`LimitExceeded` when the deadline has passed."""
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise LimitExceeded(self.limit, self.value, url, "deadline exceeded")

    def attach(self, sock: socket.socket) -> None:
        """Watch ``sock`` (a duplicate of its descriptor, so TLS wrapping cannot hide it)."""
        try:
            watched = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except OSError:
            return
        with self._lock:
            if self._closed:
                watched.close()
                return
            self._socks.append(watched)
            expired = self.expired
        if expired:
            _shutdown(watched)

    def expire(self) -> None:
        """Cut every watched socket (called by the watchdog)."""
        with self._lock:
            if self._closed:
                return
            self.expired = True
            socks = list(self._socks)
        for sock in socks:
            _shutdown(sock)

    def close(self) -> None:
        """Stop watching (the block ended)."""
        with self._lock:
            self._closed = True
            socks, self._socks = self._socks, []
        for sock in socks:
            sock.close()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread expiring deadlines in order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, item: Deadline) -> None:
        with self._cond:
            if len(self._heap) >= _COMPACT_AT:
                # Finished blocks stay queued until their time; drop them in bulk.
                self._heap = [entry for entry in self._heap if not entry[2].closed]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, (item.at, next(self._counter), item))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="cckit-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                at, _, item = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            item.expire()


_WATCHDOG = _Watchdog()
_local = threading.local()


def _stack() -> list[Deadline]:
    stack: list[Deadline] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def current_deadline() -> Deadline | None:
    """The innermost deadline of this thread, if any."""
    stack = _stack()
    return stack[-1] if stack else None


@contextlib.contextmanager
def deadline(seconds: float, limit: str, value: float | None = None) -> Iterator[Deadline]:
    """Bound the requests this thread makes in the block to ``seconds`` from now.

    An enclosing deadline that ends sooner wins (its name is then the one reported).

    Args:
        seconds: the time allowed.
        limit: the option name reported when it expires.
        value: the option's value (default ``seconds``).
    """
    outer = current_deadline()
    at = time.monotonic() + seconds
    if outer is not None and outer.at <= at:
        item = Deadline(outer.at, outer.limit, outer.value)
    else:
        item = Deadline(at, limit, seconds if value is None else value)
    stack = _stack()
    stack.append(item)
    _WATCHDOG.watch(item)
    try:
        yield item
    finally:
        stack.pop()
        item.close()
        if outer is not None and item.expired:
            outer.expired = outer.expired or outer.at <= item.at


def _attach(sock: socket.socket | None) -> None:
    item = current_deadline()
    if item is not None and sock is not None:
        item.attach(sock)


# -- vetted connections ---------------------------------------------------------------------


def _timeout_of(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class _Vetted:
    """Mixin for urllib3 connections: the policy's resolve-check-connect, deadline watch."""

    policy: NetPolicy
    host: str
    port: int
    timeout: Any
    source_address: tuple[str, int] | None
    socket_options: Any
    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        host = getattr(self, "_dns_host", self.host)
        try:
            sock = self.policy.connect(
                host,
                self.port,
                _timeout_of(self.timeout),
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except BlockedAddress as exc:
            raise BlockedConnection(self, str(exc)) from exc  # type: ignore[arg-type]
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"connect to {self.host} timed out") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"cannot connect: {exc}") from exc  # type: ignore[arg-type]
        _attach(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self.sock)  # a kept-alive connection being reused
        super().request(*args, **kwargs)  # type: ignore[misc]


def make_adapter(policy: NetPolicy, *, pool_size: int) -> HTTPAdapter:
    """A ``requests`` adapter with vetted connections and no retries of its own.

    Args:
        policy: the addresses allowed.
        pool_size: connections kept per host.
    """
    http_conn = type("VettedHTTPConnection", (_Vetted, HTTPConnection), {"policy": policy})
    https_conn = type("VettedHTTPSConnection", (_Vetted, HTTPSConnection), {"policy": policy})
    pools = {
        "http": type("VettedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("VettedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }

    class VettedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            # Never: session.trust_env is off and no proxy is configured (see http.py).
            raise requests.exceptions.InvalidProxyURL("proxies are not used by the connector")

    no_retry = Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_redirect=False)
    return VettedAdapter(max_retries=no_retry, pool_connections=4, pool_maxsize=pool_size)


# -- bounded bodies -------------------------------------------------------------------------


class _Decoder:
    """gzip/deflate decoding in steps of at most ``_CHUNK`` bytes of output."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # 47 = gzip or zlib header, detected; a raw deflate stream is tried on error.
        self._inflate = zlib.decompressobj(47)
        self._raw_tried = encoding != "deflate"

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self._inflate.decompress(data, _CHUNK)
            except zlib.error:
                if self._raw_tried:
                    raise
                self._raw_tried = True
                self._inflate = zlib.decompressobj(-15)
                out = self._inflate.decompress(data, _CHUNK)
            self._raw_tried = True
            if out:
                yield out
            data = self._inflate.unconsumed_tail

    def flush(self) -> bytes:
        return self._inflate.flush()


def _decoder(response: requests.Response) -> _Decoder | None:
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Decoder(encoding)
    raise ValueError(f"unsupported Content-Encoding {encoding[:40]!r}")


def _raw_chunks(response: requests.Response) -> Iterator[bytes]:
    """The undecoded body; urllib3's errors become ``requests`` ones (as iter_content)."""
    try:
        yield from response.raw.stream(_CHUNK, decode_content=False)
    except urllib3_errors.HTTPError as exc:
        raise requests.ConnectionError(exc) from exc


def iter_body(response: requests.Response, url: str, *, cap: int, limit: str) -> Iterator[bytes]:
    """Yield the decoded body of a streamed response, refusing more than ``cap`` bytes.

    Raises:
        LimitExceeded: more than ``cap`` decoded bytes.
        ValueError: an unsupported or corrupt Content-Encoding.
        requests.RequestException, OSError: the transfer broke.
    """
    decoder = _decoder(response)
    total = 0
    for data in _raw_chunks(response):
        pieces = [data] if decoder is None else decoder.feed(data)
        for piece in pieces:
            total += len(piece)
            if total > cap:
                raise LimitExceeded(limit, cap, url, f"body over {cap} bytes")
            yield piece
    if decoder is not None:
        try:
            tail = decoder.flush()
        except zlib.error as exc:
            raise ValueError(f"corrupt {decoder.encoding} body: {exc}") from None
        total += len(tail)
        if total > cap:
            raise LimitExceeded(limit, cap, url, f"body over {cap} bytes")
        if tail:
            yield tail


def read_body(response: requests.Response, url: str, *, cap: int, limit: str) -> bytes:
    """The whole decoded body of a streamed response (see :func:`iter_body`)."""
    try:
        return b"".join(iter_body(response, url, cap=cap, limit=limit))
    except zlib.error as exc:
        raise ValueError(f"corrupt compressed body: {exc}") from None
