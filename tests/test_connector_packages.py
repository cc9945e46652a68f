"""Package download: byte cap, sha256, resume with Range, 200-instead-of-206, checks."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from urllib3.exceptions import ProtocolError

from connector import packages
from connector.errors import PackageError
from connector.http import VendorSession
from connector.http import make_session
from connector.packages import AiccPackageError
from connector.packages import download
from connector.packages import fetch_package

URL = "https://cdn.vendor.example/pkg/C1.zip"
CHUNK = packages._CHUNK
ETAG = '"v1-abc"'


@dataclass(frozen=True)
class Opts:
    timeout: float = 5.0
    retries: int = 0
    max_retry_after: float = 1.0
    backoff_factor: float = 0.0


def empty(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def session() -> VendorSession:
    return make_session(Opts(), provider_url="https://cdn.vendor.example/courses")


def payload(size: int = 200_000) -> bytes:
    # Incompressible-ish, deterministic bytes.
    out = bytearray()
    seed = b"cckit"
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:size])


class BrokenBody(io.RawIOBase):
    """A body that delivers ``cut`` bytes and then fails like a dropped connection."""

    def __init__(self, data: bytes, cut: int) -> None:
        self._data = data[:cut]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._pos >= len(self._data):
            raise ProtocolError("Connection broken: IncompleteRead")
        n = min(len(buffer), len(self._data) - self._pos, 8192)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


class Server:
    """A `responses` callback serving ``data`` with Range support and scripted faults."""

    def __init__(self, data: bytes, *, cuts: list[int], honour_range: bool = True) -> None:
        self.data = data
        self.cuts = list(cuts)
        self.honour_range = honour_range
        self.requests: list[dict[str, str]] = []

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], Any]:
        headers = dict(request.headers)
        self.requests.append(headers)
        start = 0
        status = 200
        rng = headers.get("Range")
        if rng and self.honour_range and headers.get("If-Range") == ETAG:
            start = int(rng.removeprefix("bytes=").rstrip("-"))
            status = 206
        body = self.data[start:]
        out = {"ETag": ETAG, "Content-Length": str(len(body)), "Content-Type": "application/zip"}
        if status == 206:
            out["Content-Range"] = f"bytes {start}-{len(self.data) - 1}/{len(self.data)}"
        if self.cuts:
            return status, out, io.BufferedReader(BrokenBody(body, self.cuts.pop(0)))
        return status, out, body


def serve(server: Server) -> None:
    responses.add_callback(responses.GET, URL, callback=server)


@responses.activate
def test_download_streams_and_hashes(tmp_path: Path) -> None:
    data = payload()
    serve(Server(data, cuts=[]))
    got = download(session(), URL, tmp_path, course_id="C1")
    assert got.data() == data
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert got.size == len(data)
    assert (got.requests, got.resumed) == (1, 0)


@responses.activate
def test_truncated_transfer_resumes_with_range_and_if_range(tmp_path: Path) -> None:
    # Bytes are read in chunks of CHUNK; a chunk cut short is lost and fetched again.
    data = payload(3 * CHUNK + 1000)
    server = Server(data, cuts=[CHUNK + 100, CHUNK + 200])
    serve(server)
    got = download(session(), URL, tmp_path, course_id="C1", attempts=3)
    assert got.data() == data
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert got.resumed == 2
    assert [r.get("Range") for r in server.requests] == [
        None,
        f"bytes={CHUNK}-",
        f"bytes={2 * CHUNK}-",
    ]
    assert all(r.get("If-Range") == ETAG for r in server.requests[1:])
    assert server.requests[0]["Accept-Encoding"] == "identity"


@responses.activate
def test_vendor_answering_200_to_range_restarts_cleanly(tmp_path: Path) -> None:
    data = payload(2 * CHUNK + 1000)
    server = Server(data, cuts=[CHUNK + 100], honour_range=False)
    serve(server)
    got = download(session(), URL, tmp_path, course_id="C1", attempts=2)
    assert got.data() == data  # not 80 KB of the first try + the whole body
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert got.resumed == 0
    assert server.requests[1].get("Range") == f"bytes={CHUNK}-"


@responses.activate
def test_still_broken_after_attempts_fails_and_leaves_nothing(tmp_path: Path) -> None:
    data = payload()
    serve(Server(data, cuts=[10, 10, 10]))
    with pytest.raises(PackageError, match=r"failed after 3 attempt\(s\)") as info:
        download(session(), URL, tmp_path, course_id="C1", attempts=3)
    assert info.value.course_id == "C1"
    assert empty(tmp_path)


@responses.activate
def test_content_length_over_cap_is_refused_before_reading(tmp_path: Path) -> None:
    serve(Server(payload(), cuts=[]))
    with pytest.raises(PackageError, match="Content-Length 200000 over the size cap of 1000"):
        download(session(), URL, tmp_path, course_id="C1", max_bytes=1000)
    assert empty(tmp_path)


@responses.activate
def test_body_over_cap_is_cut_without_content_length(tmp_path: Path) -> None:
    # No Content-Length (chunked): only our own byte count can stop it.
    responses.get(URL, body=payload(), auto_calculate_content_length=False)
    with pytest.raises(PackageError, match="more than the size cap of 1000 bytes"):
        download(session(), URL, tmp_path, course_id="C1", max_bytes=1000)
    assert empty(tmp_path)


@responses.activate
def test_error_statuses(tmp_path: Path) -> None:
    responses.get(URL, status=404)
    with pytest.raises(PackageError, match="HTTP 404"):
        download(session(), URL, tmp_path, course_id="C1")
    responses.replace(responses.GET, URL, status=401)
    with pytest.raises(PackageError, match="credentials rejected"):
        download(session(), URL, tmp_path, course_id="C1")
    responses.replace(responses.GET, URL, status=503)
    with pytest.raises(PackageError, match="HTTP 503"):
        download(session(), URL, tmp_path, course_id="C1", attempts=2)


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def ok_validator(course_id: str, package: bytes | Path) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(package) if isinstance(package, bytes) else package) as zf:
        return {"valid": True, "files": sorted(zf.namelist())}


@responses.activate
def test_fetch_package_extracts_into_sha_folder(tmp_path: Path) -> None:
    data = zip_bytes({"c.crs": b"[Course]", "c.au": b"x"})
    responses.get(URL, body=data, content_type="application/zip")
    course_dir = tmp_path / "content" / "acme" / "C1"
    version = fetch_package(session(), URL, course_dir, course_id="C1", validate=ok_validator)
    sha = hashlib.sha256(data).hexdigest()
    assert version.sha256 == sha
    assert version.stored_path == course_dir.resolve() / sha
    assert (version.stored_path / "c.crs").read_bytes() == b"[Course]"
    assert version.aicc_summary == {"valid": True, "files": ["c.au", "c.crs"]}
    assert [p.name for p in course_dir.iterdir()] == [sha]  # no temp leftovers


@responses.activate
def test_unsafe_zip_fails_the_course_and_writes_nothing(tmp_path: Path) -> None:
    responses.get(URL, body=zip_bytes({"../evil": b"x"}))
    course_dir = tmp_path / "C1"
    with pytest.raises(PackageError, match="unsafe or corrupt zip"):
        fetch_package(session(), URL, course_dir, course_id="C1", validate=ok_validator)
    assert empty(course_dir)


@responses.activate
def test_validator_rejection_keeps_nothing(tmp_path: Path) -> None:
    responses.get(URL, body=zip_bytes({"c.crs": b"bad"}))

    def reject(course_id: str, package: bytes | Path) -> dict[str, Any]:
        raise AiccPackageError(course_id, "c.crs:1: CRS001 broken", ["AICC-001", "CRS001"], [])

    course_dir = tmp_path / "C1"
    with pytest.raises(AiccPackageError) as info:
        fetch_package(session(), URL, course_dir, course_id="C1", validate=reject)
    assert info.value.rule_ids == ["AICC-001", "CRS001"]
    assert empty(course_dir)


@responses.activate
def test_large_package_spools_to_a_temporary_file_that_is_removed(tmp_path: Path) -> None:
    data = payload(3 * CHUNK)
    server = Server(data, cuts=[CHUNK + 100])  # resumed while on disk
    serve(server)
    got = download(session(), URL, tmp_path, course_id="C1", spool_bytes=CHUNK // 2, attempts=3)
    assert isinstance(got.source, Path)
    assert got.source.parent == tmp_path
    assert got.source.name.startswith(".tmp-dl-")
    assert got.data() == data
    assert got.resumed == 1
    got.discard()
    assert empty(tmp_path)


@responses.activate
def test_small_package_stays_in_memory(tmp_path: Path) -> None:
    data = payload(1000)
    serve(Server(data, cuts=[]))
    got = download(session(), URL, tmp_path / "course", course_id="C1")
    assert got.source == data
    assert not (tmp_path / "course").exists()
