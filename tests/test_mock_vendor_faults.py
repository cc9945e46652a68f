"""Every fault of the mock vendor's fault library, shown to have its documented effect."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any

import flask
import pytest
import requests

import mock_vendor
from aicc.validator import validate
from mock_vendor.faults import FAULTS
from mock_vendor.faults import parse_fault

START = "2026-11-26T10:00:00Z"


class Vendor:
    """Test-client driver of one app with a fault switched on."""

    def __init__(self, tmp_path: Path, faults: list[str], **config: Any) -> None:
        base = {
            "TESTING": True,
            "COURSES": 8,
            "SEED": 2,
            "PAGE_SIZE": 3,
            "MAX_ASSET_BYTES": 4_000,
            "CLIENT_SECRET": "secret",
            "ADMIN_TOKEN": "admin",
            "CACHE_DIR": str(tmp_path / "cache"),
            "CLOCK_START": START,
            "CLOCK_FROZEN": True,
            "VALIDATE_RESPONSES": True,
            "FAULTS": faults,
        }
        self.app: flask.Flask = mock_vendor.create_app({**base, **config})
        self.client = self.app.test_client()

    def token_response(self, secret: str = "secret") -> Any:  # noqa: S107 - test credential
        return self.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("cckit-demo", secret),
        )

    def auth(self) -> dict[str, str]:
        response = self.token_response()
        assert response.status_code == 200, response.json
        return {"Authorization": f"Bearer {response.json['access_token']}"}

    def get(self, url: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.get(url, headers=headers or {})

    def walk(self, headers: dict[str, str], limit: int = 20) -> tuple[list[Any], list[str]]:
        url: str | None = "/api/v1/courses"
        pages: list[Any] = []
        urls: list[str] = []
        while url and len(pages) < limit:
            urls.append(url)
            response = self.get(url, headers)
            assert response.status_code == 200
            pages.append(response.json)
            link = response.headers.get("Link")
            url = link[link.index("<") + 1 : link.index(">")] if link else None
        return pages, urls

    def journal_faults(self) -> list[str]:
        state = mock_vendor.get_state(self.app)
        return [name for entry in state.journal for name in entry["faults"]]

    def first_package_url(self, headers: dict[str, str]) -> str:
        return str(self.get("/api/v1/courses", headers).json[0]["DownloadPackageUrl"])


def ids(pages: list[Any]) -> list[str]:
    return [course["ID"] for page in pages for course in page]


# ------------------------------------------------------------------ fault library itself


def test_every_fault_names_a_known_requirement_or_transport() -> None:
    import schemas

    known = {r.id for r in schemas.requirements()}
    for spec in FAULTS.values():
        assert spec.requirement == "transport" or spec.requirement in known, spec.name
        assert spec.summary
        assert spec.operations <= {"token", "list", "package"}


def test_docs_table_lists_every_fault_with_its_requirement() -> None:
    docs = Path(__file__).parent.parent / "docs" / "mock-vendor.md"
    rows = {}
    for line in docs.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[0].strip("`") in FAULTS:
            rows[cells[0].strip("`")] = cells[1]
    assert rows == {name: spec.requirement for name, spec in FAULTS.items()}


def test_every_fault_has_a_test_here() -> None:
    missing = [name for name in FAULTS if f"test_fault_{name}" not in globals()]
    assert not missing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "unknown fault"),
        ("latency:fast", "bad argument"),
        ("server_error:0", "bad argument"),
        ("server_error:1.5", "bad argument"),
        ("corrupt_zip:3", "takes no argument"),
        ("corrupt_zip@list", "scope"),
        ("token_endpoint_down@course:X", "cannot be scoped"),
        ("rate_limit:1,x", "bad argument"),
    ],
)
def test_bad_fault_specs_are_rejected_with_reason(text: str, message: str) -> None:
    with pytest.raises(mock_vendor.UnknownFaultError, match=message):
        parse_fault(text)


def test_fault_spec_text_form() -> None:
    fault = parse_fault("server_error:2@course:CRS-00001")
    assert fault.arg == 2.0
    assert fault.scope == "course:CRS-00001"
    assert fault.matches("package", "CRS-00001")
    assert not fault.matches("package", "CRS-00002")
    assert parse_fault("rate_limit:3,7").arg == (3, 7)
    assert parse_fault("latency").arg == 500


# ------------------------------------------------------------------ transport


def test_fault_latency(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["latency:150@list"])
    headers = vendor.auth()
    started = time.perf_counter()
    vendor.get("/api/v1/courses", headers)
    assert time.perf_counter() - started >= 0.15
    entries = list(mock_vendor.get_state(vendor.app).journal)
    assert entries[-1]["faults"] == ["latency"]
    assert entries[0]["faults"] == []  # the token call is out of scope


def test_fault_server_error(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["server_error:2@list"])
    headers = vendor.auth()
    statuses = [vendor.get("/api/v1/courses", headers).status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    fraction = Vendor(tmp_path, ["server_error:0.5@list"])
    headers = fraction.auth()
    statuses = [fraction.get("/api/v1/courses", headers).status_code for _ in range(60)]
    assert 10 < statuses.count(500) < 50
    assert set(statuses) == {200, 500}


def test_fault_rate_limit(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["rate_limit:2,7"])
    first = vendor.token_response()
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "7"
    assert first.json["error"] == "rate_limited"
    assert vendor.token_response().status_code == 429
    assert vendor.token_response().status_code == 200


def test_fault_token_endpoint_down(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["token_endpoint_down"])
    response = vendor.token_response()
    assert response.status_code == 503
    assert response.json["error"] == "temporarily_unavailable"


@pytest.mark.live
def test_fault_truncated_download(live_vendor_factory: Any) -> None:
    vendor = live_vendor_factory(FAULTS=["truncated_download:0.5"], MAX_ASSET_BYTES=100_000)
    headers = _live_auth(vendor)
    url = requests.get(vendor.course_list_url, headers=headers, timeout=10).json()[0][
        "DownloadPackageUrl"
    ]
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, headers=headers, timeout=10).content  # noqa: B018


@pytest.mark.live
def test_fault_slow_download(live_vendor_factory: Any) -> None:
    vendor = live_vendor_factory(FAULTS=["slow_download:20000"], MAX_ASSET_BYTES=2_000)
    headers = _live_auth(vendor)
    url = requests.get(vendor.course_list_url, headers=headers, timeout=10).json()[0][
        "DownloadPackageUrl"
    ]
    started = time.perf_counter()
    response = requests.get(url, headers=headers, timeout=10)
    elapsed = time.perf_counter() - started
    # Dribbled in 2,000-byte steps with a 0.1 s pause between them: a lower bound on the
    # time taken, and still the whole zip.
    steps = -(-len(response.content) // 2_000)
    assert steps >= 2
    assert elapsed >= (steps - 1) * 0.1
    assert zipfile.is_zipfile(io.BytesIO(response.content))
    assert vendor.admin.journal()[-1]["faults"] == ["slow_download"]


class _VirtualTime:
    """Stands in for the ``time`` module of ``mock_vendor.packages``: sleeping moves a
    virtual clock instead of waiting, so the pace is measured exactly on any machine."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.live
