"""Reading a vendor's course list (contract section 2), page by page.

:class:`VendorClient` follows ``Link: rel="next"`` (RFC 8288, relative URLs resolved
against the request URL), stops on a paging loop, and checks every page: ``200``, a JSON
array, and each course object against the contract's JSON Schema plus the loopback rule
for ``DownloadPackageUrl``. A bad course object does not stop the run: it comes back as a
:class:`CourseRecord` with ``error`` set (JSON path and message) so that the sync can
fail that one course and go on. Page-level problems raise
:class:`connector.errors.VendorError` naming the URL.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import email.utils
import functools
import json
import logging
import re
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urljoin

import orjson
import requests
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from connector.errors import AuthenticationError
from connector.errors import VendorError
from connector.http import VendorSession
from connector.http import safe_url
from connector.limits import Limits

__all__ = [
    "CourseRecord",
    "Page",
    "VendorClient",
    "course_validator",
    "http_date",
    "validate_course",
]

log = logging.getLogger(__name__)

_SPACE = re.compile(r"\s")
_REQUIRED = re.compile(r"^'([^']+)' is a required property")
#: Course member -> requirement ID of the rule it breaks (contract section 3).
_RULE_OF_FIELD: dict[str, str] = {
    "ID": "COURSE-002",
    "Title": "COURSE-004",
    "Description": "COURSE-005",
    "CourseType": "COURSE-006",
    "IsActive": "COURSE-007",
    "LastModifiedUTC": "COURSE-008",
    "PackageLastModifiedUTC": "COURSE-009",
    "DownloadPackageUrl": "COURSE-010",
    "Languages": "COURSE-011",
    "Duration": "COURSE-012",
    "Thumbnail": "COURSE-013",
    "Subjects": "COURSE-014",
    "Keywords": "COURSE-015",
    "Version": "COURSE-016",
    "Localization": "COURSE-017",
}


@dataclass(frozen=True)
class CourseRecord:
    """One entry of a course list page.

    Attributes:
        vendor_id: the course ``ID`` when it could be read (even from a bad object).
        data: the course object when it is valid, else ``None``.
        error: why the object was rejected (``$.Path: message``), else ``None``.
        rule_ids: requirement IDs the object breaks.
    """

    vendor_id: str | None
    data: Mapping[str, Any] | None
    error: str | None = None
    rule_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the course object is valid."""
        return self.error is None


@dataclass
class Page:
    """One fetched course list page.

    Attributes:
        url: the URL the page was fetched from.
        number: 1 for the first page.
        records: the page's entries, in order.
    """

    url: str
    number: int
    records: list[CourseRecord] = field(default_factory=list)


def http_date(when: dt.datetime) -> str:
    """Format an aware datetime as an RFC 9110 HTTP-date (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    if when.tzinfo is None:
        raise ValueError("naive datetime; attach a time zone")
    return email.utils.format_datetime(when.astimezone(dt.UTC).replace(microsecond=0), usegmt=True)


def course_validator() -> Validator:
    """Return the contract's course validator (``schemas.validator("course")``)."""
    import schemas

    return schemas.validator("course")


@functools.cache
def _fast_course_check() -> Callable[[Any], bool] | None:
    """A compiled ``is_valid`` for the course schema, when ``jsonschema_rs`` is installed.

    The pure-Python validator costs about half a millisecond per course, which dominates
    a 50,000-course first sync. The compiled one is only trusted to say "valid": any
    object it rejects is checked again by the reference validator, which also writes the
    messages, so a disagreement can only cost time, never a false failure.
    """
    try:
        import jsonschema_rs
    except ImportError:  # optional accelerator
        return None
    import schemas

    try:
        check = jsonschema_rs.validator_for(schemas.load("course"), validate_formats=True)
    except Exception:  # an unsupported schema feature: use the reference validator only
        log.debug("jsonschema_rs cannot compile the course schema; not using it")
        return None
    is_valid: Callable[[Any], bool] = check.is_valid
    return is_valid


