"""The HTTP session one sync run uses: default timeouts, retries and a User-Agent.

Retries live in the transport (urllib3 ``Retry`` mounted on the session) so that every
call of a run (token, course list pages, package downloads) gets the same policy:

- ``429``, ``500``, ``502``, ``503`` and ``504`` are retried for GET and HEAD, and for
  POST only because the one POST this session ever sends is the token request: a
  client-credentials grant has no side effect, so asking again is safe. Any other
  method (and any POST other than the token grant) is never retried on a status.
- ``Retry-After`` is honoured, but capped at ``max_retry_after`` seconds so a vendor
  cannot park a nightly run for hours.
- After the last retry the final response is returned (``raise_on_status=False``); the
  caller turns it into a :class:`connector.errors.VendorError` naming the URL and status.
"""

from __future__ import annotations

import importlib.metadata
import math
from collections.abc import Collection
from typing import Any
from typing import Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

__all__ = [
    "RETRY_STATUSES",
    "HttpOptions",
    "TimeoutSession",
    "VendorRetry",
    "make_session",
    "user_agent",
]

#: Statuses retried by the transport.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})

#: POST is only ever the token request (see module docstring).
_ALLOWED_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "POST"})
#: A connect should never take long on a healthy network; reads may (large pages).
_MAX_CONNECT_TIMEOUT = 10.0


class HttpOptions(Protocol):
    """What :func:`make_session` reads from its options (``SyncOptions`` conforms)."""

    @property
    def timeout(self) -> float:
        """Read timeout in seconds (also caps the connect timeout)."""

    @property
    def retries(self) -> int:
        """How many times a failed call is retried."""

    @property
    def max_retry_after(self) -> float:
        """Upper bound in seconds for an honoured ``Retry-After``."""

    @property
    def backoff_factor(self) -> float:
        """urllib3 exponential backoff factor (0 disables sleeping between retries)."""


class VendorRetry(Retry):
    """``Retry`` limited to our status list (urllib3 also retries 413 with Retry-After)."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Decide whether ``method`` answered with ``status_code`` is retried."""
        if not self._is_method_retryable(method):
            return False
        return status_code in (self.status_forcelist or ())


class TimeoutSession(requests.Session):
    """A ``requests.Session`` that applies a default timeout to every request.

    requests has no session-wide timeout, and a call without one can hang forever on a
    stalled vendor; this makes "no timeout" impossible by construction.
    """

    def __init__(self, timeout: float | tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send a request, with the session's default timeout unless one is given."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


def user_agent() -> str:
    """Return ``cckit/<version>`` (read from the installed distribution's metadata)."""
    try:
        version = importlib.metadata.version("catalog-connector-kit")
    except importlib.metadata.PackageNotFoundError:  # running from an uninstalled tree
        version = "0"
    return f"cckit/{version}"


def make_retry(
    retries: int,
    *,
    max_retry_after: float,
    backoff_factor: float = 0.5,
    methods: Collection[str] = _ALLOWED_METHODS,
) -> VendorRetry:
    """Build the retry policy described in the module docstring.

    Args:
        retries: how many retries (not attempts) each call may make.
        max_retry_after: cap for an honoured ``Retry-After`` header, in seconds.
        backoff_factor: urllib3 exponential backoff factor.
        methods: the methods the policy may retry.

    Returns:
        The retry object to mount on an ``HTTPAdapter``.
    """
    return VendorRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        redirect=5,
        allowed_methods=frozenset(methods),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=max(max_retry_after, 1.0),
        raise_on_status=False,
        respect_retry_after_header=True,
        retry_after_max=max(0, math.ceil(max_retry_after)),
    )


def make_session(options: HttpOptions, *, pool_size: int = 10) -> requests.Session:
    """Create the session for one sync run.

    Args:
        options: timeouts and retry settings (``connector.sync.SyncOptions``).
        pool_size: connections kept per host (at least the number of download workers).

    Returns:
        A session with default timeouts, the retry policy mounted for http and https,
        and a ``cckit/<version>`` User-Agent.
    """
    timeout = float(options.timeout)
    session = TimeoutSession((min(timeout, _MAX_CONNECT_TIMEOUT), timeout))
    retry = make_retry(
        options.retries,
        max_retry_after=options.max_retry_after,
        backoff_factor=options.backoff_factor,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent()
    return session
