"""Fetching what the checks look at: course list walks and package downloads.

Fetching is separated from judging: a walk records the first failure it saw per
requirement and carries on when it can, and each check re-raises the failure of its own
requirement. That way one defect is reported once, under the right requirement ID.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urljoin

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import parse_header_links

from conformance._http import Exchange
from conformance._http import VendorClient
from conformance.checks import SIZE_CAP
from conformance.errors import ConformanceFailure

#: A walk stops after this many pages (a vendor that never ends its list fails LIST-013).
MAX_PAGES = 10_000
#: An If-Modified-Since older than any plausible catalog: the delta holds every course.
OLD_IMS = "Sat, 01 Jan 2000 00:00:00 GMT"


@dataclass
class Page:
    """One page of a course list walk."""

    url: str
    status: int
    exchange: Exchange
    courses: list[Any] | None
    next_url: str | None


@dataclass
class Walk:
    """A walk over a whole (possibly paged) course list.

    Attributes:
        if_modified_since: The ``If-Modified-Since`` sent on every page, if any.
        pages: The pages fetched, in order.
        courses: Every course object of every page, in order.
        failures: The first failure seen per requirement ID.
        complete: Whether the walk reached a last page without a defect stopping it.
    """

    if_modified_since: str | None
    pages: list[Page] = field(default_factory=list)
    courses: list[Any] = field(default_factory=list)
    failures: dict[str, ConformanceFailure] = field(default_factory=dict)
    complete: bool = False

    def record(self, failure: ConformanceFailure) -> None:
        """Keep the first failure of each requirement."""
        self.failures.setdefault(failure.requirement, failure)

    def raise_for(self, *requirements: str) -> None:
        """Re-raise the recorded failure of the first of ``requirements`` that has one."""
        for requirement in requirements:
            if requirement in self.failures:
                raise self.failures[requirement]

    def by_id(self) -> dict[str, dict[str, Any]]:
        """Course objects by ID (the last occurrence wins)."""
        return {
            c["ID"]: c for c in self.courses if isinstance(c, dict) and isinstance(c.get("ID"), str)
        }

    @property
    def first(self) -> Page | None:
        """The first page, if any arrived."""
        return self.pages[0] if self.pages else None


def next_link(response: requests.Response) -> tuple[str | None, str | None]:
    """The ``rel="next"`` target of a response's ``Link`` header(s), and a parse problem."""
    values = [v for k, v in response.headers.items() if k.lower() == "link"]
    if not values:
        return None, None
    for link in parse_header_links(", ".join(values)):
        rels = str(link.get("rel", "")).lower().split()
        if "next" in rels:
            target = link.get("url", "")
            if not target or target.startswith(("<", ";")):
                return None, f"malformed Link header: {', '.join(values)!r}"
            return target, None
    return None, None


class Progress:
    """Prints a line to stderr at most every ``every`` seconds (long fetches stay visible)."""

    def __init__(self, enabled: bool, every: float = 5.0) -> None:
        import time

        self.enabled = enabled
        self.every = every
        self._clock = time.monotonic
        self._started = self._clock()
        self._last = self._started

    def __call__(self, text: str) -> None:
        """Print ``text`` with the elapsed time, unless a line went out less than ``every`` ago."""
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last < self.every:
            return
        self._last = now
        import sys

        print(
            f"cckit conformance: {text} ({now - self._started:.0f} s)", file=sys.stderr, flush=True
        )


def walk(
    client: VendorClient,
    url: str,
    *,
    if_modified_since: str | None = None,
    progress: Progress | None = None,
) -> Walk:
    """Fetch a course list, following ``next`` links with loop detection.

    Raises:
        conformance._http.TokenUnavailableError: No access token could be obtained.
    """
    result = Walk(if_modified_since)
    headers = {"Accept": "application/json"}
    if if_modified_since is not None:
        headers["If-Modified-Since"] = if_modified_since
    visited: set[str] = set()
    current: str | None = url
    while current is not None:
        first = not result.pages
        if current in visited:
            result.record(
                ConformanceFailure(
                    "LIST-013",
                    expected="the last page carries no next link",
                    received=f"a next link points back to an already fetched page: {current} "
                    f"(after {len(result.pages)} pages)",
                    exchange=result.pages[-1].exchange,
                )
            )
            return result
        if len(visited) >= MAX_PAGES:
            result.record(
                ConformanceFailure(
                    "LIST-013",
                    expected="the list ends (a last page without a next link)",
                    received=f"still a next link after {MAX_PAGES} pages",
                    exchange=result.pages[-1].exchange,
                )
            )
            return result
        visited.add(current)
        try:
            response = client.get(current, headers=headers)
        except requests.RequestException as exc:
            result.record(
                ConformanceFailure(
                    "LIST-001" if first else "LIST-012",
                    expected="an answer to GET " + current,
                    received=f"no answer: {exc.__class__.__name__}: {exc}",
                )
            )
            return result
        exchange = client.exchange(response)
        page = Page(current, response.status_code, exchange, None, None)
        result.pages.append(page)
        if response.status_code != 200:
            _record_status(result, client, response, exchange, first=first)
            return result
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            result.record(
                ConformanceFailure(
                    "LIST-001",
                    expected="Content-Type: application/json",
                    received=f"Content-Type: {content_type or '(none)'}",
                    exchange=exchange,
                )
            )
        try:
            body = response.json()
        except ValueError as exc:
            result.record(
                ConformanceFailure(
                    "LIST-002",
                    expected="a JSON array of course objects",
                    received=f"a body that is not JSON ({exc})",
                    exchange=exchange,
                )
            )
            return result
        if not isinstance(body, list):
            result.record(
                ConformanceFailure(
                    "LIST-002",
                    expected="a JSON array of course objects",
                    received=f"a JSON {type(body).__name__}"
                    + (f" with members {sorted(body)[:8]}" if isinstance(body, dict) else ""),
                    exchange=exchange,
                )
            )
            return result
        page.courses = body
        result.courses.extend(body)
        if progress is not None:
            what = "course list" if if_modified_since is None else "course list (delta)"
            progress(f"{what}: {len(result.pages)} page(s), {len(result.courses)} course(s)")
        target, problem = next_link(response)
        if problem:
            result.record(
                ConformanceFailure(
                    "LIST-010",
                    expected='Link: <url>; rel="next" (RFC 8288)',
                    received=problem,
                    exchange=exchange,
                )
            )
            return result
        if target is not None:
            # RFC 8288: relative targets resolve against the request URL.
            target = urljoin(response.url or current, target)
            page.next_url = target
        current = target
    result.complete = True
    return result