def test_fault_slow_download_keeps_a_rate_above_ten_chunks_a_second(
    live_vendor_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 MB/s is sixty 64 KiB body chunks a second: the pace must follow the clock, not
    # sleep a tenth of a second per chunk (which capped every rate at 640 KiB/s). The
    # dribble runs on a virtual clock, so the time it takes is exact, not a measurement.
    import mock_vendor.packages

    rate = 4_000_000
    vendor = live_vendor_factory(FAULTS=[f"slow_download:{rate}"], MAX_ASSET_BYTES=2_000_000)
    headers = _live_auth(vendor)
    courses = requests.get(vendor.course_list_url, headers=headers, timeout=10).json()
    clock = _VirtualTime()
    monkeypatch.setattr(mock_vendor.packages, "time", clock)
    paced = {}
    for course in courses:
        started, sleeps = clock.now, len(clock.sleeps)
        response = requests.get(course["DownloadPackageUrl"], headers=headers, timeout=30)
        assert zipfile.is_zipfile(io.BytesIO(response.content))
        paced[len(response.content)] = (clock.now - started, len(clock.sleeps) - sleeps)
    size = max(paced)
    assert size > 1_000_000, "need a package of several chunks"
    seconds, pauses = paced[size]
    # The whole body took size/rate seconds of (virtual) time, in many pauses, none of
    # them a fixed tenth of a second per chunk. (Give or take one pause: the server may
    # take the pause after the last byte once the client already has the whole body.)
    assert size / rate - 0.1 <= seconds <= size / rate + 0.1
    assert pauses > size // (64 * 1024) // 2
    assert seconds < pauses * 0.1


# ------------------------------------------------------------------ AUTH


def test_fault_token_expires_after(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["token_expires_after:2"])
    headers = vendor.auth()
    assert vendor.get("/api/v1/courses", headers).status_code == 200
    assert vendor.get("/api/v1/courses", headers).status_code == 200
    third = vendor.get("/api/v1/courses", headers)
    assert third.status_code == 401
    assert 'error="invalid_token"' in third.headers["WWW-Authenticate"]
    assert vendor.token_response().json["expires_in"] == 3600  # the promise it breaks


def test_fault_short_token_ttl(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["short_token_ttl:20"])
    assert vendor.token_response().json["expires_in"] == 20


def test_fault_missing_no_store(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["missing_no_store"])
    response = vendor.token_response()
    assert response.status_code == 200
    assert "Cache-Control" not in response.headers


def test_fault_invalid_client_400(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["invalid_client_400"])
    response = vendor.token_response(secret="wrong")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client"
    assert "WWW-Authenticate" not in response.headers


def test_fault_token_wrong_secret(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["token_wrong_secret"])
    response = vendor.token_response(secret="wrong")
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer"
    other = vendor.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "x")
    )
    assert other.status_code == 401  # unknown clients are still refused


