"""The mock's fast paths answer exactly what the slow ones do (issue 16).

List pages are served from a cache when no fault is on; packages go through waitress's
file wrapper; tokens are swept only when the table doubles. Each fast path is compared
with the path it replaces, byte for byte.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import flask
import orjson
import pytest
import requests
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import mock_vendor
from mock_vendor import catalog
from mock_vendor.model import Package
from mock_vendor.model import Tenant
from mock_vendor.state import PageCache

_NO_FILE = Package(Path("unused.zip"))

START = "2026-11-26T10:00:00Z"
ADMIN = {"Authorization": "Bearer admin"}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "mock-vendor.md"


def _app(tmp_path: Path, **extra: Any) -> flask.Flask:
    return mock_vendor.create_app(
        {
            "TESTING": True,
            "COURSES": 30,
            "SEED": 5,
            "PAGE_SIZE": 7,
            "MAX_ASSET_BYTES": 3_000,
            "CLIENT_SECRET": "secret",
            "ADMIN_TOKEN": "admin",
            "CACHE_DIR": str(tmp_path / "cache"),
            "CLOCK_START": START,
            "CLOCK_FROZEN": True,
            "VALIDATE_RESPONSES": True,
            "LIST_INACTIVE": True,
            **extra,
        }
    )


def _bearer(client: Any) -> dict[str, str]:
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("cckit-demo", "secret")
    )
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def _walk(client: Any, headers: dict[str, str]) -> list[tuple[bytes, str | None, str]]:
    """Every page as (body, Link header, Content-Type)."""
    pages = []
    url: str | None = "/api/v1/courses"
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        link = response.headers.get("Link")
        pages.append((response.get_data(), link, response.headers["Content-Type"]))
        found = re.search(r"<([^>]*)>", link or "")
        url = found.group(1) if found else None
    return pages


@pytest.mark.parametrize("ims", [None, "Wed, 01 Jan 2025 00:00:00 GMT"])
def test_cached_pages_are_the_bytes_of_the_uncached_path(tmp_path: Path, ims: str | None) -> None:
    app = _app(tmp_path)
    client = app.test_client()
    headers = _bearer(client)
    if ims:
        headers["If-Modified-Since"] = ims
    first = _walk(client, headers)
    cached = _walk(client, headers)  # every page from the cache now
    assert len(mock_vendor.get_state(app).pages) >= len(first)
    # A fault that leaves the list alone turns the cache off: the page is built again.
    client.post("/_admin/faults", json={"spec": "latency:1@token"}, headers=ADMIN)
    uncached = _walk(client, headers)
    assert len(first) >= 4
    assert first == cached == uncached


def test_cached_pages_follow_every_change(tmp_path: Path) -> None:
    app = _app(tmp_path)
    state = mock_vendor.get_state(app)
    client = app.test_client()
    headers = _bearer(client)
    before = _walk(client, headers)
    client.patch("/_admin/courses/CRS-00003", json={"Title": "Renamed"}, headers=ADMIN)
    after_patch = _walk(client, headers)
    assert after_patch != before
    assert b"Renamed" in b"".join(body for body, _, _ in after_patch)
    active = next(r.course_id for r in state.default_tenant.records[5:] if r.is_active)
    client.post(f"/_admin/courses/{active}/deactivate", headers=ADMIN)
    after_deactivate = _walk(client, headers)
    assert after_deactivate != after_patch
    assert f'"ID":"{active}","Title"'.encode() in b"".join(b for b, _, _ in after_deactivate)
    client.post("/_admin/courses", json={"ID": "NEW-1", "Title": "New course"}, headers=ADMIN)
    assert b"NEW-1" in b"".join(body for body, _, _ in _walk(client, headers))
    # A clock move or a reset through Python (not the admin API) is seen too.
    versions = (state.version, state.clock.moves)
    state.clock.advance(5)
    assert (state.version, state.clock.moves) != versions
    state.reset()
    assert _walk(client, _bearer(client)) == before


def test_page_cache_is_bounded_and_least_recently_used() -> None:
    cache = PageCache(size=2)
    cache.put("a", (b"A", None))
    cache.put("b", (b"B", 1))
    assert cache.get("a") == (b"A", None)
    cache.put("c", (b"C", None))  # "b" was used least recently
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0


def test_token_table_is_swept_when_it_doubles(tmp_path: Path) -> None:
    state = mock_vendor.get_state(_app(tmp_path, COURSES=1))
    tenant = state.default_tenant
    for _ in range(1030):
        state.issue_token(tenant, 60)
    assert len(state.tokens) == 1030  # swept at 1024, but none had expired
    state.clock.advance(61)
    for _ in range(1020):
        state.issue_token(tenant, 60)
    # The next sweep (when the table reached 2,048) dropped the 1,030 expired ones.
    assert len(state.tokens) < 1100
    fresh = state.issue_token(tenant, 60)
    assert fresh in state.tokens


# ----------------------------------------------------------------------- waitress


@pytest.fixture(scope="module")
def waitress_vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    cache = tmp_path_factory.mktemp("cache")
    process = subprocess.Popen(
        [sys.executable, "-m", "cckit", "vendor", "serve", "--port", "0", "--courses", "6",
         "--cache-dir", str(cache), "--threads", "4", "--connection-limit", "50",
         "--client-secret", "secret"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    token = requests.post(
        info["auth_url"],
        data={"grant_type": "client_credentials"},
        auth=(info["client_id"], "secret"),
        timeout=10,
    ).json()["access_token"]
    info["headers"] = {"Authorization": f"Bearer {token}"}
    try:
        yield info
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


@pytest.mark.live
def test_packages_through_the_file_wrapper_are_exact(waitress_vendor: dict[str, Any]) -> None:
    headers = waitress_vendor["headers"]
    courses = requests.get(waitress_vendor["course_list_url"], headers=headers, timeout=10).json()
    url = max(
        (c["DownloadPackageUrl"] for c in courses if c["IsActive"]),
        key=lambda u: int(requests.head(u, headers=headers, timeout=10).headers["Content-Length"]),
    )
    whole = requests.get(url, headers=headers, timeout=10)
    assert whole.status_code == 200
    size = len(whole.content)
    assert int(whole.headers["Content-Length"]) == size
    assert whole.content[:2] == b"PK"
    assert size > 100
    cases = {
        "bytes=10-19": whole.content[10:20],  # stops short of the end: the generator
        f"bytes={size - 50}-": whole.content[-50:],  # to the end: the file wrapper
        "bytes=-30": whole.content[-30:],
        "bytes=0-": whole.content,
    }
    for header, expected in cases.items():
        part = requests.get(url, headers={**headers, "Range": header}, timeout=10)
        assert part.status_code == 206, header
        assert part.content == expected, header
        assert int(part.headers["Content-Length"]) == len(expected), header
    etag = {"If-None-Match": whole.headers["ETag"]}
    again = requests.get(url, headers={**headers, **etag}, timeout=10)
    assert again.status_code == 304
    assert again.content == b""
    # Keep-alive survives a file-wrapper answer: the same session does several in a row.
    with requests.Session() as session:
        session.headers.update(headers)
        bodies = {session.get(url, timeout=10).content for _ in range(5)}
    assert bodies == {whole.content}


# ----------------------------------------------------------------------- docs


def test_every_config_key_and_serve_option_is_documented() -> None:
    from mock_vendor.cli import serve

    text = DOCS.read_text(encoding="utf-8")
    missing = [key for key in mock_vendor.DEFAULTS if f"`{key}`" not in text]
    assert missing == []
    # A --x/--no-x switch counts as documented when either form is.
    undocumented = [
        param.opts[0]
        for param in serve.params
        if param.opts[0].startswith("--")
        and not any(f"`{name}" in text for name in (*param.opts, *param.secondary_opts))
    ]
    assert undocumented == []


_IDS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)


@settings(max_examples=80)
@given(
    courses=st.lists(st.tuples(_IDS, st.booleans()), max_size=6, unique_by=lambda c: c[0]),
    base=st.text(st.characters(codec="utf-8"), max_size=30),
)
def test_spliced_page_is_the_encoded_page(courses: list[tuple[str, bool]], base: str) -> None:
    """A same-origin page is spliced from once-encoded courses, a once-escaped base and a
    once-escaped path per ID: it must be byte for byte the page encoded whole."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    tenant = Tenant("client", "secret", "")
    records = [
        tenant.add(course_id, {"Title": course_id, "IsActive": active}, when, when, _NO_FILE)
        for course_id, active in courses
    ]
    state: Any = None  # a same-origin page needs nothing of the state
    link = catalog.Links(base, "client")
    expected = [
        record.to_json(catalog.package_url(state, record.course_id, base)) for record in records
    ]
    assert catalog._listing_body(state, records, link) == orjson.dumps(expected) + b"\n"


def test_pages_with_an_integer_past_64_bits_are_the_same_with_a_fault_on(
    tmp_path: Path,
) -> None:
    """orjson refuses such integers; a folder sidecar may hold one. Both paths still answer."""
    app = _app(tmp_path, VALIDATE_RESPONSES=False)
    mock_vendor.get_state(app).default_tenant.records[0].meta["Duration"] = 2**70
    client = app.test_client()
    headers = _bearer(client)
    cached = [json.loads(body) for body, _, _ in _walk(client, headers)]
    client.post("/_admin/faults", json={"spec": "latency:1@token"}, headers=ADMIN)
    assert [json.loads(body) for body, _, _ in _walk(client, headers)] == cached
    assert cached[0][0]["Duration"] == 2**70
