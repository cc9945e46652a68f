"""Unit tests of the suite's building blocks: course rules, zip facts, redaction, results."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from typing import Any

import pytest
import requests
import responses
from hypothesis import given
from hypothesis import strategies as st

from conformance._catalog import sample_courses
from conformance._http import VendorClient
from conformance._results import Aggregator
from conformance._results import Observation
from conformance._settings import build
from conformance.checks import COURSE_RULES
from conformance.checks import course_problems
from conformance.checks import fail_problems
from conformance.checks import inspect_zip
from conformance.errors import ConformanceFailure

SECRET = "s3cr3t-value-xyz"
GOOD: dict[str, Any] = {
    "ID": "SAF-101",
    "Title": "Safety basics",
    "Description": "",
    "CourseType": "AICC",
    "IsActive": True,
    "LastModifiedUTC": "2026-11-26T10:00:00Z",
    "PackageLastModifiedUTC": "2026-11-26T10:00:00.5Z",
    "DownloadPackageUrl": "https://vendor.example/p/SAF-101.zip",
    "Languages": ["en-US"],
    "Duration": "100:05:00",
    "Thumbnail": "https://vendor.example/t.png",
    "Subjects": ["Safety"],
    "Keywords": ["ppe"],
    "Version": "3",
    "Localization": [{"Language": "fr-FR", "Title": "Sécurité", "Keywords": []}],
}


def test_a_good_course_breaks_no_rule() -> None:
    for requirement in COURSE_RULES:
        assert course_problems(requirement, [GOOD]) == [], requirement


@pytest.mark.parametrize(
    ("requirement", "change", "path", "value"),
    [
        ("COURSE-002", {"ID": "-bad"}, "$.ID", "-bad"),
        ("COURSE-002", {"ID": "x" * 51}, "$.ID", "x" * 51),
        ("COURSE-004", {"Title": "   "}, "$.Title", "   "),
        ("COURSE-005", {"Description": "d" * 10001}, "$.Description", "d" * 10001),
        ("COURSE-006", {"CourseType": "SCORM"}, "$.CourseType", "SCORM"),
        ("COURSE-007", {"IsActive": "true"}, "$.IsActive", "true"),
        (
            "COURSE-008",
            {"LastModifiedUTC": "2026-11-26 10:00:00"},
            "$.LastModifiedUTC",
            "2026-11-26 10:00:00",
        ),
        (
            "COURSE-008",
            {"LastModifiedUTC": "2026-11-26T10:00:00+00:00"},
            "$.LastModifiedUTC",
            "2026-11-26T10:00:00+00:00",
        ),
        (
            "COURSE-010",
            {"DownloadPackageUrl": "http://vendor.example/p.zip"},
            "$.DownloadPackageUrl",
            "http://vendor.example/p.zip",
        ),
        ("COURSE-011", {"Languages": ["en-US", "english"]}, "$.Languages[1]", "english"),
        ("COURSE-012", {"Duration": "1:00:00"}, "$.Duration", "1:00:00"),
        ("COURSE-013", {"Thumbnail": "/t.png"}, "$.Thumbnail", "/t.png"),
        ("COURSE-014", {"Subjects": ["a", 3]}, "$.Subjects[1]", 3),
        ("COURSE-015", {"Keywords": "ppe"}, "$.Keywords", "ppe"),
        ("COURSE-016", {"Version": 3}, "$.Version", 3),
        (
            "COURSE-017",
            {"Localization": [{"Language": "fr", "Title": "T"}]},
            "$.Localization[0].Language",
            "fr",
        ),
    ],
)
def test_each_rule_names_course_path_and_value(
    requirement: str, change: dict[str, Any], path: str, value: Any
) -> None:
    course = {**GOOD, **change}
    problems = course_problems(requirement, [GOOD, course])
    assert [(p.course_id, p.path, p.value) for p in problems] == [(course["ID"], path, value)]
    with pytest.raises(ConformanceFailure) as failure:
        fail_problems(requirement, problems, where="the course list")
    assert failure.value.requirement == requirement
    assert path in str(failure.value)


def test_inactive_course_needs_no_package_fields() -> None:
    inactive = {
        k: v for k, v in GOOD.items() if k not in ("PackageLastModifiedUTC", "DownloadPackageUrl")
    }
    inactive["IsActive"] = False
    assert course_problems("COURSE-009", [inactive]) == []
    assert course_problems("COURSE-010", [inactive]) == []
    inactive["IsActive"] = True
    assert [p.path for p in course_problems("COURSE-010", [inactive])] == ["$.DownloadPackageUrl"]


def test_loopback_http_package_url_is_allowed() -> None:
    course = {**GOOD, "DownloadPackageUrl": "http://127.0.0.1:8000/p.zip"}
    assert course_problems("COURSE-010", [course]) == []


def _zip(entries: dict[str, bytes], *, link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "target")
    return buffer.getvalue()


AICC_SET = {f"c/course{ext}": b"x" for ext in (".CRS", ".au", ".des", ".cst")}


def test_zip_facts_find_the_file_set_and_unsafe_entries() -> None:
    facts = inspect_zip(_zip({**AICC_SET, "/abs.txt": b"a", "c/../up.txt": b"u"}, link="c/ln"))
    assert facts.error is None
    assert facts.file_sets == (("c", "course", frozenset({".crs", ".au", ".des", ".cst"})),)
    assert facts.absolute == ("/abs.txt",)
    assert facts.dotdot == ("c/../up.txt",)
    assert facts.links == ("c/ln",)
    assert inspect_zip(b"PK\x03\x04 not really").error is not None


def test_zip_facts_name_the_entry_whose_crc_does_not_match() -> None:
    data = bytearray(_zip({**AICC_SET, "c/lesson.html": b"<p>hello, learner</p>"}))
    at = bytes(data).index(b"hello, learner")  # stored: the bytes are in the archive as is
    data[at] ^= 0x20
    facts = inspect_zip(bytes(data))
    assert facts.error is not None
    assert facts.error.startswith("entry 'c/lesson.html' fails its CRC check"), facts.error
    assert facts.file_sets  # the rest of the facts are still found


def test_sample_is_deterministic_and_only_active_courses() -> None:
    courses = [{**GOOD, "ID": f"C{i:03}", "IsActive": i % 4 != 0} for i in range(40)]
    first = sample_courses(courses, 5, seed=1)
    assert [c["ID"] for c in first] == [
        c["ID"] for c in sample_courses(list(reversed(courses)), 5, seed=1)
    ]
    assert all(c["IsActive"] for c in first)
    assert [c["ID"] for c in first] != [c["ID"] for c in sample_courses(courses, 5, seed=2)]
    assert len(sample_courses(courses, 100, seed=1)) == 30


def _client() -> VendorClient:
    return VendorClient(
        build(
            course_list_url="https://vendor.example/courses",
            auth_url="https://vendor.example/token",
            client_id="lms-1",
            client_secret=SECRET,
        )
    )


@responses.activate
def test_exchange_redacts_secrets_and_tokens_and_gives_a_curl_line() -> None:
    responses.post(
        "https://vendor.example/token",
        json={"access_token": "tok-123456789", "token_type": "Bearer", "expires_in": 3600},
        headers={"Cache-Control": "max-age=60"},
    )
    client = _client()
    response = client.request_token(
        {"grant_type": "client_credentials", "client_id": "lms-1", "client_secret": SECRET},
        basic=("lms-1", SECRET),
    )
    exchange = client.exchange(response)
    text = exchange.render()
    assert SECRET not in text
    assert "tok-123456789" not in text
    assert "Authorization: Basic base64($CCKIT_CLIENT_ID:$CCKIT_CLIENT_SECRET)" in text
    assert '"access_token": "[redacted]"' in text
    assert exchange.curl == (
        'curl -sS -i -X POST -u "$CCKIT_CLIENT_ID:$CCKIT_CLIENT_SECRET" '
        "-H 'Content-Type: application/x-www-form-urlencoded' -H 'Accept: application/json' "
        '--data-raw "grant_type=client_credentials&client_id=lms-1&'
        'client_secret=$CCKIT_CLIENT_SECRET" '
        "https://vendor.example/token"
    )
    responses.get("https://vendor.example/courses", json=[], status=200)
    listed = client.exchange(client.get("https://vendor.example/courses"))
    assert "Bearer $CCKIT_ACCESS_TOKEN" in listed.render()
    assert "tok-123456789" not in listed.curl


@given(secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=8, max_size=40))
def test_no_secret_survives_rendering(secret: str) -> None:
    client = VendorClient(
        build(
            course_list_url="https://v.example/c",
            client_id="id",
            client_secret=secret,
            auth_mode="basic",
        )
    )
    request = requests.Request(
        "POST", "https://v.example/c", data={"client_secret": secret}, auth=("id", secret)
    ).prepare()
    exchange = client.exchange_of_request(request, status=401, reason="", body=secret.encode())
    assert secret not in exchange.render()


def test_aggregation_precedence_and_stale_expected_entries() -> None:
    agg = Aggregator(expected={"AUTH-007": "known", "AUTH-001": "fixed since"})
    agg.add("AUTH-002", Observation("passed", "", "a"))
    agg.add("AUTH-002", Observation("failed", "AUTH-002 MUST: 401", "b", "detail"))
    agg.add("AUTH-003", Observation("warning", "AUTH-003 SHOULD: 401", "c"))
    agg.add("AUTH-007", Observation("expected", "expected: known", "d"))
    agg.add("AUTH-001", Observation("passed", "", "e"))
    result = agg.result(target="https://v.example/c", seed=4)
    assert result.status_of("AUTH-002") == "failed"
    assert result.status_of("AUTH-003") == "warning"
    assert result.status_of("AUTH-007") == "expected"
    assert result.status_of("AUTH-001") == "failed"  # stale waiver
    assert result.status_of("LIST-009") == "skipped"  # MAY: nothing to fail
    assert result.exit_code == 1
    data = json.loads(result.to_json())
    assert data["summary"]["failed"] == 2
    assert data["summary"]["warnings"] == 1
    assert data["seed"] == 4
    assert "<script" not in result.to_html()


def test_reports_show_vendor_control_characters_as_escapes() -> None:
    from conformance._results import Aggregator
    from conformance._results import Observation

    hostile = "Title \x1b[2J\x1b]8;;http://x\x07link\r\nconformance: PASS\u202eTXT"
    agg = Aggregator()
    # Details are several lines by construction; the suite puts vendor values in them
    # with repr(), and the report escapes whatever control characters remain.
    agg.add("COURSE-001", Observation("failed", hostile, "node", f"received:\n{hostile}"))
    result = agg.result(target="http://127.0.0.1:1/api", seed=0)
    for text in (result.table(), result.to_junit(), result.to_html()):
        for raw in ("\x1b", "\x07", "\r", "\u202e"):
            assert raw not in text
    # The one-line message never forges a table line.
    assert not any(line.startswith("conformance: PASS") for line in result.table().splitlines())
    assert "\\x1b[2J" in result.table()
    import xml.dom.minidom

    xml.dom.minidom.parseString(result.to_junit())  # noqa: S318 - our own output, well-formed
