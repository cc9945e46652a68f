"""Authentication of the connector's calls to a vendor (contract section 1).

Two ``requests`` auth objects:

- :class:`ClientCredentialsAuth` (mode ``oauth2``): an OAuth 2.0 client-credentials
  token, fetched with HTTP Basic client authentication (the contract's MUST; the form
  fields are only a SHOULD, so we never depend on them), reused until shortly before it
  expires, and refreshed once when a call answers ``401`` with
  ``WWW-Authenticate: Bearer error="invalid_token"`` (a token revoked or expired early).
- :class:`BasicAuth` (mode ``basic``): the client ID and secret on every call.

Neither object ever puts the secret or a token in a log line, an exception or its repr.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from typing import Protocol

import requests
from requests.auth import AuthBase
from requests.auth import HTTPBasicAuth

from connector.errors import AuthenticationError
from connector.errors import VendorError
from connector.http import VendorSession
from connector.http import safe_url

__all__ = [
    "BasicAuth",
    "ClientCredentialsAuth",
    "Revealable",
    "make_auth",
]

log = logging.getLogger(__name__)

#: Upper bound for the safety margin before ``expires_in`` runs out.
_MAX_LEEWAY = 30.0
#: ``expires_in`` we assume when a (non-conforming) vendor omits or garbles it.
_FALLBACK_EXPIRES_IN = 60
#: RFC 6750 b64token (plus the "=" padding), the only form a bearer token may take.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_INVALID_TOKEN = re.compile(r"""error\s*=\s*"?invalid_token"?""", re.IGNORECASE)


class Revealable(Protocol):
    """A secret wrapper (``connector.integrations.Secret``) that hides its value."""

    def reveal(self) -> str:
        """Return the plain secret."""


class _Hidden:
    """Wraps a plain-string secret so that it cannot leak through repr()."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__


def _hide(secret: str | Revealable) -> Revealable:
    return _Hidden(secret) if isinstance(secret, str) else secret


def is_invalid_token(response: requests.Response) -> bool:
    """Tell whether ``response`` is a Bearer ``401`` with ``error="invalid_token"``."""
    if response.status_code != 401:
        return False
    challenge = response.headers.get("WWW-Authenticate", "")
    return challenge.lower().lstrip().startswith("bearer") and bool(
        _INVALID_TOKEN.search(challenge)
    )


