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

import datetime as dt
import email.utils
import re
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urljoin

import requests
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from connector.errors import AuthenticationError
from connector.errors import VendorError

__all__ = [
    "CourseRecord",
    "Page",
    "VendorClient",
    "course_validator",
    "http_date",
    "validate_course",
]

#: Hard stop for a runaway pager that invents new URLs forever.
MAX_PAGES = 100_000
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


def _allowed_package_url(url: str) -> bool:
    import schemas

    return schemas.is_allowed_package_url(url)


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
    validator = validator or course_validator()
    vendor_id = obj.get("ID") if isinstance(obj, dict) else None
    if not isinstance(vendor_id, str) or not vendor_id:
        vendor_id = None
    if validator.is_valid(obj):  # fast path: error objects are built only when needed
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
    """Reads one vendor's course list with an authenticated session.

    Args:
        session: the run's session (auth, retries and timeouts already set).
        course_list_url: the integration's Provider URL.
        validator: course validator (default: the contract's schema).
    """

    def __init__(
        self,
        session: requests.Session,
        course_list_url: str,
        *,
        validator: Validator | None = None,
    ) -> None:
        self.session = session
        self.course_list_url = course_list_url
        self._validator = validator
        #: Pages fetched by the last :meth:`iter_pages`.
        self.pages = 0

    def __repr__(self) -> str:
        return f"VendorClient({self.course_list_url!r})"

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET ``url``; connection failures and rejected credentials become errors.

        Raises:
            VendorError: no response (connection refused, timeout, retries exhausted).
            AuthenticationError: the vendor answered ``401`` or ``403``.
        """
        try:
            response = self.session.get(url, **kwargs)
        except AuthenticationError:
            raise
        except requests.RequestException as exc:
            raise VendorError(url, None, f"request failed: {_exc_summary(exc)}") from None
        if response.status_code in (401, 403):
            response.close()
            raise AuthenticationError(
                url, response.status_code, "the vendor rejected the credentials"
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
            VendorError: a page is not ``200`` with a JSON array, or the next links loop.
            AuthenticationError: the credentials were rejected.
        """
        validator = self._validator or course_validator()
        headers = {"Accept": "application/json"}
        if if_modified_since is not None:
            headers["If-Modified-Since"] = http_date(if_modified_since)
        seen_urls: set[str] = set()
        seen_ids: dict[str, int] = {}
        url: str | None = self.course_list_url
        self.pages = 0
        while url is not None:
            if url in seen_urls:
                raise VendorError(
                    url, None, "paging loop: the next link points to a page already fetched"
                )
            if len(seen_urls) >= MAX_PAGES:
                raise VendorError(url, None, f"more than {MAX_PAGES} pages; giving up")
            seen_urls.add(url)
            response = self.get(url, headers=headers)
            with response:
                body = self._parse(url, response)
                next_url = _next_link(response)
            self.pages += 1
            page = Page(url=url, number=self.pages)
            for obj in body:
                record = validate_course(obj, validator)
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
                page.records.append(record)
            yield page
            url = urljoin(url, next_url) if next_url else None

    @staticmethod
    def _parse(url: str, response: requests.Response) -> list[Any]:
        status = response.status_code
        if status != 200:
            raise VendorError(url, status, f"course list answered {status} {response.reason}")
        try:
            body = response.json()
        except ValueError:
            raise VendorError(url, status, "course list body is not JSON") from None
        if not isinstance(body, list):
            raise VendorError(
                url, status, f"course list body is a JSON {type(body).__name__}, not an array"
            )
        return body


def _next_link(response: requests.Response) -> str | None:
    link = response.links.get("next")
    target = link.get("url") if link else None
    return target or None


def _exc_summary(exc: BaseException) -> str:
    text = str(exc)
    # urllib3 errors repeat the whole pool repr; the class name and a short tail suffice.
    return f"{type(exc).__name__}: {text[-200:]}" if text else type(exc).__name__
