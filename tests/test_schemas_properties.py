"""Property tests: courses built from the contract's rules validate; breaking one rule fails.

The strategies are written from docs/spec.md section 3, not from the schema, so that the
schema and the prose are checked against each other.
"""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from typing import Any

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import schemas

REQUIRED = ("ID", "Title", "Description", "CourseType", "IsActive", "LastModifiedUTC", "Languages")
REQUIRED_WHEN_ACTIVE = ("PackageLastModifiedUTC", "DownloadPackageUrl")

ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,49}\Z")
titles = st.text(min_size=1, max_size=255).filter(lambda s: not s.isspace())
descriptions = st.text(max_size=300) | st.just("d" * 10000)
culture_codes = st.from_regex(r"\A[a-z]{2}-[A-Z]{2}\Z")
words = st.text(min_size=1, max_size=30)
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@st.composite
def utc_stamps(draw: st.DrawFn) -> str:
    moment = draw(instants)
    digits = draw(st.sampled_from([0, 3, 6]))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + "Z"


hosts = st.from_regex(r"\A[a-z][a-z0-9-]{0,15}(\.[a-z]{2,8}){1,2}\Z")
https_urls = st.builds(
    lambda host, path: f"https://{host}/{path}.zip",
    hosts,
    st.from_regex(r"\A[A-Za-z0-9_-]{1,20}\Z"),
)
durations = st.builds(
    lambda h, m, s: f"{h:02d}:{m:02d}:{s:02d}",
    st.integers(0, 400),
    st.integers(0, 59),
    st.integers(0, 59),
)
localizations = st.fixed_dictionaries(
    {"Language": culture_codes, "Title": titles},
    optional={"Description": descriptions, "Keywords": st.lists(words, max_size=4)},
)


@st.composite
def courses(draw: st.DrawFn, active: bool | None = None) -> dict[str, Any]:
    is_active = draw(st.booleans()) if active is None else active
    course: dict[str, Any] = {
        "ID": draw(ids),
        "Title": draw(titles),
        "Description": draw(descriptions),
        "CourseType": "AICC",
        "IsActive": is_active,
        "LastModifiedUTC": draw(utc_stamps()),
        "Languages": draw(st.lists(culture_codes, min_size=1, max_size=4)),
    }
    if is_active or draw(st.booleans()):
        course["PackageLastModifiedUTC"] = draw(utc_stamps())
        course["DownloadPackageUrl"] = draw(https_urls)
    optional = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "Duration": durations,
                "Thumbnail": https_urls.map(lambda u: u.replace(".zip", ".png")),
                "Subjects": st.lists(words, max_size=3),
                "Keywords": st.lists(words, max_size=5),
                "Version": st.text(max_size=10),
                "Localization": st.lists(localizations, max_size=3),
                "IsMobile": st.booleans(),
            },
        )
    )
    return course | optional


def _valid(name: str, doc: Any) -> bool:
    # Round-trip through JSON text: that is what crosses the wire.
    # (Building a course is the costly part of these tests, hence the lower max_examples.)
    return schemas.validator(name).is_valid(json.loads(json.dumps(doc)))


@given(courses())
def test_courses_built_from_the_rules_validate(course: dict[str, Any]) -> None:
    errors = list(schemas.validator("course").iter_errors(course))
    assert [f"{e.json_path}: {e.message}" for e in errors] == []


@settings(max_examples=20)
@given(st.lists(courses(), max_size=4))
def test_lists_of_valid_courses_validate(page: list[dict[str, Any]]) -> None:
    assert _valid("course-list", page)


@settings(max_examples=40)
@given(courses(active=True), st.sampled_from(REQUIRED + REQUIRED_WHEN_ACTIVE))
def test_dropping_a_required_member_of_an_active_course_fails(
    course: dict[str, Any], member: str
) -> None:
    del course[member]
    errors = list(schemas.validator("course").iter_errors(course))
    assert [(e.validator, e.json_path) for e in errors] == [("required", "$")]
    assert member in errors[0].message


@settings(max_examples=40)
@given(courses(active=False))
def test_inactive_courses_need_no_package_members(course: dict[str, Any]) -> None:
    course.pop("PackageLastModifiedUTC", None)
    course.pop("DownloadPackageUrl", None)
    assert _valid("course", course)


@settings(max_examples=40)
@given(
    courses(),
    st.sampled_from(REQUIRED),
    st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.lists(st.integers())),
)
def test_a_required_member_of_the_wrong_type_fails(
    course: dict[str, Any], member: str, value: Any
) -> None:
    course[member] = value
    assert not _valid("course", course)


@settings(max_examples=40)
@given(courses(), st.sampled_from(["+00:00", "+01:00", "-05:30", "", "z"]))
def test_timestamps_must_end_in_upper_case_z(course: dict[str, Any], suffix: str) -> None:
    course["LastModifiedUTC"] = course["LastModifiedUTC"][:-1] + suffix
    assert not _valid("course", course)


@settings(max_examples=40)
@given(courses(), st.text(min_size=1, max_size=5).filter(lambda s: not s.isalnum()))
def test_ids_with_other_characters_fail(course: dict[str, Any], junk: str) -> None:
    bad = course["ID"][:40] + junk
    if all(c.isascii() and (c.isalnum() or c in "_-") for c in junk):
        return  # junk made only of allowed characters (e.g. "-") is not junk
    course["ID"] = bad
    assert not _valid("course", course)


@given(
    token=st.fixed_dictionaries(
        {
            "access_token": st.text(min_size=1),
            "token_type": st.sampled_from(["Bearer", "bearer", "BEARER", "bEaReR"]),
            "expires_in": st.integers(60, 10**9),
        },
        optional={"scope": st.text()},
    )
)
def test_token_responses_validate(token: dict[str, Any]) -> None:
    assert _valid("token-response", token)
    assert not _valid("token-response", token | {"expires_in": token["expires_in"] - 10**9 - 1})
