"""LIST: the course list endpoint, paging and If-Modified-Since (contract section 2)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from conformance._catalog import Page
from conformance._catalog import Walk
from conformance._catalog import walk
from conformance._http import VendorClient
from conformance._settings import Settings
from conformance.checks import http_date
from conformance.checks import modified_at
from conformance.checks import parse_utc
from conformance.errors import ConformanceFailure

GARBAGE_IMS = "not-a-date"


def _delta(client: VendorClient, cc_settings: Settings, since: dt.datetime | str) -> Walk:
    ims = since if isinstance(since, str) else http_date(since)
    return walk(client, cc_settings.course_list_url, if_modified_since=ims)


def _by_id(courses: list[Any]) -> dict[str, Any]:
    return {c["ID"]: c for c in courses if isinstance(c, dict) and isinstance(c.get("ID"), str)}


def _ids(courses: list[Any]) -> set[str]:
    return {c["ID"] for c in courses if isinstance(c, dict) and isinstance(c.get("ID"), str)}


def _listed(ids: set[str] | list[str], limit: int = 15) -> str:
    items = sorted(ids)
    text = ", ".join(items[:limit])
    return text + (f" ... and {len(items) - limit} more" if len(items) > limit else "")


def _second(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


@pytest.mark.requirement("LIST-001")
def test_list_is_json(full_list: Walk, old_delta: Walk) -> None:
    full_list.raise_for("LIST-001")
    old_delta.raise_for("LIST-001")


@pytest.mark.requirement("LIST-002")
def test_list_is_an_array(full_list: Walk, old_delta: Walk) -> None:
    full_list.raise_for("LIST-002")
    old_delta.raise_for("LIST-002")
    for page in full_list.pages:
        bad = [i for i, c in enumerate(page.courses or []) if not isinstance(c, dict)]
        if bad:
            raise ConformanceFailure(
                "LIST-002",
                expected="an array of course objects",
                received=f"array items {bad[:10]} are not JSON objects",
                exchange=page.exchange,
            )


@pytest.fixture(scope="session")
def nothing_changed(
    client: VendorClient, cc_settings: Settings, catalog_latest: dt.datetime
) -> tuple[dt.datetime, Walk]:
    """The list asked for changes after the latest change of the catalog."""
    since = _second(catalog_latest) + dt.timedelta(seconds=1)
    return since, _delta(client, cc_settings, since)


@pytest.mark.requirement("LIST-003")
def test_nothing_changed_is_an_empty_array(nothing_changed: tuple[dt.datetime, Walk]) -> None:
    since, delta = nothing_changed
    delta.raise_for("LIST-003", "LIST-001", "LIST-002")
    # Only courses whose timestamps are all valid can be called unchanged (COURSE-008/009
    # report the others).
    stale = [
        c.get("ID")
        for c in delta.courses
        if isinstance(c, dict)
        and parse_utc(c.get("LastModifiedUTC")) is not None
        and (c.get("IsActive") is not True or parse_utc(c.get("PackageLastModifiedUTC")))
        and (m := modified_at(c)) is not None
        and m <= since
    ]
    if stale:
        raise ConformanceFailure(
            "LIST-003",
            expected=f"[] (no course changed after {http_date(since)})",
            received=f"{len(stale)} unchanged course(s): {_listed(set(map(str, stale)))}",
            exchange=delta.pages[0].exchange,
        )


@pytest.mark.requirement("LIST-004")
def test_ids_unique_across_pages(full_list: Walk, old_delta: Walk) -> None:
    for listing in (full_list, old_delta):
        seen: dict[str, int] = {}
        for number, page in enumerate(listing.pages, start=1):
            for course in page.courses or []:
                if not isinstance(course, dict) or not isinstance(course.get("ID"), str):
                    continue
                cid = course["ID"]
                if cid in seen:
                    ims = listing.if_modified_since
                    raise ConformanceFailure(
                        "LIST-004",
                        expected="every course ID once across the whole (paged) response",
                        received=f"ID {cid!r} on page {seen[cid]} and again on page {number}"
                        + (f" (If-Modified-Since: {ims})" if ims else ""),
                        exchange=page.exchange,
                    )
                seen[cid] = number


@pytest.fixture(scope="session")
def middle_delta(
    client: VendorClient, cc_settings: Settings, reference: dict[str, dict[str, Any]]
) -> tuple[dt.datetime, Walk]:
    """The list asked for changes after the median modification instant of the catalog."""
    stamps = sorted(m for c in reference.values() if (m := modified_at(c)) is not None)
    if not stamps:
        pytest.skip("blocked: no course carries a valid LastModifiedUTC (see COURSE-008)")
    since = _second(stamps[len(stamps) // 2]) - dt.timedelta(seconds=1)
    return since, _delta(client, cc_settings, since)


def _expect_changed(
    requirement: str,
    since: dt.datetime,
    delta: Walk,
    reference: dict[str, dict[str, Any]],
    *,
    inactive_only: bool = False,
) -> None:
    delta.raise_for("LIST-001", "LIST-002", "LIST-012")
    expected = {
        cid
        for cid, c in reference.items()
        if (m := modified_at(c)) is not None
        and m > since
        and (not inactive_only or c.get("IsActive") is False)
    }
    missing = expected - _ids(delta.courses)
    if missing:
        kind = "deactivated course(s)" if inactive_only else "course(s)"
        raise ConformanceFailure(
            requirement,
            expected=f"every {kind.rstrip('(s)')} changed after {http_date(since)}",
            received=f"{len(missing)} of {len(expected)} {kind} missing: {_listed(missing)}",
            exchange=delta.pages[0].exchange if delta.pages else None,
        )


@pytest.mark.requirement("LIST-005")
def test_if_modified_since_returns_every_change(
    middle_delta: tuple[dt.datetime, Walk], reference: dict[str, dict[str, Any]]
) -> None:
    since, delta = middle_delta
    _expect_changed("LIST-005", since, delta, reference)


@pytest.mark.requirement("LIST-006")
def test_if_modified_since_includes_deactivations(
    client: VendorClient, cc_settings: Settings, reference: dict[str, dict[str, Any]]
) -> None:
    inactive = [
        m for c in reference.values() if c.get("IsActive") is False and (m := modified_at(c))
    ]
    if not inactive:
        pytest.skip("the catalog has no deactivated course to look for")
    since = _second(min(inactive)) - dt.timedelta(seconds=1)
    _expect_changed(
        "LIST-006", since, _delta(client, cc_settings, since), reference, inactive_only=True
    )


@pytest.mark.requirement("LIST-007")
def test_full_list_holds_every_active_course(
    full_list: Walk, old_delta: Walk, courses: list[Any]
) -> None:
    active = {
        c["ID"]
        for c in old_delta.courses
        if isinstance(c, dict) and c.get("IsActive") is True and isinstance(c.get("ID"), str)
    }
    missing = active - _ids(courses)
    if missing:
        raise ConformanceFailure(
            "LIST-007",
            expected="the list without If-Modified-Since holds every active course",
            received=f"{len(missing)} active course(s) of the If-Modified-Since: "
            f"{old_delta.if_modified_since} list are missing: {_listed(missing)}",
            exchange=full_list.pages[0].exchange,
        )


@pytest.mark.requirement("LIST-008")
def test_unparseable_if_modified_since_is_ignored(
    client: VendorClient, cc_settings: Settings, courses: list[Any]
) -> None:
    delta = _delta(client, cc_settings, GARBAGE_IMS)
    delta.raise_for("LIST-001", "LIST-002", "LIST-003")
    active = {c["ID"] for c in courses if isinstance(c, dict) and c.get("IsActive") is True}
    missing = active - _ids(delta.courses)
    if missing:
        raise ConformanceFailure(
            "LIST-008",
            expected=f"If-Modified-Since: {GARBAGE_IMS} treated as absent (every active course)",
            received=f"{len(missing)} active course(s) missing: {_listed(missing)}",
            exchange=delta.pages[0].exchange if delta.pages else None,
        )


@pytest.mark.requirement("LIST-010")
def test_next_links_are_well_formed(full_list: Walk, old_delta: Walk) -> None:
    full_list.raise_for("LIST-010")
    old_delta.raise_for("LIST-010")


@pytest.mark.requirement("LIST-011", "LIST-012")
def test_next_pages_are_served(full_list: Walk, old_delta: Walk) -> None:
    if len(full_list.pages) < 2 and len(old_delta.pages) < 2:
        pytest.skip("the list fits in one page: paging not exercised")
    full_list.raise_for("LIST-012")
    old_delta.raise_for("LIST-012")


@pytest.mark.requirement("LIST-013")
def test_last_page_has_no_next_link(full_list: Walk, old_delta: Walk) -> None:
    full_list.raise_for("LIST-013")
    old_delta.raise_for("LIST-013")


def _canonical(course: Any) -> str:
    # Signed download or thumbnail URLs may carry a fresh signature on every answer; the
    # rule is about vendor state, so their query strings are left out of the comparison.
    if isinstance(course, dict):
        course = {
            k: (
                v.split("?", 1)[0]
                if k in ("DownloadPackageUrl", "Thumbnail") and isinstance(v, str)
                else v
            )
            for k, v in course.items()
        }
    return json.dumps(course, sort_keys=True)


def _differences(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    missing = set(first) - set(second)
    added = set(second) - set(first)
    changed = {
        cid for cid in set(first) & set(second) if _canonical(first[cid]) != _canonical(second[cid])
    }
    parts = []
    if missing:
        parts.append(f"{len(missing)} course(s) gone: {_listed(missing)}")
    if added:
        parts.append(f"{len(added)} course(s) new: {_listed(added)}")
    if changed:
        parts.append(f"{len(changed)} course(s) changed: {_listed(changed)}")
    return parts


#: Pages of the full list fetched a second time, each on its own (LIST-014).
REPEATED_PAGES = 20


@pytest.mark.requirement("LIST-014")
@pytest.mark.parametrize("kind", ["plain", "If-Modified-Since", "each page"])
def test_list_get_is_repeatable(
    kind: str,
    client: VendorClient,
    cc_settings: Settings,
    full_list: Walk,
    old_delta: Walk,
    repeat_list: Walk,
    courses: list[Any],
) -> None:
    # Every kind of list request is repeated and compared: the plain list, a delta with
    # If-Modified-Since, and each page's own URL (a debug request must consume nothing).
    pairs: list[tuple[dict[str, Any], dict[str, Any], Page | None]] = []
    if kind == "plain":
        repeat_list.raise_for("LIST-001", "LIST-002")
        pairs = [(full_list.by_id(), repeat_list.by_id(), repeat_list.first)]
    elif kind == "If-Modified-Since":
        again = walk(
            client, cc_settings.course_list_url, if_modified_since=old_delta.if_modified_since
        )
        again.raise_for("LIST-001", "LIST-002")
        pairs = [(old_delta.by_id(), again.by_id(), again.first)]
    else:
        if len(full_list.pages) < 2:
            pytest.skip("the list fits in one page: no page URL to repeat")
        for page in full_list.pages[:REPEATED_PAGES]:
            response = client.get(page.url, headers={"Accept": "application/json"})
            exchange = client.exchange(response)
            try:
                body = response.json() if response.status_code == 200 else None
            except ValueError:
                body = None
            again_page = Page(page.url, response.status_code, exchange, body, None)
            pairs.append((_by_id(page.courses or []), _by_id(body or []), again_page))
    for first, second, shown in pairs:
        parts = _differences(first, second)
        if parts:
            raise ConformanceFailure(
                "LIST-014",
                expected=f"the same answer to a repeated GET ({kind}) while the catalog is "
                "unchanged",
                received="second GET differs: " + "; ".join(parts),
                exchange=shown.exchange if shown is not None else None,
            )
