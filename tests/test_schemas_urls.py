"""schemas.is_allowed_package_url: https anywhere, http only on loopback (COURSE-010)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import schemas


@pytest.mark.parametrize(
    "url",
    [
        "https://lcms.example.com/api/v1/courses/A/package.zip",
        "HTTPS://LCMS.EXAMPLE.COM/p.zip",
        "https://203.0.113.9:8443/p.zip?sig=abc&exp=1",
        "http://127.0.0.1:8765/api/v1/courses/A/package.zip",
        "http://127.10.20.30/p.zip",
        "http://localhost/p.zip",
        "http://LOCALHOST.:8080/p.zip",
        "http://[::1]:8080/p.zip",
        "http://user:pw@127.0.0.1/p.zip",
        "https://xn--r8jz45g.jp/%E4%BE%8B.zip",
    ],
)
def test_allowed(url: str) -> None:
    assert schemas.is_allowed_package_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://lcms.example.com/p.zip",
        "http://10.0.0.5/p.zip",
        "http://128.0.0.1/p.zip",
        "http://[::2]/p.zip",
        "http://localhost.example.com/p.zip",
        "http://127.0.0.1.nip.io/p.zip",
        "ftp://127.0.0.1/p.zip",
        "file:///tmp/p.zip",
        "/api/v1/courses/A/package.zip",
        "https:///p.zip",
        "https://lcms.example.com/a b.zip",
        "https://例え.jp/p.zip",
        "https://xn--r8jz45g.jp/例.zip",
        "https://lcms.example.com:99999/p.zip",
        "https://[::1/p.zip",
        "",
    ],
)
def test_refused(url: str) -> None:
    assert not schemas.is_allowed_package_url(url)


def test_loopback_hosts() -> None:
    assert schemas.is_loopback_host("127.255.255.254")
    assert schemas.is_loopback_host("::1")
    assert not schemas.is_loopback_host("0.0.0.0")  # noqa: S104  # a string, not a bind
    assert not schemas.is_loopback_host("localhost6")


@given(
    host=st.from_regex(r"\A[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){1,3}\Z"),
    path=st.from_regex(r"\A(/[A-Za-z0-9_.-]{1,12}){0,4}\Z"),
)
def test_https_anywhere_http_only_on_loopback(host: str, path: str) -> None:
    assert schemas.is_allowed_package_url(f"https://{host}{path}")
    assert schemas.is_allowed_package_url(f"http://localhost{path}") is True
    assert schemas.is_allowed_package_url(f"http://{host}{path}") is False


@given(octets=st.tuples(*[st.integers(0, 255)] * 3), port=st.integers(1, 65535))
def test_whole_127_slash_8_is_loopback(octets: tuple[int, int, int], port: int) -> None:
    host = "127." + ".".join(map(str, octets))
    url = f"http://{host}:{port}/p.zip"
    assert schemas.is_allowed_package_url(url)
    # What code allows, the schema's URL pattern and format accept too.
    course: dict[str, Any] = {
        "ID": "A",
        "Title": "T",
        "Description": "",
        "CourseType": "AICC",
        "IsActive": True,
        "LastModifiedUTC": "2026-01-01T00:00:00Z",
        "PackageLastModifiedUTC": "2026-01-01T00:00:00Z",
        "DownloadPackageUrl": url,
        "Languages": ["en-US"],
    }
    assert schemas.validator("course").is_valid(course)