def _record_status(
    result: Walk,
    client: VendorClient,
    response: requests.Response,
    exchange: Exchange,
    *,
    first: bool,
) -> None:
    status = response.status_code
    if result.if_modified_since is not None and status in (204, 304):
        result.record(
            ConformanceFailure(
                "LIST-003",
                expected="200 with a JSON array ([] when nothing changed)",
                received=f"{status} to If-Modified-Since: {result.if_modified_since}",
                exchange=exchange,
            )
        )
        return
    if status in (401, 403):
        result.record(
            ConformanceFailure(
                "AUTH-015" if client.oauth2 else "AUTH-018",
                expected="the list answers a request carrying the configured credentials",
                received=f"{status} although the request carried "
                + ("a freshly issued access token" if client.oauth2 else "HTTP Basic credentials"),
                exchange=exchange,
            )
        )
    result.record(
        ConformanceFailure(
            "LIST-001" if first else "LIST-012",
            expected="200 with a JSON array"
            + ("" if first else " for the next page (same authentication and If-Modified-Since)"),
            received=f"{status} {response.reason or ''}".strip(),
            exchange=exchange,
        )
    )


@dataclass
class Download:
    """One package download (the body is kept for the zip and AICC checks)."""

    course: dict[str, Any]
    url: str
    status: int | None
    headers: CaseInsensitiveDict[str]
    body: bytes
    exchange: Exchange | None
    error: str | None = None  # transport problem while reading the body
    too_large: bool = False

    @property
    def course_id(self) -> str:
        """The course's ID."""
        return str(self.course.get("ID"))

    @property
    def ok(self) -> bool:
        """Whether a complete 200 body arrived."""
        return self.status == 200 and self.error is None and not self.too_large


def sample_courses(courses: list[Any], count: int, seed: int) -> list[dict[str, Any]]:
    """A deterministic sample of active courses that have a package URL."""
    candidates = sorted(
        (
            c
            for c in courses
            if isinstance(c, dict)
            and c.get("IsActive") is True
            and isinstance(c.get("DownloadPackageUrl"), str)
            and isinstance(c.get("ID"), str)
        ),
        key=lambda c: str(c["ID"]),
    )
    unique = list({str(c["ID"]): c for c in candidates}.values())
    if len(unique) <= count:
        return unique
    return random.Random(seed).sample(unique, count)


def download(client: VendorClient, course: dict[str, Any], *, cap: int = SIZE_CAP) -> Download:
    """Download one package, counting bytes (never trusting Content-Length)."""
    url = str(course["DownloadPackageUrl"])
    try:
        response = client.get(url, stream=True)
    except requests.RequestException as exc:
        return Download(
            course,
            url,
            None,
            CaseInsensitiveDict(),
            b"",
            None,
            error=f"{type(exc).__name__}: {exc}",
        )
    # Case-insensitive: servers differ in how they spell header names (ETag, Etag).
    headers = CaseInsensitiveDict(response.headers)
    chunks: list[bytes] = []
    size = 0
    error = None
    too_large = False
    try:
        declared = int(headers.get("Content-Length", "0") or 0)
    except ValueError:
        declared = 0
    if declared > cap:
        too_large = True
    else:
        try:
            for chunk in response.iter_content(chunk_size=1 << 16):
                chunks.append(chunk)
                size += len(chunk)
                if size > cap:
                    too_large = True
                    break
        except requests.RequestException as exc:
            error = f"{exc.__class__.__name__}: {exc}"
    response.close()
    body = b"".join(chunks)
    return Download(
        course,
        url,
        response.status_code,
        headers,
        body,
        client.exchange(response, body=body),
        error=error,
        too_large=too_large,
    )