@functools.lru_cache(maxsize=256)
def _allowed_origin(origin: str) -> bool:
    import schemas

    return schemas.is_allowed_package_url(origin)


def _allowed_package_url(url: str) -> bool:
    """``schemas.is_allowed_package_url``, cached per scheme and host (one per vendor)."""
    if _SPACE.search(url):
        return False
    # Only the scheme and authority decide; the path differs for every course.
    origin = "/".join(url.split("/", 3)[:3]) + "/"
    return _allowed_origin(origin)


def _describe(error: ValidationError) -> tuple[str, str | None]:
    """``($.Path: message, rule ID)`` for one schema error, without echoing huge values."""
    path = error.json_path
    message = error.message
    member: str | None = None
    if error.validator == "required":
        match = _REQUIRED.match(message)
        if match:
            member = match.group(1)
            path = f"{path}.{member}" if path != "$" else f"$.{member}"
            message = "required member is missing"
    if member is None:
        first = next((p for p in error.absolute_path if isinstance(p, str)), None)
        member = first if isinstance(first, str) else None
    if len(message) > 200:
        message = message[:200] + "..."
    rule = _RULE_OF_FIELD.get(member or "") if error.absolute_path or member else "COURSE-001"
    return f"{path}: {message}", rule


def validate_course(obj: Any, validator: Validator | None = None) -> CourseRecord:
    """Check one course object of a list.

    Args:
        obj: the parsed JSON value.
        validator: the course validator (default :func:`course_validator`).

    Returns:
        A valid record (``data`` set) or a failed one (``error`` and ``rule_ids`` set).
    """
    fast = _fast_course_check() if validator is None else None
    validator = validator or course_validator()
    vendor_id = obj.get("ID") if isinstance(obj, dict) else None
    if not isinstance(vendor_id, str) or not vendor_id:
        vendor_id = None
    # Error objects are only built for a course that fails the cheap checks.
    if (fast is not None and fast(obj)) or validator.is_valid(obj):
        url = obj.get("DownloadPackageUrl")
        if isinstance(url, str) and not _allowed_package_url(url):
            return CourseRecord(
                vendor_id,
                None,
                "$.DownloadPackageUrl: not an absolute https URL (http only on loopback)",
                ("COURSE-010",),
            )
        return CourseRecord(vendor_id, obj)
    errors = sorted(validator.iter_errors(obj), key=lambda e: (list(e.absolute_path), e.message))
    reasons: list[str] = []
    rules: list[str] = []
    for error in errors[:5]:
        reason, rule = _describe(error)
        reasons.append(reason)
        if rule and rule not in rules:
            rules.append(rule)
    if len(errors) > 5:
        reasons.append(f"... and {len(errors) - 5} more")
    return CourseRecord(vendor_id, None, "; ".join(reasons), tuple(rules))


