"""Course list paging and per-course validation, against `responses`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import responses
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from connector.client import VendorClient
from connector.client import http_date
from connector.client import validate_course
from connector.errors import VendorError
from connector.http import make_session

BASE = "https://vendor.example"
LIST_URL = f"{BASE}/api/courses"


@dataclass(frozen=True)
class Opts:
    timeout: float = 5.0
    retries: int = 0
    max_retry_after: float = 1.0
    backoff_factor: float = 0.0


def course(vendor_id: str, **overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "ID": vendor_id,
        "Title": f"Course {vendor_id}",
        "Description": "",
        "CourseType": "AICC",
        "IsActive": True,
        "LastModifiedUTC": "2026-11-26T10:00:00Z",
        "PackageLastModifiedUTC": "2026-11-26T10:00:00Z",
        "DownloadPackageUrl": f"https://cdn.vendor.example/{vendor_id}.zip",
        "Languages": ["en-US"],
    }
    obj.update(overrides)
    return obj


def client() -> VendorClient:
    return VendorClient(make_session(Opts()), LIST_URL)


def ids(pages: list[Any]) -> list[str | None]:
    return [r.vendor_id for p in pages for r in p.records]


@responses.activate
def test_follows_relative_and_absolute_next_links_with_same_ims() -> None:
    responses.get(LIST_URL, json=[course("A")], headers={"Link": '<?page=2>; rel="next"'})
    responses.get(
        f"{LIST_URL}?page=2",
        json=[course("B")],
        headers={"Link": f'<{BASE}/other/p3>; rel="next", <{LIST_URL}>; rel="first"'},
    )
    responses.get(f"{BASE}/other/p3", json=[course("C")])
    since = dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.UTC)
    c = client()
    pages = list(c.iter_pages(since))
    assert ids(pages) == ["A", "B", "C"]
    assert [p.number for p in pages] == [1, 2, 3]
    assert c.pages == 3
    assert all(r.ok for p in pages for r in p.records)
    sent = [call.request.headers.get("If-Modified-Since") for call in responses.calls]
    assert sent == ["Thu, 26 Nov 2026 08:30:00 GMT"] * 3


@responses.activate
def test_no_ims_header_without_watermark() -> None:
    responses.get(LIST_URL, json=[])
    (page,) = client().iter_pages(None)
    assert page.records == []
    assert "If-Modified-Since" not in responses.calls[0].request.headers


@responses.activate
def test_paging_loop_is_detected() -> None:
    responses.get(LIST_URL, json=[course("A")], headers={"Link": '<?page=2>; rel="next"'})
    responses.get(
        f"{LIST_URL}?page=2", json=[course("B")], headers={"Link": f"<{LIST_URL}>; rel=next"}
    )
    with pytest.raises(VendorError, match="paging loop") as info:
        list(client().iter_pages())
    assert info.value.url == LIST_URL
    assert len(responses.calls) == 2


@responses.activate
def test_repeated_ids_fail_the_repeat_and_keep_the_first() -> None:
    responses.get(
        LIST_URL, json=[course("A"), course("B"), course("A")], headers={"Link": "<p2>; rel=next"}
    )
    responses.get(f"{BASE}/api/p2", json=[course("B"), course("C")])
    records = [r for p in client().iter_pages() for r in p.records]
    assert [(r.vendor_id, r.ok) for r in records] == [
        ("A", True),
        ("B", True),
        ("A", False),
        ("B", False),
        ("C", True),
    ]
    assert records[2].rule_ids == ("LIST-004",)
    assert "first on this page" in (records[2].error or "")
    assert "first on page 1" in (records[3].error or "")


@pytest.mark.parametrize(
    ("body", "needle"),
    [({"courses": []}, "JSON dict, not an array"), ("null", "JSON NoneType, not an array")],
)
@responses.activate
def test_non_array_body_is_a_vendor_error(body: Any, needle: str) -> None:
    if isinstance(body, str):
        responses.get(LIST_URL, body=body, content_type="application/json")
    else:
        responses.get(LIST_URL, json=body)
    with pytest.raises(VendorError, match=needle) as info:
        list(client().iter_pages())
    assert info.value.url == LIST_URL
    assert LIST_URL in str(info.value)


@responses.activate
def test_non_json_and_error_status() -> None:
    responses.get(LIST_URL, body="<html>", content_type="text/html")
    with pytest.raises(VendorError, match="not JSON"):
        list(client().iter_pages())
    responses.replace(responses.GET, LIST_URL, status=404, json={"error": "not_found"})
    with pytest.raises(VendorError, match="HTTP 404") as info:
        list(client().iter_pages())
    assert info.value.status == 404


@responses.activate
def test_connection_error_is_a_vendor_error() -> None:
    responses.get(LIST_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(VendorError, match="request failed") as info:
        list(client().iter_pages())
    assert info.value.status is None


@responses.activate
def test_a_bad_course_fails_alone_with_path_and_rule() -> None:
    bad_lang = course("B", Languages=["english"])
    no_title = course("C")
    del no_title["Title"]
    insecure = course("D", DownloadPackageUrl="http://cdn.vendor.example/D.zip")
    responses.get(LIST_URL, json=[course("A"), bad_lang, no_title, insecure, "junk", course("E")])
    records = [r for p in client().iter_pages() for r in p.records]
    assert [r.ok for r in records] == [True, False, False, False, False, True]
    b, c, d, junk = records[1:5]
    assert b.vendor_id == "B"
    assert (b.error or "").startswith("$.Languages[0]:")
    assert b.rule_ids == ("COURSE-011",)
    assert c.error == "$.Title: required member is missing"
    assert c.rule_ids == ("COURSE-004",)
    assert d.rule_ids == ("COURSE-010",)
    assert junk.vendor_id is None
    assert junk.rule_ids == ("COURSE-001",)


def test_inactive_course_needs_no_package_url() -> None:
    obj = course("X", IsActive=False)
    del obj["DownloadPackageUrl"]
    del obj["PackageLastModifiedUTC"]
    assert validate_course(obj).ok
    obj["IsActive"] = True
    record = validate_course(obj)
    assert not record.ok
    assert "COURSE-009" in record.rule_ids or "COURSE-010" in record.rule_ids


def test_http_package_url_on_loopback_is_allowed() -> None:
    assert validate_course(course("L", DownloadPackageUrl="http://127.0.0.1:8080/p.zip")).ok


def test_http_date_requires_aware_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        http_date(dt.datetime(2026, 1, 1))


@settings(max_examples=30)
@given(st.text(min_size=1, max_size=60))
def test_validate_course_never_raises_and_ids_follow_the_pattern(vendor_id: str) -> None:
    record = validate_course(course(vendor_id, DownloadPackageUrl="https://cdn.example/p.zip"))
    assert record.ok == bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,49}", vendor_id))
    if not record.ok:
        assert record.rule_ids == ("COURSE-002",)


_tricky = st.one_of(
    st.sampled_from(
        [
            "2026-11-26T10:00:00Z",
            "2026-11-26T10:00:00.5Z",
            "2026-02-30T10:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T10:00:60Z",
            "2026-11-26 10:00:00",
            "2026-11-26T10:00:00+00:00",
            "https://cdn.example/a b.zip",
            "https://cdn.example/p.zip",
            "https:///p.zip",
            "http://[::1]/p.zip",
            "ftp://cdn.example/p.zip",
            "en-US",
            "EN-us",
            "00:45:00",
            "100:00:00",
            "1:00:00",
            "",
            " ",
            "A" * 51,
        ]
    ),
    st.integers(),
    st.booleans(),
    st.none(),
    st.lists(st.sampled_from(["en-US", "de", "x"]), max_size=3),
)
_fields = st.sampled_from(
    [
        "ID", "Title", "Description", "CourseType", "IsActive", "LastModifiedUTC",
        "PackageLastModifiedUTC", "DownloadPackageUrl", "Languages", "Duration", "Thumbnail",
        "Subjects", "Keywords", "Version",
    ]
)  # fmt: skip


@settings(max_examples=60)
@given(st.dictionaries(_fields, _tricky, max_size=4))
def test_fast_schema_check_never_accepts_what_jsonschema_rejects(changes: dict[str, Any]) -> None:
    from connector.client import _fast_course_check
    from connector.client import course_validator

    fast = _fast_course_check()
    if fast is None:
        pytest.skip("jsonschema_rs is not installed")
    obj = course("P1", DownloadPackageUrl="https://cdn.example/p.zip")
    obj.update(changes)
    if fast(obj):
        assert course_validator().is_valid(obj), obj