def test_fault_no_auth_list(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["no_auth_list"])
    assert vendor.get("/api/v1/courses").status_code == 200
    assert vendor.get("/api/v1/courses", {"Authorization": "Bearer bogus"}).status_code == 200
    url = vendor.first_package_url(vendor.auth())
    assert vendor.get(url).status_code == 401  # packages still checked


# ------------------------------------------------------------------ LIST


def test_fault_list_wrong_content_type(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["list_wrong_content_type"])
    response = vendor.get("/api/v1/courses", vendor.auth())
    assert response.status_code == 200
    assert response.mimetype == "text/html"


def test_fault_list_wrapped(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["list_wrapped"])
    body = vendor.get("/api/v1/courses", vendor.auth()).json
    assert isinstance(body, dict)
    assert isinstance(body["courses"], list)
    assert body["courses"]


def test_fault_not_modified_304(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["not_modified_304"])
    headers = vendor.auth()
    response = vendor.get(
        "/api/v1/courses", {**headers, "If-Modified-Since": "Thu, 26 Nov 2026 10:00:00 GMT"}
    )
    assert response.status_code == 304
    assert vendor.get("/api/v1/courses", headers).status_code == 200


def test_fault_duplicate_ids(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["duplicate_ids"])
    pages, _ = vendor.walk(vendor.auth())
    served = ids(pages)
    assert len(pages) >= 2
    assert len(served) > len(set(served))
    assert pages[1][0]["ID"] == pages[0][-1]["ID"]


def test_fault_drop_deactivations(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["drop_deactivations"])
    vendor.client.post(
        "/_admin/courses/CRS-00003/deactivate", headers={"Authorization": "Bearer admin"}
    )
    vendor.client.patch(
        "/_admin/courses/CRS-00004",
        json={"Title": "Changed"},
        headers={"Authorization": "Bearer admin"},
    )
    pages, _ = vendor.walk({**vendor.auth(), "If-Modified-Since": "Thu, 26 Nov 2026 09:00:00 GMT"})
    assert ids(pages) == ["CRS-00004"]  # CRS-00003 was deactivated: dropped


def test_fault_next_link_loop(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["next_link_loop"])
    pages, urls = vendor.walk(vendor.auth(), limit=10)
    assert len(pages) == 10  # never ends on its own
    assert urls.count("http://localhost/api/v1/courses") >= 2


def test_fault_consuming_get(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["consuming_get"])
    headers = vendor.auth()
    first, _ = vendor.walk(headers)
    second, _ = vendor.walk(headers)
    assert ids(first)
    assert ids(second) == []


# ------------------------------------------------------------------ COURSE / AICC-002


def test_fault_bad_timestamp(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["bad_timestamp@course:CRS-00004"])
    courses = {c["ID"]: c for c in vendor.get("/api/v1/courses", vendor.auth()).json}
    assert "T" not in courses["CRS-00004"]["LastModifiedUTC"]
    assert not courses["CRS-00004"]["LastModifiedUTC"].endswith("Z")
    assert courses["CRS-00005"]["LastModifiedUTC"].endswith("Z")