class VendorClient:
    """Reads one vendor's course list with the run's session.

    Args:
        session: the run's :class:`connector.http.VendorSession` (auth set); it is bound
            to ``course_list_url`` when it was made without a Provider URL.
        course_list_url: the integration's Provider URL.
        validator: course validator (default: the contract's schema).
    """

    def __init__(
        self,
        session: VendorSession,
        course_list_url: str,
        *,
        validator: Validator | None = None,
    ) -> None:
        session.bind(course_list_url)
        self.session = session
        self.limits = session.limits
        self.course_list_url = course_list_url
        self._validator = validator
        #: Pages fetched by the last :meth:`iter_pages`.
        self.pages = 0

    def __repr__(self) -> str:
        return f"VendorClient({self.course_list_url!r})"

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> requests.Response:
        """GET one list page (retried, body capped at ``max_page_bytes``).

        Raises:
            VendorError: no usable answer (refused URL, connection failure, a limit).
            AuthenticationError: the vendor answered ``401`` or ``403``.
        """
        response = self.session.fetch(
            "GET", url, purpose="list", headers=headers,
            cap=self.limits.max_page_bytes, limit="max_page_bytes",
        )  # fmt: skip
        if response.status_code in (401, 403):
            raise AuthenticationError(
                safe_url(url), response.status_code, "the vendor rejected the credentials"
            )
        return response

    def iter_pages(self, if_modified_since: dt.datetime | None = None) -> Iterator[Page]:
        """Yield the course list page by page.

        Args:
            if_modified_since: sent as ``If-Modified-Since`` on every page when given.

        Yields:
            Each page with its checked records. A course ``ID`` already seen on an
            earlier page (or earlier on the same page) comes back as a failed record
            (LIST-004); the first occurrence stands.

        Raises:
            VendorError: a page is not ``200`` with a JSON array, the next links loop,
                leave the Provider URL's origin, or pass ``max_pages`` or
                ``max_pages_without_new_course``; a request failed or hit a limit.
            AuthenticationError: the credentials were rejected.
        """
        headers = {"Accept": "application/json"}
        if if_modified_since is not None:
            headers["If-Modified-Since"] = http_date(if_modified_since)
        seen_ids: dict[str, int] = {}
        url = self.course_list_url
        seen_urls = {url}
        self.pages = 0
        idle = 0  # consecutive pages without a course not seen before
        # The next page is fetched (and its JSON parsed) in the background while this one
        # is checked and applied, so the vendor's response time overlaps our work.
        with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="cckit-list") as pool:
            ahead: cf.Future[tuple[list[Any], str | None, int]] | None = pool.submit(
                self._fetch, url, headers
            )
            while ahead is not None:
                body, next_url, size = ahead.result()
                ahead = None
                self.pages += 1
                check_size = size > self.limits.max_course_bytes
                page, added = self._page(url, self.pages, body, seen_ids, check_size)
                idle = 0 if added else idle + 1
                problem = self._next_problem(next_url, seen_urls, idle)
                if next_url is not None and problem is None:
                    seen_urls.add(next_url)
                    ahead = pool.submit(self._fetch, next_url, headers)
                yield page
                if problem is not None:
                    raise problem
                url = next_url or url

    def _next_problem(
        self, next_url: str | None, seen_urls: set[str], idle: int
    ) -> VendorError | None:
        """Why the walk must stop before ``next_url`` (``None``: fetch it)."""
        if next_url is None:
            return None
        limits = self.limits
        shown = safe_url(next_url)
        if next_url in seen_urls:
            return VendorError(
                shown, None, "paging loop: the next link points to a page already fetched"
            )
        if len(seen_urls) >= limits.max_pages:
            return LimitExceededError(
                shown, f"more than {limits.max_pages} pages (limit max_pages={limits.max_pages})"
            )
        if idle >= limits.max_pages_without_new_course:
            return LimitExceededError(
                shown,
                f"{idle} pages in a row added no new course (limit "
                f"max_pages_without_new_course={limits.max_pages_without_new_course})",
            )
        try:
            self.session.credentials_for(next_url, "list")
        except VendorError as exc:
            return exc
        return None

    def _fetch(self, url: str, headers: Mapping[str, str]) -> tuple[list[Any], str | None, int]:
        """GET one page: its parsed body, the absolute URL of the next page, its size."""
        response = self.get(url, headers=dict(headers))
        body = self._parse(url, response)
        next_url = _next_link(response)
        absolute = urljoin(url, next_url).split("#", 1)[0] if next_url else None
        return body, absolute, len(response.content)

    def _page(
        self,
        url: str,
        number: int,
        body: list[Any],
        seen_ids: dict[str, int],
        check_size: bool = True,
    ) -> tuple[Page, int]:
        """Check every course object of a page (IDs are unique across the whole walk).

        Returns:
            The page and how many of its course IDs were new to this walk.
        """
        page = Page(url=url, number=number)
        added = 0
        for obj in body:
            record = self._bounded(obj, check_size) or validate_course(obj, self._validator)
            vendor_id = record.vendor_id
            if vendor_id is not None:
                first = seen_ids.get(vendor_id)
                if first is not None:
                    where = "this page" if first == page.number else f"page {first}"
                    record = CourseRecord(
                        vendor_id,
                        None,
                        f"$.ID: {vendor_id!r} repeated (first on {where})",
                        ("LIST-004",),
                    )
                else:
                    seen_ids[vendor_id] = page.number
                    added += 1
            page.records.append(record)
        return page, added

    def _bounded(self, obj: Any, check_size: bool) -> CourseRecord | None:
        """A failed record when ``obj`` passes ``max_json_depth`` or ``max_course_bytes``."""
        if isinstance(obj, _Oversized):
            return CourseRecord(None, None, obj.reason)
        limits = self.limits
        vendor_id = _short_id(obj)
        if _deeper_than(obj, limits.max_json_depth):
            return CourseRecord(
                vendor_id, None,
                f"$: course object nested deeper than {limits.max_json_depth} levels "
                f"(limit max_json_depth={limits.max_json_depth})",
            )  # fmt: skip
        if check_size:
            size = _json_size(obj)
            if size > limits.max_course_bytes:
                return CourseRecord(
                    vendor_id, None,
                    f"$: course object of {size} bytes (limit "
                    f"max_course_bytes={limits.max_course_bytes})",
                )  # fmt: skip
        return None

    def _parse(self, url: str, response: requests.Response) -> list[Any]:
        status = response.status_code
        shown = safe_url(url)
        if status != 200:
            raise VendorError(shown, status, f"course list answered {status} {response.reason}")
        raw = response.content
        try:
            body = json.loads(raw)
        except RecursionError:
            # Nested past the interpreter's limit: split the array without recursion,
            # refuse the deep objects, keep the others.
            body = split_array(raw, self.limits)
            if body is None:
                raise VendorError(shown, status, "course list body is not a JSON array") from None
        except ValueError:
            raise VendorError(shown, status, "course list body is not JSON") from None
        if not isinstance(body, list):
            raise VendorError(
                shown, status, f"course list body is a JSON {type(body).__name__}, not an array"
            )
        return body


