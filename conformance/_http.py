"""The suite's HTTP side: one recorded ``requests`` session, redaction and curl lines.

Every request of a run goes through :class:`VendorClient`, so that any check can turn a
response into an :class:`Exchange`: the method, URL, status, the headers that matter, a
body excerpt and a ``curl`` line that reproduces the call. Secrets never leave this module
in plain text: the client secret and every access token the vendor issued are replaced by
placeholders (``$CCKIT_CLIENT_SECRET``, ``$CCKIT_ACCESS_TOKEN``) before anything is shown.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

import requests

from conformance._settings import Settings
from conformance.errors import ConformanceFailure

#: Request headers worth showing in a failure (others are noise).
REQUEST_HEADERS = ("Authorization", "Content-Type", "Accept", "If-Modified-Since", "Range")
#: Response headers worth showing in a failure.
RESPONSE_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Content-Range",
    "Cache-Control",
    "WWW-Authenticate",
    "Link",
    "ETag",
    "Last-Modified",
    "Location",
    "Retry-After",
)
BODY_EXCERPT = 600
#: Transient answers that are retried, and how often.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
RETRIES = 2
MAX_RETRY_WAIT = 5.0
TIMEOUT = (10.0, 60.0)
USER_AGENT = "cckit-conformance"

_NOT_ISSUED = (
    "the token endpoint did not issue an access token to the configured client credentials "
    "(see AUTH-002 and AUTH-005)"
)
_ACCESS_TOKEN_JSON = re.compile(r'("access_token"\s*:\s*")([^"]*)(")')


class Placeholder(str):
    """A shell variable reference that stands in for a secret in a curl line."""


@dataclass
class Redactor:
    """Replaces secrets by placeholders in anything shown to a person.

    Attributes:
        client_id: The configured client ID (not secret; shown as ``$CCKIT_CLIENT_ID`` in
            curl lines so that they are copy-paste ready).
        client_secret: The configured client secret.
        tokens: Every access token the vendor issued during the run.
    """

    client_id: str
    client_secret: str
    tokens: set[str] = field(default_factory=set)

    def text(self, value: str) -> str:
        """Replace every secret in ``value`` by its placeholder."""
        out = _ACCESS_TOKEN_JSON.sub(r"\1[redacted]\3", value)
        if self.client_secret:
            out = out.replace(self.client_secret, "$CCKIT_CLIENT_SECRET")
        for token in self.tokens:
            if token:
                out = out.replace(token, "$CCKIT_ACCESS_TOKEN")
        return out

    def credential(self, value: str) -> str:
        """A client ID or secret as a curl word: a placeholder when it is the real one."""
        if self.client_secret and value == self.client_secret:
            return Placeholder("$CCKIT_CLIENT_SECRET")
        if self.client_id and value == self.client_id:
            return Placeholder("$CCKIT_CLIENT_ID")
        return self.text(value)

    def authorization(self, value: str) -> tuple[str, list[str | _Joined]]:
        """Redact an ``Authorization`` header.

        Returns:
            The header as shown in a report, and the curl arguments that send it.
        """
        scheme, _, rest = value.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return value, ["-H", f"Authorization: {value}"]
            user, sep, password = decoded.partition(":")
            if not sep:
                return value, ["-H", f"Authorization: {value}"]
            shown_user, shown_password = self.credential(user), self.credential(password)
            return (
                f"Basic base64({shown_user}:{shown_password})",
                ["-u", _Joined(shown_user, ":", shown_password)],
            )
        if scheme.lower() == "bearer" and rest.strip() in self.tokens:
            return "Bearer $CCKIT_ACCESS_TOKEN", [
                "-H",
                _Joined("Authorization: Bearer ", Placeholder("$CCKIT_ACCESS_TOKEN")),
            ]
        shown = self.text(value)
        return shown, ["-H", f"Authorization: {shown}"]


class _Joined(tuple[str, ...]):
    """A curl word made of literal parts and placeholders."""

    def __new__(cls, *parts: str) -> _Joined:
        return super().__new__(cls, parts)


def _shell_word(word: str | _Joined) -> str:
    parts = word if isinstance(word, _Joined) else (word,)
    if all(not isinstance(p, Placeholder) for p in parts):
        text = "".join(parts)
        if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", text):
            return text
        return "'" + text.replace("'", "'\"'\"'") + "'"
    # Double quotes so that the placeholders expand; escape everything else.
    out: list[str] = []
    for part in parts:
        if isinstance(part, Placeholder):
            out.append(part)
        else:
            out.append(re.sub(r'([\\"$`])', r"\\\1", part))
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its response, redacted and ready to show.

    Attributes:
        method: HTTP method.
        url: Request URL (secrets replaced).
        request_headers: The relevant request headers.
        request_body: The request body as text (secrets replaced), or ``""``.
        status: Response status code (``None`` when no response arrived).
        reason: Response reason phrase, or the transport error.
        response_headers: The relevant response headers.
        body_excerpt: The start of the response body as text (secrets replaced).
        curl: A shell command that repeats the request.
    """

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: str
    status: int | None
    reason: str
    response_headers: tuple[tuple[str, str], ...]
    body_excerpt: str
    curl: str

    def render(self) -> str:
        """Multi-line text for a failure message."""
        lines = [f"request:  {self.method} {self.url}"]
        lines += [f"          {name}: {value}" for name, value in self.request_headers]
        if self.request_body:
            lines.append(f"          body: {self.request_body}")
        status = "(no response)" if self.status is None else str(self.status)
        lines.append(f"response: {status} {self.reason}".rstrip())
        lines += [f"          {name}: {value}" for name, value in self.response_headers]
        if self.body_excerpt:
            lines.append(f"          body: {self.body_excerpt}")
        lines.append(f"reproduce: {self.curl}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "method": self.method,
            "url": self.url,
            "request_headers": dict(self.request_headers),
            "request_body": self.request_body,
            "status": self.status,
            "reason": self.reason,
            "response_headers": dict(self.response_headers),
            "body_excerpt": self.body_excerpt,
            "curl": self.curl,
        }


