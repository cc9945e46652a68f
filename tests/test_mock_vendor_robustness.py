"""Malformed input never makes the mock vendor answer 500 (or crash)."""

from __future__ import annotations

import ast
import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import flask
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import mock_vendor
from mock_vendor.app import create_origin_app

HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)
PATHS = st.sampled_from(
    [
        "/oauth/token",
        "/api/v1/courses",
        "/api/v1/courses/CRS-00001/package.zip",
        "/api/v1/courses/%00/package.zip",
        "/api/v1/courses/%E2%98%83/package.zip",
        "/_admin/",
        "/_admin/courses/CRS-00001",
        "/_admin/faults",
        "/_admin/clock",
        "/nowhere",
    ]
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> flask.Flask:
    return mock_vendor.create_app(
        {
            "TESTING": True,
            "COURSES": 3,
            "MAX_ASSET_BYTES": 3_000,
            "CLIENT_SECRET": "secret",
            "ADMIN_TOKEN": "admin",
            "CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
            "VALIDATE_RESPONSES": True,
        }
    )


@pytest.fixture(scope="module")
def bearer(app: flask.Flask) -> str:
    response = app.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("cckit-demo", "secret")
    )
    return f"Bearer {response.json['access_token']}"  # type: ignore[index]


def cursor_of(payload: Any) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
    path=PATHS,
    authorization=st.one_of(
        st.none(),
        st.sampled_from(["VALID", "Bearer admin", "Basic", "Basic ===", "Bearer"]),
        HEADER_TEXT,
    ),
    ims=st.one_of(st.none(), HEADER_TEXT, st.just("Thu, 01 Jan 1970 00:00:00 GMT")),
    range_header=st.one_of(st.none(), HEADER_TEXT.map(lambda t: f"bytes={t}")),
    cursor=st.one_of(
        st.none(),
        HEADER_TEXT,
        st.builds(
            cursor_of,
            st.fixed_dictionaries(
                {
                    "v": st.sampled_from([1, 2, "1"]),
                    "s": st.one_of(st.integers(), st.text(max_size=3), st.none()),
                    "b": st.one_of(st.integers(), st.floats(allow_nan=True)),
                    "i": st.one_of(st.none(), st.integers(), st.text(max_size=3)),
                    "c": st.sampled_from(["cckit-demo", "x"]),
                }
            ),
        ),
    ),
    body=st.one_of(st.binary(max_size=80), st.just(b'{"advance": 1e400}')),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "multipart/form-data", ""]
    ),
)
@settings(max_examples=150, deadline=None)
def test_no_request_gets_a_500(
    app: flask.Flask,
    bearer: str,
    method: str,
    path: str,
    authorization: str | None,
    ims: str | None,
    range_header: str | None,
    cursor: str | None,
    body: bytes,
    content_type: str,
) -> None:
    headers = {}
    if authorization is not None:
        headers["Authorization"] = bearer if authorization == "VALID" else authorization
    if ims is not None:
        headers["If-Modified-Since"] = ims
    if range_header is not None:
        headers["Range"] = range_header
    if content_type:
        headers["Content-Type"] = content_type
    query = {"cursor": cursor} if cursor is not None else None
    response = app.test_client().open(
        path, method=method, headers=headers, query_string=query, data=body
    )
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    if response.status_code >= 400 and method != "HEAD":
        assert response.is_json


@pytest.mark.parametrize("body", [b'{"advance": 1e400}', b'{"advance": 1e30}', b'{"advance": -1}'])
def test_absurd_clock_advances_are_a_400(tmp_path: Path, body: bytes) -> None:
    app = mock_vendor.create_app({"COURSES": 0, "ADMIN_TOKEN": "a", "CACHE_DIR": str(tmp_path)})
    response = app.test_client().post(
        "/_admin/clock",
        data=body,
        headers={"Authorization": "Bearer a", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_body"  # type: ignore[index]


def test_apps_built_in_several_threads_never_parse_asts_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CPython 3.11's AST converter is not thread-safe (python/cpython#106905): werkzeug
    parses each URL rule, so threads building mock apps at once (``lms-check --jobs``)
    once failed with "SystemError: AST constructor recursion depth mismatch"."""
    inside = 0
    most = 0
    guard = threading.Lock()
    parse = ast.parse

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.001)  # widen the window two unserialized builders would share
        try:
            return parse(*args, **kwargs)
        finally:
            with guard:
                inside -= 1

    monkeypatch.setattr(ast, "parse", slow_parse)
    start = threading.Barrier(4)

    def build(_: int) -> None:
        start.wait()
        app = mock_vendor.create_app({"COURSES": 1, "PREBUILD": False})
        create_origin_app(app)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(build, range(4)))
    assert most == 1
