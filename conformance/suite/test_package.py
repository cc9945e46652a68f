"""PKG: package downloads and the zip archive (contract section 4).

Checks a deterministic sample of packages (``--cc-max-packages``, ``--cc-seed``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance._catalog import Download
from conformance._catalog import Walk
from conformance._catalog import download
from conformance._http import VendorClient
from conformance._http import basic_header
from conformance._settings import Settings
from conformance.checks import AICC_REQUIRED
from conformance.checks import SIZE_CAP
from conformance.checks import ZipFacts
from conformance.errors import ConformanceFailure

#: How many packages the HEAD, Range, credential and stability probes use.
PROBED = 3


def _fail_each(
    requirement: str,
    items: list[Download],
    expected: str,
    problem: Callable[[Download], str | None],
) -> None:
    found = [(d, text) for d in items if (text := problem(d))]
    if found:
        listed = [f"course {d.course_id!r}: {text}" for d, text in found[:15]]
        if len(found) > 15:
            listed.append(f"... and {len(found) - 15} more")
        raise ConformanceFailure(
            requirement,
            expected=expected,
            received=f"{len(found)} of {len(items)} sampled package(s):\n" + "\n".join(listed),
            exchange=found[0][0].exchange,
        )


def _valid_zips(zips: dict[str, tuple[Download, ZipFacts]]) -> list[tuple[Download, ZipFacts]]:
    valid = [(d, z) for d, z in zips.values() if z.error is None]
    if not valid:
        pytest.skip("blocked: no sampled package is a valid zip (see PKG-009)")
    return valid


@pytest.mark.requirement("PKG-001")
def test_package_download(downloads: list[Download]) -> None:
    def problem(d: Download) -> str | None:
        if d.status is None:
            return f"no answer ({d.error})"
        if d.status != 200:
            return f"status {d.status}"
        return None

    _fail_each("PKG-001", downloads, "200 to GET DownloadPackageUrl", problem)


@pytest.mark.requirement("PKG-002")
def test_package_content_type(downloads: list[Download]) -> None:
    def problem(d: Download) -> str | None:
        if d.status != 200:
            return None
        value = d.headers.get("Content-Type", "")
        return (
            None
            if value.split(";")[0].strip().lower() == "application/zip"
            else f"Content-Type {value or '(none)'!r}"
        )

    _fail_each("PKG-002", downloads, "Content-Type: application/zip", problem)


@pytest.mark.requirement("PKG-003")
def test_package_content_length(downloads: list[Download]) -> None:
    def problem(d: Download) -> str | None:
        if d.status != 200 or d.too_large:
            return None
        declared = d.headers.get("Content-Length")
        if declared is None:
            return "no Content-Length"
        if d.headers.get("Content-Encoding", "identity").lower() != "identity":
            return None  # the decoded body cannot be compared with the wire length
        if d.error is not None:
            return f"Content-Length {declared} but the connection ended after {len(d.body)} bytes"
        if declared.strip() != str(len(d.body)):
            return f"Content-Length {declared} but {len(d.body)} bytes received"
        return None

    _fail_each("PKG-003", downloads, "a Content-Length equal to the bytes received", problem)


@pytest.mark.requirement("PKG-004")
def test_package_requires_credentials(
    client: VendorClient, cc_settings: Settings, downloads: list[Download]
) -> None:
    wrong = (
        {"Authorization": "Bearer cckit-conformance-invalid-token"}
        if cc_settings.auth_mode == "oauth2"
        else {
            "Authorization": basic_header(cc_settings.client_id, "cckit-conformance-wrong-secret")
        }
    )
    same_origin = [d for d in downloads if client.same_origin(d.url)]
    if not same_origin:
        pytest.skip("every sampled package is on another origin (signed URLs, PKG-019)")
    for item in same_origin[:PROBED]:
        for headers, what in (({}, "no credentials"), (wrong, "wrong credentials")):
            response = client.send("GET", item.url, headers=headers, stream=True)
            response.close()
            if response.status_code != 401:
                raise ConformanceFailure(
                    "PKG-004",
                    expected=f"401 to a package request with {what}",
                    received=f"{response.status_code} for course {item.course_id!r}",
                    exchange=client.exchange(response, body=b""),
                )


def _other_origin(client: VendorClient, downloads: list[Download]) -> list[Download]:
    other = [d for d in downloads if not client.same_origin(d.url)]
    if not other:
        pytest.skip("not applicable: every sampled package is on the Provider URL's origin")
    return other


@pytest.mark.requirement("PKG-019")
def test_other_origin_packages_need_no_credentials(
    client: VendorClient, cc_settings: Settings, downloads: list[Download]
) -> None:
    """A package on another origin downloads without the LMS's credentials, while the
    course list still refuses a request without them."""
    for item in _other_origin(client, downloads)[:PROBED]:
        response = client.send("GET", item.url, stream=True)
        response.close()
        if response.status_code != 200:
            raise ConformanceFailure(
                "PKG-019",
                expected="200 to a package URL on another origin, sent without credentials "
                "(a signed URL)",
                received=f"{response.status_code} for course {item.course_id!r}",
                exchange=client.exchange(response, body=b""),
            )
    response = client.send("GET", cc_settings.course_list_url, stream=True)
    response.close()
    if response.status_code != 401:
        raise ConformanceFailure(
            "PKG-019",
            expected="the course list still answers 401 to a request without credentials",
            received=f"{response.status_code}",
            exchange=client.exchange(response, body=b""),
        )


def _altered(url: str) -> str:
    """``url`` with the last character of its query changed (a forged signature)."""
    base, sep, query = url.partition("?")
    if not sep or not query:
        return url
    last = query[-1]
    return f"{base}?{query[:-1]}{'B' if last == 'A' else 'A'}"


@pytest.mark.requirement("PKG-020")
def test_other_origin_urls_are_signed(client: VendorClient, downloads: list[Download]) -> None:
    """A package URL on another origin is signed: altered, it is refused."""
    for item in _other_origin(client, downloads)[:PROBED]:
        forged = _altered(item.url)
        if forged == item.url:
            raise ConformanceFailure(
                "PKG-020",
                expected="a signed package URL (a signature and expiry in its query)",
                received=f"no query string in {item.url!r}",
                exchange=item.exchange,
            )
        response = client.send("GET", forged, stream=True)
        response.close()
        if response.status_code < 400:
            raise ConformanceFailure(
                "PKG-020",
                expected="a 4xx answer to the package URL with its signature altered",
                received=f"{response.status_code} for course {item.course_id!r}",
                exchange=client.exchange(response, body=b""),
            )


@pytest.mark.requirement("PKG-005")
def test_package_etag(good_downloads: list[Download]) -> None:
    _fail_each(
        "PKG-005",
        good_downloads,
        "an ETag header",
        lambda d: None if d.headers.get("ETag") else "no ETag",
    )


@pytest.mark.requirement("PKG-006")
def test_package_last_modified(good_downloads: list[Download]) -> None:
    _fail_each(
        "PKG-006",
        good_downloads,
        "a Last-Modified header",
        lambda d: None if d.headers.get("Last-Modified") else "no Last-Modified",
    )


@pytest.mark.requirement("PKG-007")
def test_package_head(client: VendorClient, good_downloads: list[Download]) -> None:
    for item in good_downloads[:PROBED]:
        response = client.get(item.url, method="HEAD")
        problems = []
        if response.status_code != 200:
            problems.append(f"status {response.status_code}")
        else:
            for name in ("Content-Type", "Content-Length"):
                if name in item.headers and response.headers.get(name) != item.headers[name]:
                    problems.append(
                        f"{name} {response.headers.get(name)!r} (GET said {item.headers[name]!r})"
                    )
        if problems:
            raise ConformanceFailure(
                "PKG-007",
                expected="HEAD answered like GET without a body",
                received=f"course {item.course_id!r}: " + "; ".join(problems),
                exchange=client.exchange(response),
            )


@pytest.mark.requirement("PKG-008")
def test_package_range(client: VendorClient, good_downloads: list[Download]) -> None:
    item = good_downloads[0]
    total = len(item.body)
    if total < 2:
        pytest.skip("the sampled package is too small for a range request")
    end = min(9, total - 1)
    response = client.get(item.url, headers={"Range": f"bytes=0-{end}"})
    content_range = response.headers.get("Content-Range", "")
    if (
        response.status_code != 206
        or content_range.replace(" ", "") != f"bytes0-{end}/{total}"
        or response.content != item.body[: end + 1]
    ):
        raise ConformanceFailure(
            "PKG-008",
            expected=f"206 with Content-Range: bytes 0-{end}/{total} and those bytes",
            received=f"{response.status_code}, Content-Range {content_range or '(none)'!r}, "
            f"{len(response.content)} bytes",
            exchange=client.exchange(response),
        )
    response = client.get(item.url, headers={"Range": f"bytes={total + 100}-"})
    if response.status_code != 416:
        raise ConformanceFailure(
            "PKG-008",
            expected="416 to an unsatisfiable Range",
            received=str(response.status_code),
            exchange=client.exchange(response),
        )


@pytest.mark.requirement("PKG-009")
def test_package_is_a_zip(zips: dict[str, tuple[Download, ZipFacts]]) -> None:
    items = [d for d, _ in zips.values()]
    facts = {cid: z for cid, (_, z) in zips.items()}
    _fail_each("PKG-009", items, "a valid zip archive", lambda d: facts[d.course_id].error)


def _file_set(z: ZipFacts) -> list[tuple[str, str, frozenset[str]]]:
    return [s for s in z.file_sets if set(AICC_REQUIRED) <= s[2]]


@pytest.mark.requirement("PKG-010")
def test_package_holds_one_aicc_file_set(zips: dict[str, tuple[Download, ZipFacts]]) -> None:
    valid = _valid_zips(zips)
    facts = {d.course_id: z for d, z in valid}

    def problem(d: Download) -> str | None:
        complete = _file_set(facts[d.course_id])
        if len(complete) == 1:
            return None
        if not complete:
            partial = ", ".join(
                f"{(f + '/') if f else ''}{b}: {' '.join(sorted(e))}"
                for f, b, e in facts[d.course_id].file_sets
            )
            return "no complete .crs/.au/.des/.cst set" + (f" (found {partial})" if partial else "")
        return f"{len(complete)} complete file sets: " + ", ".join(
            f"{f}/{b}" for f, b, _ in complete
        )

    _fail_each("PKG-010", [d for d, _ in valid], "exactly one AICC course file set", problem)


@pytest.mark.requirement("PKG-011")
def test_package_file_set_location(zips: dict[str, tuple[Download, ZipFacts]]) -> None:
    valid = _valid_zips(zips)
    facts = {d.course_id: z for d, z in valid}

    def problem(d: Download) -> str | None:
        complete = _file_set(facts[d.course_id])
        if len(complete) != 1:
            return None  # PKG-010
        folder = complete[0][0]
        return None if folder.count("/") == 0 else f"file set inside {folder!r} (nested too deep)"

    _fail_each(
        "PKG-011",
        [d for d, _ in valid],
        "the file set at the root or in one top-level folder",
        problem,
    )


def _entry_rule(
    requirement: str, attribute: str, expected: str
) -> Callable[[dict[str, tuple[Download, ZipFacts]]], None]:
    @pytest.mark.requirement(requirement)
    def check(zips: dict[str, tuple[Download, ZipFacts]]) -> None:
        items = [d for d, z in zips.values()]
        facts = {cid: z for cid, (_, z) in zips.items()}

        def problem(d: Download) -> str | None:
            names: tuple[str, ...] = getattr(facts[d.course_id], attribute)
            return f"entries {list(names[:5])}" if names else None

        _fail_each(requirement, items, expected, problem)

    return check


test_no_absolute_entries = _entry_rule("PKG-012", "absolute", "no absolute entry path")
test_no_dotdot_entries = _entry_rule("PKG-013", "dotdot", "no entry path with a .. segment")
test_no_link_entries = _entry_rule("PKG-014", "links", "no (symbolic) link entry")
test_no_encrypted_entries = _entry_rule("PKG-015", "encrypted", "no encrypted entry")


@pytest.mark.requirement("PKG-016")
def test_package_size_cap(downloads: list[Download]) -> None:
    _fail_each(
        "PKG-016",
        downloads,
        f"at most {SIZE_CAP} bytes",
        lambda d: f"more than {SIZE_CAP} bytes" if d.too_large else None,
    )


@pytest.fixture(scope="session")
def redownloads(
    client: VendorClient, good_downloads: list[Download]
) -> list[tuple[Download, Download]]:
    """The first probed packages downloaded a second time."""
    return [(d, download(client, d.course)) for d in good_downloads[:PROBED]]


def _plm(listing: Walk, course_id: str) -> Any:
    return listing.by_id().get(course_id, {}).get("PackageLastModifiedUTC")


@pytest.mark.requirement("PKG-017")
def test_changed_bytes_move_package_timestamp(
    redownloads: list[tuple[Download, Download]], full_list: Walk, repeat_list: Walk
) -> None:
    for first, second in redownloads:
        if (
            second.ok
            and second.body != first.body
            and _plm(full_list, first.course_id) == _plm(repeat_list, first.course_id)
        ):
            raise ConformanceFailure(
                "PKG-017",
                expected="PackageLastModifiedUTC moves whenever the package bytes change",
                received=f"course {first.course_id!r}: two downloads gave different bytes "
                f"({len(first.body)} vs {len(second.body)}) under the same "
                f"PackageLastModifiedUTC {_plm(full_list, first.course_id)!r}",
                exchange=second.exchange,
            )


@pytest.mark.requirement("PKG-018")
def test_same_bytes_keep_package_timestamp(
    redownloads: list[tuple[Download, Download]], full_list: Walk, repeat_list: Walk
) -> None:
    for first, second in redownloads:
        before, after = _plm(full_list, first.course_id), _plm(repeat_list, first.course_id)
        if second.ok and second.body == first.body and before != after and after is not None:
            raise ConformanceFailure(
                "PKG-018",
                expected="PackageLastModifiedUTC unchanged while the package bytes are unchanged",
                received=f"course {first.course_id!r}: {before!r} then {after!r} for "
                "identical bytes",
                exchange=repeat_list.pages[0].exchange if repeat_list.pages else None,
            )