def _binary(body: bytes) -> bool:
    return b"\x00" in body[:64] or body[:2] == b"PK"


def _excerpt(body: bytes, limit: int = BODY_EXCERPT) -> str:
    if not body:
        return ""
    head = body[:limit]
    if _binary(head):
        return f"<{len(body)} bytes of binary data>"
    text = head.decode("utf-8", errors="replace").replace("\r", "\\r").replace("\n", "\\n")
    return text + ("..." if len(body) > limit else "")


@dataclass
class Token:
    """An access token and when it was issued."""

    value: str
    expires_in: int
    issued_at: float

    @property
    def age(self) -> float:
        """Seconds since the token was issued."""
        return time.monotonic() - self.issued_at


class TokenUnavailableError(Exception):
    """The vendor did not issue an access token to the configured credentials."""


class VendorClient:
    """The run's single HTTP session, with the configured authentication.

    Args:
        settings: The resolved suite settings.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.redactor = Redactor(settings.client_id, settings.client_secret)
        self.requests_sent = 0
        self._token: Token | None = None
        self._token_error: str | None = None
        #: Failures noticed while fetching on behalf of other checks, by requirement.
        self.incidents: dict[str, ConformanceFailure] = {}

    # --- low level -------------------------------------------------------------------
    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | str | bytes | None = None,
        stream: bool = False,
        allow_redirects: bool = True,
    ) -> requests.Response:
        """Send one request through the recorded session (no authentication added).

        A 429, 502, 503 or 504 answer is retried (at most twice, honouring a short
        ``Retry-After``): the contract does not forbid transient overload, and a
        conformance verdict must not depend on it.
        """
        for attempt in range(RETRIES + 1):
            self.requests_sent += 1
            response = self.session.request(
                method,
                url,
                headers=dict(headers or {}),
                data=data,
                stream=stream,
                allow_redirects=allow_redirects,
                timeout=TIMEOUT,
            )
            if response.status_code not in RETRY_STATUSES or attempt == RETRIES:
                return response
            response.close()
            time.sleep(_retry_after(response.headers.get("Retry-After")))
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def exchange(self, response: requests.Response, body: bytes | None = None) -> Exchange:
        """Turn a response (and its request) into a redacted :class:`Exchange`.

        Args:
            response: The response.
            body: The body when it was streamed and read elsewhere (else ``response.content``
                is used when already read).
        """
        if body is None:
            # A streamed body that nobody read stays unread (it may be huge).
            consumed = getattr(response, "_content_consumed", True)
            body = response.content if consumed else b""
        return self.exchange_of_request(
            response.request,
            status=response.status_code,
            reason=response.reason or "",
            response_headers=response.headers,
            body=body,
        )

    def exchange_of_request(
        self,
        request: requests.PreparedRequest,
        *,
        status: int | None,
        reason: str,
        response_headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Exchange:
        """Build an :class:`Exchange` from a prepared request and what came back."""
        method = request.method or "GET"
        url = self.redactor.text(request.url or "")
        shown_headers: list[tuple[str, str]] = []
        content_type = str((response_headers or {}).get("Content-Type", ""))
        if method == "GET" and (content_type.startswith("application/zip") or _binary(body)):
            # Headers to the terminal, the archive to a file.
            curl: list[str | _Joined] = ["curl", "-sS", "-D", "-", "-o", "package.zip"]
        else:
            curl = ["curl", "-sS", "-i"]
        if method == "HEAD":
            curl.append("-I")
        elif method != "GET":
            curl += ["-X", method]
        for name in REQUEST_HEADERS:
            value = request.headers.get(name)
            if value is None:
                continue
            if name == "Authorization":
                shown, args = self.redactor.authorization(value)
                shown_headers.append((name, shown))
                curl += args
            else:
                shown_headers.append((name, value))
                curl += ["-H", f"{name}: {value}"]
        raw_body = request.body
        body_text = ""
        if raw_body:
            text = raw_body.decode("utf-8", "replace") if isinstance(raw_body, bytes) else raw_body
            body_text = self.redactor.text(text)
            curl += ["--data-raw", _secret_aware(body_text)]
        curl.append(url)
        response_shown: list[tuple[str, str]] = []
        for name in RESPONSE_HEADERS:
            value = (response_headers or {}).get(name)
            if value is not None:
                response_shown.append((name, self.redactor.text(value)))
        return Exchange(
            method=method,
            url=url,
            request_headers=tuple(shown_headers),
            request_body=body_text,
            status=status,
            reason=reason,
            response_headers=tuple(response_shown),
            body_excerpt=self.redactor.text(_excerpt(body)),
            curl=" ".join(_shell_word(w) for w in curl),
        )

    # --- authentication ---------------------------------------------------------------
    @property
    def oauth2(self) -> bool:
        """Whether the vendor is checked in OAuth2 mode (else HTTP Basic on every call)."""
        return self.settings.auth_mode == "oauth2"

    def request_token(
        self,
        data: Mapping[str, str] | str | None = None,
        *,
        basic: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """POST a (possibly deliberately wrong) token request to the Authentication URL."""
        all_headers = {"Accept": "application/json"}
        if data is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if basic is not None:
            all_headers["Authorization"] = basic_header(*basic)
        all_headers.update(headers or {})
        response = self.send(
            "POST",
            self.settings.auth_url or "",
            headers=all_headers,
            data=data,
            allow_redirects=False,
        )
        self.learn_tokens(response)
        return response

    def learn_tokens(self, response: requests.Response) -> None:
        """Remember any access token in a token response so that it is redacted."""
        try:
            payload = response.json()
        except ValueError:
            return
        if isinstance(payload, dict) and isinstance(payload.get("access_token"), str):
            self.redactor.tokens.add(payload["access_token"])

    def token(self) -> Token:
        """The current access token, fetched with HTTP Basic client authentication.

        Raises:
            TokenUnavailableError: The vendor did not issue a usable token.
        """
        if self._token is not None:
            return self._token
        if self._token_error is not None:
            raise TokenUnavailableError(self._token_error)
        return self.refresh_token()

    def refresh_token(self) -> Token:
        """Fetch a new access token (Basic client authentication)."""
        try:
            response = self.request_token(
                {"grant_type": "client_credentials"},
                basic=(self.settings.client_id, self.settings.client_secret),
            )
            payload = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError) as exc:
            payload = None
            self._token_error = f"token request failed: {exc}"
        if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
            if self._token_error is None:
                self._token_error = _NOT_ISSUED
            raise TokenUnavailableError(self._token_error)
        expires = payload.get("expires_in")
        self._token = Token(
            value=payload["access_token"],
            expires_in=expires if isinstance(expires, int) else 0,
            issued_at=time.monotonic(),
        )
        return self._token

    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header of the configured mode."""
        if self.oauth2:
            return {"Authorization": f"Bearer {self.token().value}"}
        return {"Authorization": basic_header(self.settings.client_id, self.settings.client_secret)}

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` is on the origin (scheme, host, port) of the Provider URL."""
        return origin(url) == origin(self.settings.course_list_url)

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        method: str = "GET",
        stream: bool = False,
    ) -> requests.Response:
        """An authenticated request (Bearer token or Basic) to a list or package URL.

        Credentials are sent only to the Provider URL's origin; a URL on another origin
        is requested without them (AUTH-021).

        A token that the vendor rejects before its ``expires_in`` ran out is recorded as an
        AUTH-006 incident and replaced once, so that one vendor defect does not hide the
        others.
        """
        if not self.same_origin(url):
            # AUTH-021, PKG-019: credentials go to the Provider URL's origin only; a
            # package on another origin (a CDN with signed URLs) is fetched without them.
            return self.send(method, url, headers=dict(headers or {}), stream=stream)
        all_headers = {**self.auth_headers(), **(headers or {})}
        response = self.send(method, url, headers=all_headers, stream=stream)
        token = self._token
        if (
            self.oauth2
            and response.status_code == 401
            and token is not None
            and token.age < max(token.expires_in - 5, 0)
        ):
            self.incidents.setdefault(
                "AUTH-006",
                ConformanceFailure(
                    "AUTH-006",
                    expected=f"the access token is accepted for {token.expires_in} s "
                    "(its expires_in)",
                    received=f"401 after {token.age:.1f} s",
                    exchange=self.exchange(response),
                ),
            )
            response.close()
            self._token = None
            self.refresh_token()
            all_headers = {**self.auth_headers(), **(headers or {})}
            response = self.send(method, url, headers=all_headers, stream=stream)
        return response


def origin(url: str) -> tuple[str, str, int | None]:
    """The origin of a URL: lower-case scheme and host, and the port (default filled in)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _retry_after(value: str | None) -> float:
    """Seconds to wait before a retry: ``Retry-After`` seconds, capped; 1 s otherwise."""
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:
        seconds = 1.0  # an HTTP-date: not worth parsing for a short wait
    return min(max(seconds, 0.0), MAX_RETRY_WAIT)


def basic_header(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value (RFC 7617, UTF-8)."""
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _secret_aware(text: str) -> str | _Joined:
    if "$CCKIT_CLIENT_SECRET" not in text and "$CCKIT_ACCESS_TOKEN" not in text:
        return text
    parts: list[str] = []
    for piece in re.split(r"(\$CCKIT_CLIENT_SECRET|\$CCKIT_ACCESS_TOKEN)", text):
        parts.append(Placeholder(piece) if piece.startswith("$CCKIT_") else piece)
    return _Joined(*parts)
