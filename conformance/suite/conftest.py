"""Session-scoped fixtures of the shipped suite (hypothesis refuses function-scoped ones).

Everything is fetched once per run through one recorded HTTP session; the checks judge
what was fetched. A fixture whose prerequisite failed skips with the blocking reason, and
the check of that prerequisite reports the failure itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance._catalog import OLD_IMS
from conformance._catalog import Download
from conformance._catalog import Progress
from conformance._catalog import Walk
from conformance._catalog import download
from conformance._catalog import sample_courses
from conformance._catalog import walk
from conformance._http import TokenUnavailableError
from conformance._http import VendorClient
from conformance._settings import Settings
from conformance.checks import ZipFacts
from conformance.checks import inspect_zip
from conformance.checks import modified_at
from conformance.plugin import settings_of

_SUITE_DIR = Path(__file__).parent
_NOT_CONFIGURED = (
    "cckit conformance suite not configured: pass --cc-course-list-url, --cc-auth-url, "
    "--cc-client-id and --cc-client-secret (or run `cckit conformance run`)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every shipped check, with the reason, when the suite is not configured."""
    if settings_of(config) is not None:
        return
    skip = pytest.mark.skip(reason=_NOT_CONFIGURED)
    for item in items:
        if _SUITE_DIR in Path(str(item.path)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cc_settings(request: pytest.FixtureRequest) -> Settings:
    """The run's settings."""
    settings = settings_of(request.config)
    if settings is None:
        pytest.skip(_NOT_CONFIGURED)
    return settings


@pytest.fixture(scope="session")
def client(cc_settings: Settings) -> Iterator[VendorClient]:
    """The run's single recorded HTTP session."""
    vendor = VendorClient(cc_settings)
    yield vendor
    vendor.session.close()


@pytest.fixture(scope="session")
def oauth2(cc_settings: Settings) -> None:
    """Skip checks of the token endpoint in basic mode."""
    if cc_settings.auth_mode != "oauth2":
        pytest.skip("oauth2 mode only (the vendor is checked in basic mode)")


@pytest.fixture(scope="session")
def basic_mode(cc_settings: Settings) -> None:
    """Skip checks of basic mode in oauth2 mode."""
    if cc_settings.auth_mode != "basic":
        pytest.skip("basic mode only (the vendor is checked in oauth2 mode)")


def _walk(client: VendorClient, url: str, ims: str | None = None) -> Walk:
    progress = Progress(client.settings.progress)
    try:
        return walk(client, url, if_modified_since=ims, progress=progress)
    except TokenUnavailableError as exc:
        pytest.skip(f"blocked: {exc}")


@pytest.fixture(scope="session")
def full_list(client: VendorClient, cc_settings: Settings) -> Walk:
    """The whole course list without If-Modified-Since."""
    return _walk(client, cc_settings.course_list_url)


@pytest.fixture(scope="session")
def old_delta(client: VendorClient, cc_settings: Settings, full_list: Walk) -> Walk:
    """The list with an If-Modified-Since older than any course (every change since)."""
    return _walk(client, cc_settings.course_list_url, OLD_IMS)


@pytest.fixture(scope="session")
def repeat_list(client: VendorClient, cc_settings: Settings, old_delta: Walk) -> Walk:
    """The whole course list fetched a second time (after the other list calls)."""
    return _walk(client, cc_settings.course_list_url)


@pytest.fixture(scope="session")
def courses(full_list: Walk) -> list[Any]:
    """Every course object of the full list (skips when the list could not be read)."""
    if not full_list.pages or full_list.pages[0].courses is None:
        blocking = ", ".join(sorted(full_list.failures)) or "no answer"
        pytest.skip(f"blocked: the course list could not be read ({blocking})")
    return full_list.courses


@pytest.fixture(scope="session")
def reference(courses: list[Any], old_delta: Walk) -> dict[str, dict[str, Any]]:
    """Every course known to the run (full list plus the old delta, which holds inactive
    courses that the full list may leave out), by ID."""
    known: dict[str, dict[str, Any]] = {}
    for course in [*old_delta.courses, *courses]:
        if isinstance(course, dict) and isinstance(course.get("ID"), str):
            known[course["ID"]] = course
    return known


@pytest.fixture(scope="session")
def catalog_latest(reference: dict[str, dict[str, Any]]) -> dt.datetime:
    """The latest modification instant in the catalog."""
    stamps = [m for c in reference.values() if (m := modified_at(c)) is not None]
    if not stamps:
        pytest.skip("blocked: no course carries a valid LastModifiedUTC (see COURSE-008)")
    return max(stamps)


@pytest.fixture(scope="session")
def downloads(client: VendorClient, cc_settings: Settings, courses: list[Any]) -> list[Download]:
    """The sampled packages (``--cc-max-packages``, sampled by ``--cc-seed``)."""
    sample = sample_courses(courses, cc_settings.max_packages, cc_settings.seed)
    if not sample:
        pytest.skip("no active course with a DownloadPackageUrl to download")
    progress = Progress(cc_settings.progress)
    fetched: list[Download] = []
    try:
        for course in sample:
            fetched.append(download(client, course))
            progress(f"packages: {len(fetched)} of {len(sample)} downloaded")
        return fetched
    except TokenUnavailableError as exc:
        pytest.skip(f"blocked: {exc}")


@pytest.fixture(scope="session")
def good_downloads(downloads: list[Download]) -> list[Download]:
    """The sampled packages that arrived complete with 200."""
    ok = [d for d in downloads if d.ok]
    if not ok:
        pytest.skip("blocked: no sampled package could be downloaded (see PKG-001)")
    return ok


@pytest.fixture(scope="session")
def some_downloads(request: pytest.FixtureRequest) -> list[Download]:
    """The sampled downloads, or none when they could not be fetched (never skips)."""
    try:
        value: list[Download] = request.getfixturevalue("downloads")
    except pytest.skip.Exception:
        return []
    return value


@pytest.fixture(scope="session")
def zips(good_downloads: list[Download]) -> dict[str, tuple[Download, ZipFacts]]:
    """Every complete package with the facts of its archive, by course ID."""
    return {d.course_id: (d, inspect_zip(d.body)) for d in good_downloads}
