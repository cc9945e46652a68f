"""Bounds on what a client may send the mock: body sizes and JSON nesting.

The mock faces untrusted callers too (a connector under test, a fuzzer, a browser on the
admin API), so every request body is capped before it is read and every JSON body is
parsed with a depth bound. A body over its cap gets ``413`` with a small JSON body; a
malformed or too deeply nested one ``400``; never a ``500``.

Caps (config keys, bytes): ``MAX_TOKEN_BODY_BYTES`` for the token endpoint's form,
``MAX_UPLOAD_BYTES`` for the admin calls that carry a package, ``MAX_BODY_BYTES`` for
every other request.
"""

from __future__ import annotations

import json
from typing import Any

import flask

from mock_vendor.errors import APIError
from mock_vendor.errors import OAuthError
from mock_vendor.model import NotJSONError
from mock_vendor.model import loads

#: Endpoints whose body may carry a whole package (raw or base64 in JSON).
_UPLOAD_ENDPOINTS = frozenset({"admin.add_course", "admin.replace_package"})

#: Deepest nesting accepted in a JSON body (course objects need 3 levels).
MAX_JSON_DEPTH = 32


def body_limit() -> tuple[int, bool]:
    """The body cap of the current request and whether it is the token endpoint's."""
    config = flask.current_app.config
    endpoint = flask.request.endpoint or ""
    if endpoint == "auth.token":
        return int(config["MAX_TOKEN_BODY_BYTES"]), True
    if endpoint in _UPLOAD_ENDPOINTS:
        return int(config["MAX_UPLOAD_BYTES"]), False
    return int(config["MAX_BODY_BYTES"]), False


def apply_body_limit() -> None:
    """Refuse a declared body over the cap (413) and cap the body stream for the rest.

    Raises:
        APIError: 413 (an ``OAuthError`` on the token endpoint) naming the cap.
    """
    limit, is_token = body_limit()
    # Bodies sent without Content-Length (chunked) are cut at the cap by werkzeug, which
    # raises 413 on reading past it; the error handler turns that into a small JSON body.
    flask.request.max_content_length = limit
    length = flask.request.content_length
    if length is not None and length > limit:
        raise _too_large(limit, is_token, length)


def _too_large(limit: int, is_token: bool, length: int | None) -> APIError:
    size = f"({length} bytes) " if length is not None else ""
    message = f"The request body {size}is larger than the {limit}-byte limit."
    if is_token:
        return OAuthError(413, "invalid_request", message)
    return APIError(413, "payload_too_large", message)


def read_body() -> bytes:
    """The request body, read at most up to its cap (cached for form parsing).

    A body sent without ``Content-Length`` (chunked) is cut at the cap by the stream
    limit; reaching the cap then counts as being over it.

    Raises:
        APIError: 413 over the cap (an ``OAuthError`` on the token endpoint).
    """
    limit, is_token = body_limit()
    data = flask.request.get_data()
    if flask.request.content_length is None and len(data) >= limit:
        raise _too_large(limit, is_token, None)
    return data


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: no recursion on hostile input)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def json_object_body() -> dict[str, Any]:
    """The request body as a JSON object (``{}`` when empty).

    Raises:
        APIError: 400 ``invalid_body`` when the body is not UTF-8 JSON, is nested deeper
            than :data:`MAX_JSON_DEPTH`, is not an object, or holds ``NaN`` or
            ``Infinity`` (Python's parser takes them, JSON does not); 413 over the body cap.
    """
    data = read_body()
    if not data:
        return {}
    constant: NotJSONError | None = None
    try:
        try:
            body = loads(data)
        except NotJSONError as exc:
            # Reported after the checks below, which come first whatever the body holds.
            constant, body = exc, json.loads(data)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and UnicodeDecodeError; RecursionError is
        # what the parser raises on a body nested tens of thousands of levels deep.
        reason = "nested too deeply" if isinstance(exc, RecursionError) else "not valid JSON"
        raise APIError(400, "invalid_body", f"The request body is {reason}.") from None
    if _depth(body) > MAX_JSON_DEPTH:
        raise APIError(
            400,
            "invalid_body",
            f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.",
        )
    if not isinstance(body, dict):
        raise APIError(400, "invalid_body", "The request body must be a JSON object.")
    if constant is not None:
        raise APIError(400, "invalid_body", f"The request body is not valid JSON: {constant}.")
    return body
