"""The HTTP session of one sync run: where credentials go, retries, deadlines, errors.

:class:`VendorSession` is the only way the connector talks to a vendor. It enforces the
security model of docs/connector.md ("Security model"):

- **Credential scoping.** The integration's token (or Basic credentials) is sent only to
  the origin (scheme, host, port) of its Provider URL; the token request goes only to the
  Authentication URL and is never redirected. A package on another origin is fetched
  without credentials, and only when its host matches the integration's allowed package
  hosts (:func:`host_allowed`). A next link on another origin fails the list.
- **Schemes.** ``https`` everywhere; ``http`` only to a loopback host.
- **Redirects** are followed here, not by ``requests``: at most ``max_redirects`` hops,
  each hop checked by the same rules, credentials dropped when the origin changes.
- **Addresses**: every connection goes through :class:`connector.netpolicy.NetPolicy`.
- **Proxies and the environment**: ``trust_env`` is off, so ``HTTP(S)_PROXY``,
  ``NO_PROXY``, ``.netrc`` and ``REQUESTS_CA_BUNDLE`` are ignored: a proxy in the
  environment of a scheduler would see every token, and the address policy could not
  check where a proxy connects. Cookies are refused (the contract uses none).
- **One retry layer**: urllib3 never retries (:func:`connector.transport.make_adapter`);
  :meth:`VendorSession.fetch` retries a list page or the token request on a connection
  failure or ``429``/``5xx`` up to ``attempts`` times with exponential backoff and full
  jitter, honouring ``Retry-After`` only within ``retry_budget_s``. Package downloads
  retry in :mod:`connector.packages` (resume with ``Range``) with the same
  :class:`RetryBudget`.
- **Deadlines**: every request is bounded in wall-clock time (``request_deadline_s``,
  ``package_deadline_s``, ``run_deadline_s``), not only per read.
- **Errors**: one line naming the URL (credentials and signature-like query values
  hidden, :func:`safe_url`) and the cause (refused, timed out, TLS, DNS, a limit).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import http.cookiejar
import importlib.metadata
import ipaddress
import logging
import random
import re
import ssl
import time
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import Literal
from typing import Protocol
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import requests
from requests.auth import AuthBase
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import NameResolutionError
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import ProtocolError
from urllib3.exceptions import ReadTimeoutError

from connector import transport
from connector.errors import VendorError
from connector.limits import LimitExceeded
from connector.limits import Limits
from connector.netpolicy import BlockedAddress
from connector.netpolicy import NetPolicy

__all__ = [
    "RETRY_STATUSES",
    "HttpOptions",
    "Purpose",
    "RetryBudget",
    "UrlRefused",
    "VendorSession",
    "describe_failure",
    "host_allowed",
    "make_session",
    "pause",
    "safe_url",
    "user_agent",
]

log = logging.getLogger(__name__)

#: Statuses retried (429 and the transient 5xx).
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
_REDIRECTS: frozenset[int] = frozenset({301, 302, 303, 307, 308})
_SECRET_PARAM = re.compile(r"sig|token|key|secret|auth|pass|cred|signature", re.IGNORECASE)

#: What a request is for; it decides where it may go and with which credentials.
Purpose = Literal["list", "token", "package"]


class UrlRefused(VendorError):
    """A URL (or a redirect hop) breaks the credential scoping or scheme rules."""


class HttpOptions(Protocol):
    """Legacy tuning read by :func:`make_session` when no :class:`Limits` is given."""

    @property
    def timeout(self) -> float:
        """Read timeout in seconds."""

    @property
    def retries(self) -> int:
        """Retries after the first attempt."""

    @property
    def max_retry_after(self) -> float:
        """Longest honoured ``Retry-After``."""

    @property
    def backoff_factor(self) -> float:
        """First backoff wait (0 = none)."""


def user_agent() -> str:
    """Return ``cckit/<version>`` (read from the installed distribution's metadata)."""
    try:
        version = importlib.metadata.version("catalog-connector-kit")
    except importlib.metadata.PackageNotFoundError:  # running from an uninstalled tree
        version = "0"
    return f"cckit/{version}"


# -- URLs -----------------------------------------------------------------------------------


def safe_url(url: str) -> str:
    """``url`` fit for a message: no user info, signature-like query values hidden."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*"
            )
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))[:500]
    except ValueError:
        return url[:100]


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), host, port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    """Tell whether ``host`` matches an allowed package host.

    A pattern is an exact host (``cdn.example.com``, an IP address) or ``*.`` followed by
    a domain (``*.example.com``), which matches any host *below* that domain at any depth
    (``a.example.com``, ``a.b.example.com``) but not ``example.com`` itself. Matching is
    case-insensitive and ignores a trailing dot.
    """
    host = host.rstrip(".").lower()
    for pattern in patterns:
        pattern = pattern.strip().rstrip(".").lower()
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def check_host_pattern(pattern: str) -> str:
    """Validate one allowed-package-host pattern; return it normalised.

    Raises:
        ValueError: not a host name, IP address or ``*.domain`` (one line, naming it).
    """
    text = pattern.strip().rstrip(".").lower()
    bare = text[2:] if text.startswith("*.") else text
    label = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
    if re.fullmatch(rf"{label}(\.{label})*", bare) or _is_ip(bare):
        if text.startswith("*.") and "." not in bare:
            raise ValueError(f"allowed package host {pattern!r}: '*.' needs a domain below a TLD")
        return text
    raise ValueError(f"allowed package host {pattern!r}: not a host name or *.domain")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- retries --------------------------------------------------------------------------------


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class RetryBudget:
    """The waits of one request or one course's package (one retry layer, shared rules).

    Waits grow as ``backoff_base_s * 2**(n-1)`` (capped at ``backoff_max_s``) with full
    jitter; a ``Retry-After`` raises the wait to what the vendor asked. The total waited
    never passes ``retry_budget_s`` nor the deadline in force.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.waited = 0.0
        self.last_refusal = ""

    def next_wait(self, attempt: int, response: requests.Response | None) -> float | None:
        """The wait before attempt ``attempt + 1``, or ``None`` when no retry fits."""
        limits = self.limits
        if attempt >= limits.attempts:
            self.last_refusal = (
                f"gave up after {attempt} attempt(s) (limit attempts={limits.attempts})"
            )
            return None
        backoff = min(limits.backoff_max_s, limits.backoff_base_s * 2 ** (attempt - 1))
        wait = random.uniform(0, backoff)
        asked = _retry_after(response)
        if asked is not None:
            wait = max(wait, asked)
        left = limits.retry_budget_s - self.waited
        current = transport.current_deadline()
        if current is not None:
            left = min(left, current.remaining() - 1.0)
        if wait > left:
            what = f"Retry-After {asked:g} s" if asked is not None and asked >= wait else "a wait"
            self.last_refusal = (
                f"{what} does not fit in the retry budget "
                f"(limit retry_budget_s={limits.retry_budget_s:g}, {max(left, 0):.0f} s left)"
            )
            return None
        self.waited += wait
        return wait


def pause(seconds: float) -> None:
    """Wait between attempts (a function of its own so that tests can record it)."""
    time.sleep(seconds)


# -- failures -------------------------------------------------------------------------------


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


class _NoAuth(AuthBase):
    """Sends nothing (overrides the session's auth for a request off the Provider origin)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


_NO_AUTH = _NoAuth()


class _RefuseCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


# -- the session ----------------------------------------------------------------------------


class VendorSession(requests.Session):
    """A ``requests.Session`` bound to one integration's origins, limits and address policy.

    Use :meth:`fetch` (whole body, retried) or :meth:`open` (streamed, one attempt) rather
    than ``get``/``post``: only they apply the scoping, redirect and deadline rules.

    Args:
        limits: the integration's limits.
        provider_url: the Provider URL (credentials go to its origin only).
        auth_url: the Authentication URL (the only target of the token request).
        allowed_package_hosts: hosts a package may come from besides the Provider origin.
        pool_size: connections kept per host.
    """

    def __init__(
        self,
        limits: Limits,
        *,
        provider_url: str | None = None,
        auth_url: str | None = None,
        allowed_package_hosts: Sequence[str] = (),
        pool_size: int = 10,
    ) -> None:
        super().__init__()
        self.trust_env = False  # see the module docstring: no proxy, no .netrc
        self.proxies = {}
        self.cookies.set_policy(_RefuseCookies())
        self.headers["User-Agent"] = user_agent()
        self.headers["Accept-Encoding"] = "gzip, deflate"
        self.limits = limits
        # Validated where the admin enters them (connector.integrations); here only
        # normalised, so that a stored entry can never stop a run.
        self.allowed_package_hosts = tuple(
            h.strip().rstrip(".").lower() for h in allowed_package_hosts
        )
        self.auth_url = auth_url
        self.provider_url: str | None = None
        self._pool_size = pool_size
        self.run_deadline_at = time.monotonic() + limits.run_deadline_s
        self.bind(provider_url)

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """``requests``' own entry point, kept for compatibility: never follows redirects
        (their targets would escape the checks of :meth:`fetch` and :meth:`open`)."""
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)

    def bind(self, provider_url: str | None) -> None:
        """Set the Provider URL (once): its origin gets credentials, its address class
        is allowed by the network policy."""
        if provider_url is None or provider_url == self.provider_url:
            if self.provider_url is None:
                self._mount(NetPolicy())
            return
        if self.provider_url is not None:
            raise ValueError("the session is already bound to another Provider URL")
        self.provider_url = provider_url
        self._mount(NetPolicy.for_provider(provider_url))

    def _mount(self, policy: NetPolicy) -> None:
        adapter = transport.make_adapter(policy, pool_size=self._pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    # -- rules ------------------------------------------------------------------------------

    def credentials_for(self, url: str, purpose: Purpose) -> bool:
        """Check ``url`` for ``purpose``; tell whether credentials may go with it.

        Raises:
            UrlRefused: the scheme, origin or host is not allowed for this purpose.
        """
        shown = safe_url(url)
        try:
            scheme, host, port = _origin(url)
        except ValueError:
            raise UrlRefused(shown, None, "not a valid URL") from None
        if scheme not in ("http", "https") or not host:
            raise UrlRefused(shown, None, "not an absolute http(s) URL")
        if scheme == "http" and not _is_loopback(host):
            raise UrlRefused(shown, None, "plain http is allowed only to a loopback host")
        if purpose == "token":
            if self.auth_url is None or _origin(self.auth_url) != (scheme, host, port):
                raise UrlRefused(
                    shown, None, "the token request goes only to the Authentication URL"
                )
            return True
        if self.provider_url is not None and _origin(self.provider_url) == (scheme, host, port):
            return True
        if purpose == "list":
            raise UrlRefused(
                shown, None,
                f"next link to another origin than the Provider URL's "
                f"({safe_url(self._provider_origin())}); refused",
            )  # fmt: skip
        if scheme != "https" and not _is_loopback(host):
            raise UrlRefused(shown, None, "a package from another origin must use https")
        if not host_allowed(host, self.allowed_package_hosts):
            raise UrlRefused(
                shown, None,
                f"package host {host!r} is not in the integration's allowed package hosts",
            )  # fmt: skip
        return False

    def _provider_origin(self) -> str:
        scheme, host, port = _origin(self.provider_url or "")
        return f"{scheme}://{host}:{port}"

    def deadline(self, seconds: float, limit: str) -> contextlib.AbstractContextManager[Any]:
        """A :func:`connector.transport.deadline` that never outlives the run's."""
        run_left = self.run_deadline_at - time.monotonic()
        if run_left < seconds:
            return transport.deadline(
                max(run_left, 0.0), "run_deadline_s", self.limits.run_deadline_s
            )
        return transport.deadline(seconds, limit)

    def _timeouts(self) -> tuple[float, float]:
        current = transport.current_deadline()
        left = current.remaining() if current is not None else self.limits.read_timeout_s
        left = max(left, 0.001)
        return min(self.limits.connect_timeout_s, left), min(self.limits.read_timeout_s, left)

    # -- sending ----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        purpose: Purpose,
        *,
        headers: Mapping[str, str] | None,
        data: Any = None,
        auth: AuthBase | None = None,
    ) -> requests.Response:
        """One request with its redirects followed and re-checked (streamed)."""
        hops = 0
        while True:
            current = transport.current_deadline()
            if current is not None:
                current.check(safe_url(url))
            trusted = self.credentials_for(url, purpose)
            use_auth = auth if purpose == "token" else (None if trusted else _NO_AUTH)
            response = super().request(
                method, url, headers=dict(headers or {}), data=data, auth=use_auth,
                stream=True, allow_redirects=False, timeout=self._timeouts(),
            )  # fmt: skip
            if current is not None and (current.expired or current.remaining() <= 0):
                response.close()  # headers cut short by the watchdog: not an answer
                current.check(safe_url(url))
            location = response.headers.get("Location")
            if response.status_code not in _REDIRECTS or not location:
                return response
            response.close()
            if purpose == "token":
                raise UrlRefused(
                    safe_url(url), response.status_code,
                    "the token endpoint redirects; the token request goes only to the "
                    "Authentication URL",
                )  # fmt: skip
            hops += 1
            if hops > self.limits.max_redirects:
                raise LimitExceeded(
                    "max_redirects", self.limits.max_redirects, safe_url(url), "too many redirects"
                )
            url = urljoin(url, location.strip()).split("#", 1)[0]
            if response.status_code == 303 or method == "POST":
                method, data = "GET", None

    def fetch(
        self,
        method: str,
        url: str,
        *,
        purpose: Purpose,
        cap: int,
        limit: str,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        auth: AuthBase | None = None,
    ) -> requests.Response:
        """Send a list or token request with retries; return it with its body read.

        The body of a ``2xx`` answer is capped at ``cap`` (option ``limit``); an error
        answer's body is cut silently at ``max_error_body_bytes`` (it is only quoted).

        Raises:
            VendorError: no usable answer (names the URL and the cause in one line);
                ``UrlRefused`` for a URL the rules refuse.
            LimitExceeded: a body over ``cap``, too many redirects, a deadline.
        """
        budget = RetryBudget(self.limits)
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.deadline(self.limits.request_deadline_s, "request_deadline_s") as due:
                    try:
                        response = self._send(
                            method, url, purpose, headers=headers, data=data, auth=auth
                        )
                        answer = self._finish(response, url, cap, limit, budget, attempt)
                        # A socket cut by the watchdog can look like a short, complete
                        # answer: whatever arrived, a passed deadline is a failure.
                        due.check(safe_url(url))
                        return answer
                    except _Retry as again:
                        wait = again.wait
                    except (requests.RequestException, OSError, ValueError) as exc:
                        if due.expired:
                            raise LimitExceeded(
                                due.limit, due.value, safe_url(url), "deadline exceeded"
                            ) from None
                        wait = self._retry_failure(exc, url, budget, attempt)
            except LimitExceeded as exc:
                raise VendorError(exc.url, None, str(exc).split(": ", 1)[-1]) from None
            pause(wait)

    def _finish(
        self,
        response: requests.Response,
        url: str,
        cap: int,
        limit: str,
        budget: RetryBudget,
        attempt: int,
    ) -> requests.Response:
        with response:
            status = response.status_code
            if status in RETRY_STATUSES:
                wait = budget.next_wait(attempt, response)
                if wait is not None:
                    log.debug("%s answered %d; retrying in %.1f s", safe_url(url), status, wait)
                    raise _Retry(wait)
            if 200 <= status < 300:
                body = transport.read_body(response, safe_url(url), cap=cap, limit=limit)
            else:
                body = _read_some(response, self.limits.max_error_body_bytes)
        response._content = body
        response._content_consumed = True  # type: ignore[attr-defined]
        return response

    def _retry_failure(
        self, exc: BaseException, url: str, budget: RetryBudget, attempt: int
    ) -> float:
        cause = describe_failure(exc, self.limits)
        if isinstance(exc, UrlRefused | ValueError) or not _transient(exc):
            if isinstance(exc, VendorError):
                raise exc
            raise VendorError(safe_url(url), None, f"request failed: {cause}") from None
        wait = budget.next_wait(attempt, None)
        if wait is None:
            raise VendorError(
                safe_url(url), None, f"request failed: {cause}; {budget.last_refusal}"
            ) from None
        log.debug("%s: %s; retrying in %.1f s", safe_url(url), cause, wait)
        return wait

    @contextlib.contextmanager
    def open(
        self, url: str, *, purpose: Purpose, headers: Mapping[str, str] | None = None
    ) -> Iterator[requests.Response]:
        """One streamed GET (redirects followed and checked, no retry), closed on exit.

        The caller reads the body with :func:`connector.transport.iter_body` within the
        deadline it opened (:meth:`deadline`).

        Raises:
            UrlRefused: the URL or a redirect hop is refused.
            LimitExceeded: too many redirects or a deadline passed.
            requests.RequestException, OSError: the request failed.
        """
        response = self._send("GET", url, purpose, headers=headers)
        with response:
            yield response