def test_fault_title_mismatch(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["title_mismatch"])
    headers = vendor.auth()
    course = vendor.get("/api/v1/courses", headers).json[0]
    package = vendor.get(course["DownloadPackageUrl"], headers).data
    crs_title = validate(package).courses[0].course_title
    assert course["Title"] != crs_title
    assert course["Title"].startswith(crs_title)


# ------------------------------------------------------------------ PKG / AICC-001


def test_fault_no_auth_package(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["no_auth_package@course:CRS-00003"])
    assert vendor.get("/api/v1/courses/CRS-00003/package.zip").status_code == 200
    assert vendor.get("/api/v1/courses/CRS-00004/package.zip").status_code == 401
    assert vendor.get("/api/v1/courses").status_code == 401


def test_fault_wrong_content_type(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["wrong_content_type:application/octet-stream"])
    headers = vendor.auth()
    response = vendor.get(vendor.first_package_url(headers), headers)
    assert response.mimetype == "application/octet-stream"


@pytest.mark.live
def test_fault_lying_content_length(live_vendor_factory: Any) -> None:
    vendor = live_vendor_factory(FAULTS=["lying_content_length:500"])
    headers = _live_auth(vendor)
    url = requests.get(vendor.course_list_url, headers=headers, timeout=10).json()[0][
        "DownloadPackageUrl"
    ]
    head = requests.head(url, headers=headers, timeout=10)
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="500 more expected"):
        requests.get(url, headers=headers, timeout=10).content  # noqa: B018
    vendor.admin.clear_fault("lying_content_length")
    honest = requests.head(url, headers=headers, timeout=10)
    assert int(head.headers["Content-Length"]) == int(honest.headers["Content-Length"]) + 500


def test_fault_no_range(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["no_range"])
    headers = vendor.auth()
    response = vendor.get(vendor.first_package_url(headers), {**headers, "Range": "bytes=0-9"})
    assert response.status_code == 200
    assert len(response.data) > 10


def test_fault_corrupt_zip(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["corrupt_zip"])
    headers = vendor.auth()
    response = vendor.get(vendor.first_package_url(headers), headers)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert not zipfile.is_zipfile(io.BytesIO(response.data))
    assert int(response.headers["Content-Length"]) == len(response.data)


def test_fault_aicc_defect(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["aicc_defect"], COURSES=12, PAGE_SIZE=50)
    headers = vendor.auth()
    courses = vendor.get("/api/v1/courses", headers).json
    rules: set[str] = set()
    for course in courses:
        data = vendor.get(course["DownloadPackageUrl"], headers).data
        assert zipfile.is_zipfile(io.BytesIO(data))
        report = validate(data)
        assert not report.valid, course["ID"]
        rules.update(d.rule for d in report.errors)
    assert len(rules) >= 4  # the defect kind rotates


# ------------------------------------------------------------------ admin and live use


def _live_auth(vendor: Any) -> dict[str, str]:
    response = requests.post(
        vendor.auth_url,
        data={"grant_type": "client_credentials"},
        auth=(vendor.client_id, vendor.client_secret),
        timeout=10,
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.mark.live
def test_faults_are_switched_through_the_admin_api(live_vendor: Any) -> None:
    headers = _live_auth(live_vendor)
    live_vendor.admin.set_fault("server_error:1@list")
    assert live_vendor.admin.faults()[0]["requirement"] == "transport"
    assert requests.get(live_vendor.course_list_url, headers=headers, timeout=10).status_code == 500
    assert requests.get(live_vendor.course_list_url, headers=headers, timeout=10).status_code == 200
    live_vendor.admin.set_fault("list_wrapped")
    live_vendor.admin.clear_fault("server_error")
    assert [f["name"] for f in live_vendor.admin.faults()] == ["list_wrapped"]
    live_vendor.admin.clear_fault()
    assert live_vendor.admin.faults() == []
    body = requests.get(live_vendor.course_list_url, headers=headers, timeout=10).json()
    assert isinstance(body, list)
    journal = live_vendor.admin.journal()
    assert [e["faults"] for e in journal[-3:]] == [["server_error"], [], []]


def test_aicc_defect_serves_a_non_zip_upload_unchanged(tmp_path: Path) -> None:
    vendor = Vendor(tmp_path, ["aicc_defect"])
    vendor.client.put(
        "/_admin/courses/CRS-00003/package",
        data=b"not a zip",
        headers={"Authorization": "Bearer admin"},
    )
    response = vendor.get("/api/v1/courses/CRS-00003/package.zip", vendor.auth())
    assert response.status_code == 200
    assert response.data == b"not a zip"
