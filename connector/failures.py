"""One short line for a failed request: refused, timed out, TLS, DNS, network policy, limit."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import requests
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import NameResolutionError
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import ProtocolError
from urllib3.exceptions import ReadTimeoutError

from connector import transport
from connector.limits import LimitExceeded
from connector.limits import Limits
from connector.netpolicy import BlockedAddress

__all__ = ["describe_failure", "is_transient"]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        linked = [getattr(item, "reason", None), item.__cause__, item.__context__, *item.args]
        todo.extend(link for link in linked if isinstance(link, BaseException))


def describe_failure(exc: BaseException, limits: Limits | None = None) -> str:
    """One short line for a failed request: refused, timed out, TLS, DNS, policy..."""
    limits = limits or Limits()
    for item in _chain(exc):
        if isinstance(item, LimitExceeded):
            return str(item).split(": ", 1)[-1]
        if isinstance(item, transport.BlockedConnection | BlockedAddress):
            text = str(item)
            return text.split(": ", 1)[-1] if isinstance(item, NewConnectionError) else text
    for item in _chain(exc):
        if isinstance(item, NameResolutionError) or type(item).__name__ == "gaierror":
            return "DNS lookup failed (the host name does not resolve)"
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, ssl.SSLCertVerificationError):
            return f"TLS certificate rejected ({item.verify_message})"
        if isinstance(item, ssl.SSLError):
            return f"TLS error ({item.reason or 'handshake failed'})"
    for item in _chain(exc):
        if isinstance(item, ConnectTimeoutError) and not isinstance(item, NewConnectionError):
            return f"connect timed out (limit connect_timeout_s={limits.connect_timeout_s:g})"
        if isinstance(item, ReadTimeoutError | TimeoutError):
            return f"timed out waiting for data (limit read_timeout_s={limits.read_timeout_s:g})"
        if isinstance(item, ConnectionResetError):
            return "connection reset by the vendor"
        if isinstance(item, NewConnectionError):
            return "cannot connect"
        if isinstance(item, ProtocolError):
            return "the vendor broke the connection"
    return type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    """Connection failures worth another attempt (not policy, TLS or DNS failures)."""
    for item in _chain(exc):
        if isinstance(item, BlockedAddress | transport.BlockedConnection | LimitExceeded):
            return False
        if isinstance(item, NameResolutionError | ssl.SSLError):
            return False
    return isinstance(exc, requests.ConnectionError | requests.Timeout | OSError)
