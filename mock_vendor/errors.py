"""Exceptions of the mock vendor and the JSON error bodies it answers with.

Every exception the package raises derives from :class:`MockVendorError`. Inside a
request, :class:`APIError` and :class:`OAuthError` are turned into JSON bodies (the
contract's ``api-error`` and RFC 6749 ``oauth-error`` shapes) by the handlers that
:func:`register_error_handlers` installs; every other :class:`~werkzeug.exceptions.HTTPException`
is rewritten the same way, so the mock never answers with an HTML error page.
"""

from __future__ import annotations

import re
from typing import Any

import flask
from werkzeug.exceptions import HTTPException


class MockVendorError(Exception):
    """Base class of every exception the ``mock_vendor`` package raises."""


class ConfigError(MockVendorError, ValueError):
    """A configuration value is unusable; the message names the key and the problem."""


class CatalogError(MockVendorError):
    """A catalog cannot be built (for example an unreadable zip in a catalog folder)."""


class UnknownFaultError(ConfigError):
    """A fault specification names a fault that does not exist or has a bad argument."""


class ResponseValidationError(MockVendorError, AssertionError):
    """A response body the mock produced does not match its JSON Schema.

    Raised only when ``VALIDATE_RESPONSES`` is on (the test hook): the mock's own
    answers must always satisfy the contract unless a fault deliberately breaks them.
    """


#: Longest error message sent; longer ones (quoting a huge value) are cut, so that a
#: 10 MB request is never answered with a 20 MB error.
MAX_MESSAGE_CHARS = 1000


def _shorten(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[: MAX_MESSAGE_CHARS - 30]}... [{len(message)} characters in all]"


class APIError(HTTPException):
    """An HTTP error answered with an ``api-error`` JSON body ``{"error", "message"}``.

    Args:
        status: HTTP status code.
        error: Short machine-readable code, e.g. ``"not_found"``.
        message: Human-readable explanation naming what was wrong.
        headers: Extra response headers (e.g. ``WWW-Authenticate``).
        details: Optional structured data added to the body as ``details``.
    """

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        message = _shorten(message)
        super().__init__(description=message)
        self.code = status
        self.error = error
        self.message = message
        self.extra_headers = dict(headers or {})
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of this error."""
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class OAuthError(APIError):
    """A token-endpoint error answered with an RFC 6749 section 5.2 body."""

    def to_dict(self) -> dict[str, Any]:
        """The RFC 6749 JSON body: ``error`` plus ``error_description``."""
        return {"error": self.error, "error_description": self.message}


def _json_error(error: APIError) -> flask.Response:
    response = flask.jsonify(error.to_dict())
    response.status_code = error.code or 500
    for name, value in error.extra_headers.items():
        response.headers[name] = value
    if isinstance(error, OAuthError):
        flask.g.error_kind = "oauth"  # tells the validation hook which schema applies
        # RFC 6749 section 5.1/5.2: token responses, errors included, must not be cached.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def _error_code(name: str) -> str:
    # "Method Not Allowed" -> "method_not_allowed" (api-error codes are ^[a-z][a-z0-9_]*$).
    code = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return code if code[:1].isalpha() else f"http_{code}"


def handle_http_exception(error: HTTPException) -> flask.Response:
    """Turn any HTTP exception into a JSON ``api-error`` body (never an HTML page)."""
    if isinstance(error, APIError):
        return _json_error(error)
    status = error.code or 500
    api_error = APIError(status, _error_code(error.name), error.description or error.name)
    response = _json_error(api_error)
    # Keep headers werkzeug computed, e.g. Allow on 405.
    original = error.get_response()
    for name in ("Allow", "Retry-After", "WWW-Authenticate"):
        if name in original.headers:
            response.headers[name] = original.headers[name]
    return response


def register_error_handlers(app: flask.Flask) -> None:
    """Install the JSON error handlers on ``app``."""
    app.register_error_handler(HTTPException, handle_http_exception)
