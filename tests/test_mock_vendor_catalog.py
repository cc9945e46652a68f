"""Course list of the mock vendor: If-Modified-Since, paging, catalogs (contract section 2)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import flask
import orjson
import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import aicc
import mock_vendor
from aicc.validator import validate
from mock_vendor._generate import build_course_model
from mock_vendor.model import COURSE_FIELDS
from mock_vendor.model import Package
from mock_vendor.model import Tenant

START = "2026-11-26T10:00:00Z"


@pytest.fixture
def make_app(tmp_path: Path) -> Any:
    def make(**config: Any) -> flask.Flask:
        base = {
            "TESTING": True,
            "COURSES": 12,
            "SEED": 1,
            "PAGE_SIZE": 5,
            "MAX_ASSET_BYTES": 5_000,
            "CLIENT_SECRET": "secret",
            "ADMIN_TOKEN": "admin",
            "CACHE_DIR": str(tmp_path / "cache"),
            "VALIDATE_RESPONSES": True,
            "CLOCK_START": START,
            "CLOCK_FROZEN": True,
        }
        return mock_vendor.create_app({**base, **config})

    return make


class Caller:
    """Test-client helper: token, list walks and admin calls."""

    def __init__(self, app: flask.Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        response = self.client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "cckit-demo",
                "client_secret": "secret",
            },
        )
        self.headers = {"Authorization": f"Bearer {response.json['access_token']}"}  # type: ignore[index]

    def get(self, url: str, **headers: str) -> Any:
        return self.client.get(url, headers={**self.headers, **headers})

    def walk(self, **headers: str) -> list[dict[str, Any]]:
        url: str | None = "/api/v1/courses"
        courses: list[dict[str, Any]] = []
        while url:
            response = self.get(url, **headers)
            assert response.status_code == 200, response.json
            courses.extend(response.json)
            link = response.headers.get("Link")
            url = link[link.index("<") + 1 : link.index(">")] if link else None
        return courses

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.open(
            f"/_admin/{path}", method=method, headers={"Authorization": "Bearer admin"}, **kwargs
        )
        assert response.status_code < 300, response.json
        return response.json


def test_full_list_is_every_active_course_across_pages(make_app: Any) -> None:
    app = make_app()
    caller = Caller(app)
    first = caller.get("/api/v1/courses")
    assert first.mimetype == "application/json"
    assert len(first.json) == 5
    link = first.headers["Link"]
    assert link.startswith("<http://localhost/api/v1/courses?cursor=")
    assert link.endswith('>; rel="next"')
    courses = caller.walk()
    state = mock_vendor.get_state(app)
    active = [r.course_id for r in state.default_tenant.records if r.is_active]
    assert [c["ID"] for c in courses] == active
    assert all(c["CourseType"] == "AICC" and c["IsActive"] for c in courses)


def test_generated_catalog_is_deterministic_and_varied(make_app: Any) -> None:
    one = Caller(make_app(COURSES=60, PAGE_SIZE=100)).walk()
    two = Caller(make_app(COURSES=60, PAGE_SIZE=100)).walk()
    assert one == two
    other_seed = Caller(make_app(COURSES=60, PAGE_SIZE=100, SEED=2)).walk()
    assert [c["Title"] for c in other_seed] != [c["Title"] for c in one]
    state = mock_vendor.get_state(make_app(COURSES=60))
    assert any(not r.is_active for r in state.default_tenant.records)
    languages = {lang for c in one for lang in c["Languages"]}
    assert {"en-US", "de-DE", "fr-FR"} <= languages
    assert any("Localization" in c for c in one)
    assert len({c["Subjects"][0] for c in one}) >= 5


def test_generated_packages_are_valid_aicc_of_several_levels(make_app: Any) -> None:
    app = make_app(COURSES=40, MAX_ASSET_BYTES=300_000)
    state = mock_vendor.get_state(app)
    levels = set()
    sizes = set()
    for record in state.default_tenant.records:
        data = record.package.read_bytes()
        report = validate(data)
        assert report.valid, (record.course_id, [d.message for d in report.errors])
        course = report.courses[0]
        assert course.course_title == record.meta["Title"]  # AICC-002
        levels.add(course.level)
        sizes.add(len(data) // 1000)
    assert {"1", "2", "3a", "3b"} <= levels
    assert len(sizes) > 10


def test_packages_are_cached_on_disk_and_reused(make_app: Any, tmp_path: Path) -> None:
    app = make_app(COURSES=2)
    record = mock_vendor.get_state(app).default_tenant.records[0]
    info = record.package.info()
    assert info.path.is_relative_to(tmp_path / "cache")
    stamp = info.path.stat().st_mtime_ns
    again = mock_vendor.get_state(make_app(COURSES=2)).default_tenant.records[0].package.info()
    assert again.path == info.path
    assert again.sha256 == info.sha256
    assert info.path.stat().st_mtime_ns == stamp  # not rebuilt


def test_if_modified_since_returns_changes_including_deactivations(make_app: Any) -> None:
    app = make_app()
    caller = Caller(app)
    assert caller.walk(**{"If-Modified-Since": "Thu, 26 Nov 2026 10:00:00 GMT"}) == []
    mock_vendor.get_state(app).clock.advance(10)
    caller.admin("PATCH", "courses/CRS-00002", json={"Title": "Renamed course"})
    caller.admin("POST", "courses/CRS-00003/deactivate")
    caller.admin("PUT", "courses/CRS-00004/package")
    changed = caller.walk(**{"If-Modified-Since": "Thu, 26 Nov 2026 10:00:05 GMT"})
    by_id = {c["ID"]: c for c in changed}
    assert set(by_id) == {"CRS-00002", "CRS-00003", "CRS-00004"}
    assert by_id["CRS-00002"]["Title"] == "Renamed course"
    assert by_id["CRS-00003"]["IsActive"] is False
    assert "DownloadPackageUrl" not in by_id["CRS-00003"]
    assert by_id["CRS-00004"]["PackageLastModifiedUTC"] == "2026-11-26T10:00:10Z"
    later = caller.walk(**{"If-Modified-Since": "Thu, 26 Nov 2026 10:00:10 GMT"})
    assert later == []


@pytest.mark.parametrize("value", ["yesterday", "", "Thu, 99 Nov 2026 10:00:00 GMT", "\x00"])
def test_unparseable_if_modified_since_gives_the_full_active_list(
    make_app: Any, value: str
) -> None:
    caller = Caller(make_app())
    full = caller.walk()
    assert caller.walk(**{"If-Modified-Since": value}) == full


def test_list_inactive_puts_inactive_courses_in_the_full_list(make_app: Any) -> None:
    """LIST_INACTIVE (LIST-007 allows it): the full list holds deactivated courses too."""
    app = make_app(LIST_INACTIVE=True)
    caller = Caller(app)
    mock_vendor.get_state(app).clock.advance(10)
    caller.admin("POST", "courses/CRS-00003/deactivate")
    courses = caller.walk()
    records = mock_vendor.get_state(app).default_tenant.records
    # Every course, in paging order, across the pages.
    assert [c["ID"] for c in courses] == [r.course_id for r in records]
    inactive = {c["ID"]: c for c in courses if c["IsActive"] is False}
    assert "CRS-00003" in inactive
    assert all("DownloadPackageUrl" not in c for c in inactive.values())
    assert len(inactive) == sum(1 for r in records if not r.is_active)
    # An unparseable If-Modified-Since is treated as absent: the same list.
    assert caller.walk(**{"If-Modified-Since": "yesterday"}) == courses
    # If-Modified-Since semantics do not change.
    assert caller.walk(**{"If-Modified-Since": "Thu, 26 Nov 2026 10:00:00 GMT"}) == [
        inactive["CRS-00003"]
    ]
    # Default off: the same catalog's full list leaves inactive courses out.
    plain = Caller(make_app())
    plain.admin("POST", "courses/CRS-00003/deactivate")
    assert [c["ID"] for c in plain.walk()] == [c["ID"] for c in courses if c["IsActive"]]


def test_feature_switches_come_from_the_environment(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCKIT_MOCK_LIST_INACTIVE", "true")
    monkeypatch.setenv("CCKIT_MOCK_ETAG", "false")
    state = mock_vendor.get_state(make_app())
    assert state.features["LIST_INACTIVE"] is True
    assert state.features["ETAG"] is False
    assert state.features["RANGE_SUPPORT"] is True
    assert state.summary()["features"] == state.features


def test_list_get_is_repeatable(make_app: Any) -> None:
    caller = Caller(make_app())
    assert caller.walk() == caller.walk()
    ims = {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}
    assert caller.walk(**ims) == caller.walk(**ims)


@pytest.mark.parametrize(
    "cursor",
    ["!!!", "e30", "eyJ2IjoxfQ", "eyJ2IjoxLCJzIjotMSwiYiI6MSwiaSI6bnVsbCwiYyI6ImNja2l0LWRlbW8ifQ"],
)
def test_bad_cursor_is_a_400_json_error(make_app: Any, cursor: str) -> None:
    response = Caller(make_app()).get(f"/api/v1/courses?cursor={cursor}")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_cursor"


def test_cursor_of_another_tenant_is_rejected(make_app: Any) -> None:
    app = make_app(
        TENANTS=[
            {"client_id": "cckit-demo", "client_secret": "secret", "courses": 12, "seed": 1},
            {"client_id": "other", "client_secret": "other-secret", "courses": 12, "seed": 2},
        ]
    )
    caller = Caller(app)
    link = caller.get("/api/v1/courses").headers["Link"]
    next_url = link[link.index("<") + 1 : link.index(">")]
    client = app.test_client()
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("other", "other-secret"),
    ).json["access_token"]
    response = client.get(next_url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400


def test_unknown_paths_get_json_404(make_app: Any) -> None:
    response = Caller(make_app()).get("/api/v2/nothing")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def _zip_of(course_id: str, title: str) -> bytes:
    import random

    course = build_course_model(course_id, title, "From a folder.", "1", 1, random.Random(1))
    return aicc.write_zip(course, extra_files={"lesson1/index.html": b"<html></html>"})


def test_folder_catalog_takes_metadata_from_crs_and_sidecar(make_app: Any, tmp_path: Path) -> None:
    folder = tmp_path / "zips"
    folder.mkdir()
    (folder / "first.zip").write_bytes(_zip_of("FOLDER-1", "First from folder"))
    (folder / "second.zip").write_bytes(_zip_of("X 2", "Second from folder"))
    (folder / "second.json").write_text(
        json.dumps({"ID": "SECOND", "Languages": ["de-DE"], "Subjects": ["Safety"]})
    )
    (folder / "notes.txt").write_text("ignored")
    caller = Caller(make_app(CATALOG=str(folder)))
    courses = {c["ID"]: c for c in caller.walk()}
    assert set(courses) == {"FOLDER-1", "SECOND"}
    assert courses["FOLDER-1"]["Title"] == "First from folder"
    assert courses["FOLDER-1"]["Description"] == "From a folder."
    assert courses["SECOND"]["Languages"] == ["de-DE"]
    assert courses["SECOND"]["Subjects"] == ["Safety"]
    package = caller.get(courses["SECOND"]["DownloadPackageUrl"])
    assert package.data == (folder / "second.zip").read_bytes()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.zip": b"not a zip"}, "not a zip archive"),
        ({"a.zip": "VALID", "a.json": b"{broken"}, "not readable JSON"),
        ({"a.zip": "VALID", "a.json": b'{"Colour": "red"}'}, "unknown field"),
        ({"a.zip": "VALID", "a.json": b'{"Duration": NaN}'}, "a.json: not readable JSON: NaN"),
        ({"a.zip": "VALID", "b.zip": "VALID"}, "used by another package"),
    ],
)
def test_bad_catalog_folders_fail_with_a_clear_message(
    make_app: Any, tmp_path: Path, files: dict[str, Any], message: str
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    for name, content in files.items():
        data = _zip_of("SAME", "Same") if content == "VALID" else content
        (folder / name).write_bytes(data)
    with pytest.raises(mock_vendor.CatalogError, match=message):
        make_app(CATALOG=str(folder))


def test_missing_catalog_folder_is_a_catalog_error(make_app: Any, tmp_path: Path) -> None:
    with pytest.raises(mock_vendor.CatalogError, match="does not exist"):
        make_app(CATALOG=str(tmp_path / "missing"))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"AUTH_MODE": "digest"}, "AUTH_MODE"),
        ({"PAGE_SIZE": 0}, "PAGE_SIZE"),
        ({"TOKEN_TTL": 30}, "TOKEN_TTL"),
        ({"CLOCK_START": "tomorrow"}, "CLOCK_START"),
        ({"FAULTS": ["no_such_fault"]}, "unknown fault"),
        ({"TENANTS": [{"client_secret": "x"}]}, "client_id"),
        ({"TENANTS": [{"client_id": "a"}, {"client_id": "a"}]}, "used twice"),
        ({"LIST_INACTIVE": "yes"}, "LIST_INACTIVE.*not a boolean"),
        ({"ETAG": 1}, "ETAG"),
    ],
)
def test_bad_config_is_a_config_error_naming_the_key(
    make_app: Any, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(mock_vendor.ConfigError, match=message):
        make_app(**config)


def test_environment_overrides_defaults(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCKIT_MOCK_PAGE_SIZE", "7")
    monkeypatch.setenv("CCKIT_MOCK_FAULTS", '["latency:1"]')
    app = mock_vendor.create_app({"COURSES": 1, "CACHE_DIR": "/nonexistent-unused"})
    state = mock_vendor.get_state(app)
    assert state.page_size == 7
    assert "latency" in state.faults


def test_response_validation_hook_fails_loudly(make_app: Any) -> None:
    app = make_app()
    state = mock_vendor.get_state(app)
    state.default_tenant.records[0].meta["Languages"] = ["english"]
    with pytest.raises(mock_vendor.ResponseValidationError, match="Languages"):
        Caller(app).get("/api/v1/courses")
    assert state.problems


def test_zip_bytes_of_a_package_are_a_single_course_set(make_app: Any) -> None:
    caller = Caller(make_app())
    course = caller.walk()[0]
    data = caller.get(course["DownloadPackageUrl"]).data
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    structure = [n for n in names if n.rsplit(".", 1)[-1] in ("crs", "au", "des", "cst")]
    assert len(structure) == 4


def test_public_base_url_sets_download_urls(make_app: Any) -> None:
    caller = Caller(make_app(PUBLIC_BASE_URL="https://vendor.example/"))
    course = caller.walk()[0]
    expected = f"https://vendor.example/api/v1/courses/{course['ID']}/package.zip"
    assert course["DownloadPackageUrl"] == expected


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_METAS = st.fixed_dictionaries(
    {"Title": st.text(max_size=40)},
    optional={
        "Description": st.text(max_size=40),
        "IsActive": st.booleans(),
        "Languages": st.lists(st.text(max_size=8), max_size=3) | st.none(),
        **{name: _JSON_VALUES for name in COURSE_FIELDS[4:]},
    },
)
_INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=60)
@given(first=_METAS, second=_METAS, url=st.text(max_size=60), when=_INSTANTS)
def test_listing_json_is_the_course_object_encoded_and_follows_changes(
    first: dict[str, Any], second: dict[str, Any], url: str, when: datetime
) -> None:
    """The list page splices once-encoded course bytes; they must be orjson's own bytes,
    and an admin change (new metadata, a touch) must never serve the old ones."""
    tenant = Tenant("client", "secret", "")
    record = tenant.add("CRS-1", first, when, when, Package(Path("unused.zip")))
    assert record.listing_json(url) == orjson.dumps(record.to_json(url))
    assert record.listing_json(url + "x") == orjson.dumps(record.to_json(url + "x"))
    record.meta = second
    record.last_modified = when + timedelta(seconds=1)
    tenant.touch(record)
    assert record.listing_json(url) == orjson.dumps(record.to_json(url))
    # Changed in place (tests and hooks do), nested values too: seen all the same.
    record.meta["Title"] = f"{record.meta['Title']} (2)"
    assert record.listing_json(url) == orjson.dumps(record.to_json(url))
    record.meta.setdefault("Languages", ["en-US"])
    if isinstance(record.meta["Languages"], list):
        record.meta["Languages"].append("fr-FR")
    assert record.listing_json(url) == orjson.dumps(record.to_json(url))


def test_listing_json_encodes_what_orjson_refuses() -> None:
    """A folder catalog's sidecar may hold an integer past 64 bits: the page is still JSON."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    meta = {"Title": "Big", "Duration": 2**70}
    record = Tenant("c", "s", "").add("CRS-1", meta, when, when, Package(Path("unused.zip")))
    assert json.loads(record.listing_json("https://v.example/p.zip")) == record.to_json(
        "https://v.example/p.zip"
    )


def test_the_json_fallback_never_writes_nan() -> None:
    """orjson writes NaN as null; the fallback (taken for big integers) must not write
    ``NaN`` either: it refuses, and the inputs refuse NaN before it gets there."""
    assert (
        mock_vendor.model.dumps({"big": 2**70, "s": "é"})
        == '{"big":1180591620717411303424,"s":"é"}'.encode()
    )
    with pytest.raises(ValueError, match="JSON compliant"):
        mock_vendor.model.dumps({"big": 2**70, "x": float("nan")})
