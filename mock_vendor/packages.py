"""``GET``/``HEAD /api/v1/courses/<ID>/package.zip``: streamed AICC packages.

Answers carry ``Content-Length``, a SHA-256-based ``ETag``, ``Last-Modified`` (the
course's PackageLastModifiedUTC) and ``Accept-Ranges: bytes``. One byte range is served
with ``206``; an unsatisfiable or malformed ``bytes=`` range gets ``416``; several ranges
are answered with the whole body (RFC 9110 lets a server ignore them). ``If-None-Match``
gets ``304`` and ``If-Range`` is honoured.

Each of these SHOULD features (contract section 4) can be switched off with a config key
to play a vendor that implements only the MUST rules: ``ETAG`` (ETag, If-None-Match and
If-Range; PKG-005), ``LAST_MODIFIED_HEADER`` (PKG-006), ``HEAD_SUPPORT`` (off: HEAD gets
405; PKG-007) and ``RANGE_SUPPORT`` (off: Range is ignored, ``Accept-Ranges: none``;
PKG-008).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import time
import zipfile
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path

import flask
from werkzeug.http import http_date
from werkzeug.http import parse_etags
from werkzeug.http import parse_range_header

from mock_vendor.auth import authenticate
from mock_vendor.errors import APIError
from mock_vendor.faults import ActiveFault
from mock_vendor.model import CourseRecord
from mock_vendor.state import get_state
from mock_vendor.state import note_fault

bp = flask.Blueprint("packages", __name__)

_CHUNK = 64 * 1024


def _file_chunks(path: Path, start: int, length: int) -> Iterator[bytes]:
    # Opened lazily: a HEAD response never iterates, so never opens the file.
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def _memory_chunks(data: bytes, start: int, length: int) -> Iterator[bytes]:
    view = memoryview(data)[start : start + length]
    for offset in range(0, len(view), _CHUNK):
        yield bytes(view[offset : offset + _CHUNK])


def _dribble(chunks: Iterable[bytes], bytes_per_second: int) -> Iterator[bytes]:
    """Pace ``chunks`` at ``bytes_per_second``, in pieces of a tenth of a second each.

    The pace is kept against the clock from the first byte (not one sleep per piece),
    so that a rate above ten body chunks per second is honoured too.
    """
    step = max(1, bytes_per_second // 10)
    started = time.monotonic()
    sent = 0
    for chunk in chunks:
        for offset in range(0, len(chunk), step):
            piece = chunk[offset : offset + step]
            yield piece
            sent += len(piece)
            ahead = started + sent / bytes_per_second - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)


def corrupt(data: bytes) -> bytes:
    """The ``corrupt_zip`` fault: overwrite every central-directory and end record."""
    return data.replace(b"PK\x01\x02", b"XX\x01\x02").replace(b"PK\x05\x06", b"XX\x05\x06")


LineEdit = Callable[[list[str]], list[str]]


def _drop_keyword(keyword: str) -> LineEdit:
    def edit(lines: list[str]) -> list[str]:
        return [line for line in lines if not line.strip().lower().startswith(keyword.lower())]

    return edit


def _unknown_cst_member(lines: list[str]) -> list[str]:
    # Add a member the AU table does not define to the first record after the header.
    if len(lines) >= 2:
        lines = list(lines)
        lines[1] = lines[1].rstrip() + ',"A999"'
    return lines


def _duplicate_au(lines: list[str]) -> list[str]:
    # Repeat the first AU record: System_IDs must be unique.
    if len(lines) >= 2:
        return [*lines[:2], lines[1], *lines[2:]]
    return lines


def _drop_header(lines: list[str]) -> list[str]:
    return lines[1:]


#: AICC defects applied by the ``aicc_defect`` fault, in rotation by course ``seq``:
#: (name, file extension, edit of the file's text lines). Each one is an error of the
#: ``aicc`` validator (tests/test_mock_vendor_faults.py checks it).
AICC_DEFECTS: list[tuple[str, str, LineEdit]] = [
    ("crs-missing-course-id", ".crs", _drop_keyword("Course_ID")),
    ("cst-unknown-member", ".cst", _unknown_cst_member),
    ("au-duplicate-system-id", ".au", _duplicate_au),
    ("crs-missing-course-title", ".crs", _drop_keyword("Course_Title")),
    ("des-missing-header", ".des", _drop_header),
]


def inject_aicc_defect(data: bytes, number: int) -> tuple[bytes, str]:
    """Rewrite one AICC file of a package with defect ``number % len(AICC_DEFECTS)``.

    Returns:
        The new zip bytes and the defect's name.

    Raises:
        zipfile.BadZipFile: ``data`` is not a zip archive.
    """
    name, extension, edit = AICC_DEFECTS[number % len(AICC_DEFECTS)]
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.lower().endswith(extension):
                text = content.decode("utf-8-sig", errors="replace")
                newline = "\r\n" if "\r\n" in text else "\n"
                lines = edit(text.splitlines())
                content = (newline.join(lines) + newline).encode("utf-8")
            target.writestr(info, content)
    return out.getvalue(), name


#: The faults a package answer may carry.
_PACKAGE_FAULTS = (
    "wrong_content_type",
    "lying_content_length",
    "truncated_download",
    "slow_download",
    "no_range",
    "corrupt_zip",
    "aicc_defect",
)


def _body(
    path: Path,
    data: bytes | None,
    start: int,
    length: int,
    size: int,
    faults: dict[str, ActiveFault | None],
) -> Iterable[bytes]:
    """The body iterable of a package answer.

    The common case (a GET of the file up to its end, no fault on) goes through the
    server's ``wsgi.file_wrapper`` when it has one: waitress then sends the file from its
    I/O thread in large reads instead of a worker thread looping over 64 KiB chunks.
    PEP 3333 lets a file wrapper send up to the end of the file, so a range that stops
    short of the end keeps the generator.
    """
    if data is not None:
        return _memory_chunks(data, start, length)
    wrapper = flask.request.environ.get("wsgi.file_wrapper")
    if (
        wrapper is not None
        and flask.request.method == "GET"
        and start + length == size
        and not any(faults.values())
    ):
        handle = path.open("rb")
        handle.seek(start)
        iterable: Iterable[bytes] = wrapper(handle, _CHUNK)
        return iterable
    return _file_chunks(path, start, length)


def _lookup(course_id: str) -> CourseRecord:
    tenant = authenticate("package", course_id)
    record = tenant.by_id.get(course_id)  # one dict read: no lock needed
    if record is None:
        raise APIError(404, "not_found", f"There is no course with ID {course_id!r}.")
    if not record.is_active:
        raise APIError(404, "not_found", f"Course {course_id!r} is inactive: no package.")
    return record


@bp.route("/api/v1/courses/<course_id>/package.zip", methods=["GET", "HEAD"])
def package(course_id: str) -> flask.Response:
    """Serve a course package (contract section 4)."""
    check_head_allowed()
    return send_package(_lookup(course_id))


def check_head_allowed() -> None:
    """Refuse HEAD with 405 when ``HEAD_SUPPORT`` is off.

    Like a server whose route knows only GET: refused before anything is looked up.
    """
    if flask.request.method == "HEAD" and not get_state().features["HEAD_SUPPORT"]:
        raise APIError(
            405,
            "method_not_allowed",
            "This vendor answers package downloads to GET only (HEAD_SUPPORT is off).",
            {"Allow": "GET"},
        )


Faults = dict[str, ActiveFault | None]


def send_package(record: CourseRecord) -> flask.Response:
    """The answer to a package request for an active course whose access was checked."""
    state = get_state()
    features = state.features
    try:
        info = record.package.info()
    except OSError as exc:
        state.record_problem(f"package {record.course_id}: {exc}")
        raise APIError(
            500, "internal_error", f"The package of {record.course_id!r} is unavailable."
        ) from exc
    faults: Faults = dict.fromkeys(_PACKAGE_FAULTS)
    if state.faults:
        with state.lock:
            faults = {name: state.faults.get(name, "package", record.course_id) for name in faults}
    data, size, etag = _faulted_bytes(record, faults, info.size, info.etag)
    headers = _validator_headers(features, record, etag)
    if_none_match = flask.request.headers.get("If-None-Match")
    if (
        features["ETAG"]
        and if_none_match
        and parse_etags(if_none_match).contains_weak(etag.strip('"'))
    ):
        return flask.Response(status=304, headers=headers)
    status, start, length = _range(features, faults, size, etag, headers)
    chunks = _body(info.path, data, start, length, size, faults)
    chunks, declared, mimetype = _transport_faults(chunks, length, faults, headers)
    headers["Content-Length"] = str(declared)
    if flask.request.method == "HEAD":
        chunks = iter(())
    return flask.Response(
        chunks, status=status, headers=headers, mimetype=mimetype, direct_passthrough=True
    )


def _faulted_bytes(
    record: CourseRecord, faults: Faults, size: int, etag: str
) -> tuple[bytes | None, int, str]:
    """The bytes rewritten by ``corrupt_zip``/``aicc_defect`` (``None``: the file as is)."""
    if not (faults["corrupt_zip"] or faults["aicc_defect"]):
        return None, size, etag
    data = record.package.read_bytes()
    if faults["aicc_defect"]:
        note_fault("aicc_defect")
        # Not a zip (an uploaded package): nothing AICC to break, serve it as it is.
        with contextlib.suppress(zipfile.BadZipFile):
            data, _ = inject_aicc_defect(data, record.seq)
    if faults["corrupt_zip"]:
        note_fault("corrupt_zip")
        data = corrupt(data)
    return data, len(data), f'"sha256-{hashlib.sha256(data).hexdigest()[:32]}"'


def _validator_headers(
    features: dict[str, bool], record: CourseRecord, etag: str
) -> dict[str, str]:
    headers = {"Cache-Control": "private, no-cache"}
    if features["ETAG"]:
        headers["ETag"] = etag
    if features["LAST_MODIFIED_HEADER"]:
        headers["Last-Modified"] = http_date(record.package_last_modified)
    # RFC 9110 14.3: "none" tells a client not to try ranges.
    headers["Accept-Ranges"] = "bytes" if features["RANGE_SUPPORT"] else "none"
    return headers


def _range(
    features: dict[str, bool], faults: Faults, size: int, etag: str, headers: dict[str, str]
) -> tuple[int, int, int]:
    """``(status, start, length)`` of the answer; sets ``Content-Range`` on a 206.

    Raises:
        APIError: 416 for a malformed or unsatisfiable byte range.
    """
    range_header = flask.request.headers.get("Range") if features["RANGE_SUPPORT"] else None
    if_range = flask.request.headers.get("If-Range")
    # Without ETags no If-Range validator can match: the whole body is sent (RFC 9110 13.1.5).
    use_range = range_header is not None and (
        if_range is None or (features["ETAG"] and if_range.strip() == etag)
    )
    if use_range and faults["no_range"]:
        note_fault("no_range")
        use_range = False
    if not use_range or range_header is None:
        return 200, 0, size
    unsatisfiable = {"Content-Range": f"bytes */{size}"}
    parsed = parse_range_header(range_header)
    if parsed is None or parsed.units != "bytes":
        if range_header.strip().lower().startswith("bytes"):
            # A malformed bytes range: rejecting it is allowed (RFC 9110 14.2).
            raise APIError(
                416,
                "range_not_satisfiable",
                f"The Range header {range_header!r} is not a valid byte range.",
                unsatisfiable,
            )
        return 200, 0, size
    if len(parsed.ranges) != 1:
        return 200, 0, size  # several ranges: the whole body (RFC 9110 allows it)
    bounds = parsed.range_for_length(size)
    if bounds is None:
        raise APIError(
            416,
            "range_not_satisfiable",
            f"The range {range_header!r} is outside the {size}-byte package.",
            unsatisfiable,
        )
    start, stop = bounds
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return 206, start, stop - start


def _transport_faults(
    chunks: Iterable[bytes], length: int, faults: Faults, headers: dict[str, str]
) -> tuple[Iterable[bytes], int, str]:
    """Apply the faults that bend the transfer: ``(chunks, declared length, mimetype)``."""
    declared = length
    if faults["truncated_download"] and flask.request.method == "GET":
        note_fault("truncated_download")
        sent = int(length * float(faults["truncated_download"].arg))
        chunks = _memory_chunks(b"".join(chunks), 0, sent)
        headers["Connection"] = "close"
    if faults["lying_content_length"]:
        note_fault("lying_content_length")
        declared = length + int(faults["lying_content_length"].arg)
        headers["Connection"] = "close"
    if faults["slow_download"]:
        note_fault("slow_download")
        chunks = _dribble(chunks, int(faults["slow_download"].arg))
    mimetype = "application/zip"
    if faults["wrong_content_type"]:
        note_fault("wrong_content_type")
        mimetype = str(faults["wrong_content_type"].arg)
    return chunks, declared, mimetype