class LimitExceededError(VendorError):
    """The list walk passed a paging limit (the message names it)."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(url, None, message)


class _Oversized:
    """Stands for a course object refused while splitting a too-deep page."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _short_id(obj: Any) -> str | None:
    vendor_id = obj.get("ID") if isinstance(obj, dict) else None
    return vendor_id if isinstance(vendor_id, str) and 0 < len(vendor_id) <= 50 else None


def _deeper_than(value: Any, limit: int) -> bool:
    """Tell whether ``value`` nests more than ``limit`` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def _json_size(obj: Any) -> int:
    try:
        return len(orjson.dumps(obj))
    except TypeError:  # an integer past 64 bits: the standard library's way
        return len(json.dumps(obj, ensure_ascii=False).encode())


_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},]')


def split_array(raw: bytes, limits: Limits) -> list[Any] | None:
    """Parse a JSON array whose elements may nest too deep for :func:`json.loads`.

    Elements nested more than ``max_json_depth`` levels or over ``max_course_bytes`` are
    returned as :class:`_Oversized` markers (never parsed); the others are parsed.
    Returns ``None`` when ``raw`` is not an array.
    """
    text = raw.lstrip()
    if not text.startswith(b"["):
        return None
    items: list[Any] = []
    depth = 0
    deepest = 0
    start = 1
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
        if (token == b"," and depth == 1) or depth == 0:
            element = text[start : match.start()]
            start = match.end()
            if element.strip():
                items.append(_element(element, deepest - 1, limits))
            deepest = depth
            if depth == 0:
                return items
    return None


def _element(element: bytes, depth: int, limits: Limits) -> Any:
    if depth > limits.max_json_depth:
        return _Oversized(
            f"$: course object nested {depth} levels deep "
            f"(limit max_json_depth={limits.max_json_depth})"
        )
    if len(element) > limits.max_course_bytes:
        return _Oversized(
            f"$: course object of {len(element)} bytes "
            f"(limit max_course_bytes={limits.max_course_bytes})"
        )
    try:
        return json.loads(element)
    except ValueError:
        return _Oversized("$: course object is not valid JSON")


def _next_link(response: requests.Response) -> str | None:
    link = response.links.get("next")
    target = link.get("url") if link else None
    return target or None