class _Retry(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


def _transient(exc: BaseException) -> bool:
    """Connection failures worth another attempt (not policy, TLS or DNS failures)."""
    for item in _chain(exc):
        if isinstance(item, BlockedAddress | transport.BlockedConnection | LimitExceeded):
            return False
        if isinstance(item, NameResolutionError | ssl.SSLError):
            return False
    return isinstance(exc, requests.ConnectionError | requests.Timeout | OSError)


def _read_some(response: requests.Response, cap: int) -> bytes:
    """Up to ``cap`` bytes of an error answer (the rest is dropped with the connection)."""
    got = bytearray()
    try:
        for piece in transport.iter_body(response, "", cap=1 << 62, limit=""):
            got += piece
            if len(got) >= cap:
                break
    except (requests.RequestException, OSError, ValueError):
        pass
    return bytes(got[:cap])


def make_session(
    options: HttpOptions | None = None,
    *,
    pool_size: int = 10,
    limits: Limits | None = None,
    provider_url: str | None = None,
    auth_url: str | None = None,
    allowed_package_hosts: Sequence[str] = (),
) -> VendorSession:
    """Create the session for one sync run.

    Args:
        options: legacy tuning (``SyncOptions``), used only when ``limits`` is ``None``:
            ``timeout`` -> ``read_timeout_s``, ``retries + 1`` -> ``attempts``,
            ``backoff_factor`` -> ``backoff_base_s``.
        pool_size: connections kept per host (at least the number of download workers).
        limits: the integration's limits (wins over ``options``).
        provider_url: the integration's Provider URL (origin of the credentials).
        auth_url: the Authentication URL.
        allowed_package_hosts: the integration's allowed package hosts.

    Returns:
        The session; set ``session.auth`` to the integration's auth object.
    """
    if limits is None:
        limits = Limits()
        if options is not None:
            limits = Limits.from_mapping(
                {
                    "read_timeout_s": options.timeout,
                    "attempts": options.retries + 1,
                    "backoff_base_s": options.backoff_factor,
                }
            )
    return VendorSession(
        limits,
        provider_url=provider_url,
        auth_url=auth_url,
        allowed_package_hosts=allowed_package_hosts,
        pool_size=pool_size,
    )