class ClientCredentialsAuth(AuthBase):
    """OAuth 2.0 client credentials (RFC 6749 section 4.4) as a ``requests`` auth.

    Thread-safe: download workers share one instance and at most one of them fetches a
    new token at a time.

    Args:
        token_url: the vendor's Authentication URL.
        client_id: the client ID.
        client_secret: the client secret (a ``Secret`` or a plain string).
        session: the session used for the token POST (the run's session, so the token
            call gets the same timeouts and retries).
        leeway: seconds before ``expires_in`` at which the token is renewed (capped at
            a tenth of the token lifetime so that short tokens are still used).
        clock: monotonic clock in seconds (tests pass a fake one).
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | Revealable,
        session: VendorSession,
        *,
        leeway: float = _MAX_LEEWAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        if session.auth_url is None:
            session.auth_url = token_url
        self.client_id = client_id
        self._secret = _hide(client_secret)
        self._session = session
        self._leeway = leeway
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._valid_until = 0.0
        #: How many tokens were fetched (for tests and the run record).
        self.token_fetches = 0
        #: How many calls were retried after an ``invalid_token`` answer.
        self.reauthentications = 0

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth(token_url={self.token_url!r}, client_id={self.client_id!r})"

    # -- token management ---------------------------------------------------------------

    def token(self) -> str:
        """Return a valid access token, fetching one when none is cached or it expires."""
        with self._lock:
            if self._token is None or self._clock() >= self._valid_until:
                self._fetch()
            assert self._token is not None
            return self._token

    def _invalidate(self, failed: str | None) -> None:
        # Only forget the token that failed: another worker may already have replaced it.
        with self._lock:
            if failed is None or failed == self._token:
                self._token = None

    def _fetch(self) -> None:
        """POST the client-credentials grant; caller holds ``self._lock``."""
        url = safe_url(self.token_url)
        limits = self._session.limits
        try:
            response = self._session.fetch(
                "POST",
                self.token_url,
                purpose="token",
                data={"grant_type": "client_credentials"},
                auth=HTTPBasicAuth(self.client_id, self._secret.reveal()),
                headers={"Accept": "application/json"},
                cap=limits.max_token_bytes,
                limit="max_token_bytes",
            )
        except VendorError as exc:
            # One line naming the token endpoint and the cause (or the limit); the
            # messages of connector.http never carry credentials.
            raise AuthenticationError(url, exc.status, f"token request: {exc.message}") from None
        status = response.status_code
        try:
            body: Any = json.loads(response.content) if response.content else None
        except (ValueError, RecursionError):
            body = None
        if status != 200:
            code = body.get("error") if isinstance(body, dict) else None
            detail = f" ({code})" if isinstance(code, str) and len(code) <= 64 else ""
            if status in (400, 401):
                message = f"the token endpoint refused the client credentials{detail}"
            else:
                message = f"the token endpoint answered an error{detail}"
            raise AuthenticationError(url, status, message)
        if not isinstance(body, dict):
            raise AuthenticationError(url, status, "the token response is not a JSON object")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthenticationError(url, status, "the token response has no access_token")
        if not _TOKEN_CHARS.fullmatch(token):
            # It goes into an Authorization header: no control characters, no spaces.
            raise AuthenticationError(
                url, status, "the access_token has characters a bearer token cannot have"
            )
        token_type = body.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise AuthenticationError(
                url, status, f"unsupported token_type {str(token_type)[:32]!r} (want Bearer)"
            )
        expires_in = body.get("expires_in")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
            log.warning(
                "token response from %s has no usable expires_in; assuming %d s",
                url,
                _FALLBACK_EXPIRES_IN,
            )
            expires_in = _FALLBACK_EXPIRES_IN
        leeway = min(self._leeway, expires_in / 10)
        self._token = token
        self._valid_until = self._clock() + expires_in - leeway
        self.token_fetches += 1
        log.debug("fetched an access token from %s (expires in %d s)", url, expires_in)

    # -- requests hooks -----------------------------------------------------------------

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        request.register_hook("response", self._retry_on_invalid_token)  # type: ignore[no-untyped-call]
        return request

    def _retry_on_invalid_token(
        self, response: requests.Response, **kwargs: Any
    ) -> requests.Response:
        """Re-authenticate once and resend when the vendor says the token is invalid."""
        if not is_invalid_token(response):
            return response
        sent = response.request.headers.get("Authorization", "")
        failed = sent[7:] if sent.startswith("Bearer ") else None
        self._invalidate(failed)
        token = self.token()
        # Close the 401 unread: its body is the vendor's to make huge, and a dropped
        # connection costs less than reading it.
        response.close()
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {token}"
        # The adapter's send() runs no hooks, so this cannot loop: one re-auth per call.
        assert response.connection is not None
        new_response: requests.Response = response.connection.send(retry, **kwargs)
        new_response.history.append(response)
        new_response.request = retry
        self.reauthentications += 1
        log.info("access token rejected by %s; re-authenticated once", _no_query(retry.url))
        return new_response


def _no_query(url: str | None) -> str:
    return (url or "").split("?", 1)[0]


class BasicAuth(AuthBase):
    """Mode ``basic``: HTTP Basic with the client ID and secret on every call."""

    def __init__(self, client_id: str, client_secret: str | Revealable) -> None:
        self.client_id = client_id
        self._secret = _hide(client_secret)

    def __repr__(self) -> str:
        return f"BasicAuth(client_id={self.client_id!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        basic: requests.PreparedRequest = HTTPBasicAuth(self.client_id, self._secret.reveal())(
            request
        )
        return basic


def make_auth(
    mode: str,
    *,
    auth_url: str | None,
    client_id: str,
    client_secret: str | Revealable,
    session: VendorSession,
) -> ClientCredentialsAuth | BasicAuth:
    """Build the auth object for an integration's ``auth_mode``.

    Args:
        mode: ``"oauth2"`` or ``"basic"``.
        auth_url: the token URL (required for ``oauth2``).
        client_id: the client ID.
        client_secret: the client secret.
        session: the run's session (used for the token POST).

    Returns:
        The auth object to set as ``session.auth``.

    Raises:
        AuthenticationError: unknown mode, or ``oauth2`` without an auth URL.
    """
    if mode == "basic":
        return BasicAuth(client_id, client_secret)
    if mode == "oauth2":
        if not auth_url:
            raise AuthenticationError("", None, "oauth2 mode needs an Authentication URL")
        return ClientCredentialsAuth(auth_url, client_id, client_secret, session)
    raise AuthenticationError(auth_url or "", None, f"unknown auth mode {mode!r}")
