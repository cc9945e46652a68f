"""Sources and packages: folders, zip paths, zip bytes, mappings; grouping; zip safety caps."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aicc._package import ZipLimits
from aicc._package import load
from aicc.errors import SourceError
from aicc.reader import read
from aicc.validator import validate

FIXTURE = Path(__file__).parent / "fixtures" / "aicc" / "valid" / "level1-crlf"


def _files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(FIXTURE.iterdir())}


def _zip(entries: dict[str, bytes], *, infos: list[zipfile.ZipInfo] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for info in infos or []:
            archive.writestr(info, b"payload")
    return buffer.getvalue()


def _rules(report_source: object, **kwargs: object) -> set[str]:
    report = validate(report_source, **kwargs)  # type: ignore[arg-type]
    return {d.rule for d in report.diagnostics}


def test_folder_zip_path_zip_bytes_and_mapping_read_the_same_course(tmp_path: Path) -> None:
    data = _zip(_files())
    zip_path = tmp_path / "course.zip"
    zip_path.write_bytes(data)
    reports = [read(FIXTURE), read(str(FIXTURE)), read(zip_path), read(data), read(_files())]
    courses = [r.courses for r in reports]
    assert all(c == courses[0] for c in courses)
    assert courses[0][0].course_id == "FIX-001"
    assert all(r.diagnostics == [] for r in reports)


def test_missing_path_raises_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or folder"):
        read(tmp_path / "nope")
    with pytest.raises(SourceError):
        validate(str(tmp_path / "nope.zip"))


def test_unsupported_source_type_raises_source_error() -> None:
    with pytest.raises(SourceError):
        load(42)  # type: ignore[arg-type]


def test_a_file_that_is_not_a_zip_is_a_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "course.crs"
    path.write_bytes(b"[Course]\r\n")
    report = validate(path)
    # One finding that says what to give instead, not also "no .crs" (PKG001).
    assert [d.rule for d in report.errors] == ["PKG010"]
    assert "single .crs file, not a course package: give the folder" in report.errors[0].message


def test_a_file_that_is_not_a_zip_nor_an_aicc_file_is_one_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "course.zip"
    path.write_bytes(b"not a zip")
    report = validate(path)
    assert [d.rule for d in report.errors] == ["PKG010"]
    assert "is not a readable zip archive" in report.errors[0].message


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04garbage", b"\x00" * 100, b"not a zip"])
def test_bad_zip_bytes_never_raise(data: bytes) -> None:
    report = validate(data)
    assert "PKG010" in {d.rule for d in report.errors}
    assert report.courses == []


def test_corrupt_entry_is_reported_and_skipped() -> None:
    data = bytearray(
        _zip({"course.au": b"x" * 5000, **{k: v for k, v in _files().items() if k != "course.au"}})
    )
    # Flip bytes inside the first entry's compressed data: CRC or inflate fails on read.
    offset = data.index(b"course.au") + len("course.au") + 5
    data[offset : offset + 4] = b"\xff\xff\xff\xff"
    report = validate(bytes(data))
    assert "PKG010" in {d.rule for d in report.errors}


def test_entry_count_cap() -> None:
    data = _zip({**_files(), **{f"content/{i}.html": b"x" for i in range(10)}})
    report = validate(data, limits=ZipLimits(max_entries=5))
    assert sorted(d.rule for d in report.errors) == ["PKG001", "PKG011"]
    assert report.courses == []


def test_total_size_cap() -> None:
    data = _zip({**_files(), "video.mp4": b"\x00" * 50_000})
    report = validate(data, limits=ZipLimits(max_total_size=10_000))
    assert "PKG011" in {d.rule for d in report.errors}
    assert report.courses == []


def test_compression_ratio_cap_skips_the_entry() -> None:
    files = _files()
    files["course.des"] += b'"X1","","' + b"a" * 200_000 + b'",""\r\n'
    report = validate(_zip(files), limits=ZipLimits(max_ratio=50, ratio_min_size=100_000))
    assert "PKG011" in {d.rule for d in report.errors}
    # The DES was not read, so the course lacks it.
    assert "PKG002" in {d.rule for d in report.errors}


def test_file_size_cap_in_mapping_and_folder(tmp_path: Path) -> None:
    files = _files()
    report = validate(files, limits=ZipLimits(max_file_size=100))
    assert "PKG011" in {d.rule for d in report.errors}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    report = validate(tmp_path, limits=ZipLimits(max_file_size=100))
    assert "PKG011" in {d.rule for d in report.errors}


def test_folder_entry_cap(tmp_path: Path) -> None:
    for name, data in _files().items():
        (tmp_path / name).write_bytes(data)
    report = validate(tmp_path, limits=ZipLimits(max_entries=2))
    assert "PKG011" in {d.rule for d in report.errors}


def test_unsafe_entries_are_reported_and_not_read() -> None:
    link = zipfile.ZipInfo("course.pre")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    raw = bytearray(
        _zip(
            {**_files(), "../evil.au": b"x", "/abs/path.html": b"x", "C:/windows.txt": b"x"},
            infos=[link, zipfile.ZipInfo("secret.cmp")],
        )
    )
    # zipfile cannot write encrypted entries: set the flag in the central directory.
    central = raw.index(b"PK\x01\x02")
    while raw[central + 46 : central + 46 + len(b"secret.cmp")] != b"secret.cmp":
        central = raw.index(b"PK\x01\x02", central + 4)
    raw[central + 8] |= 0x1
    report = validate(bytes(raw))
    unsafe = sorted(d.message for d in report.diagnostics if d.rule == "PKG012")
    assert len(unsafe) == 5
    assert any("symbolic link" in m for m in unsafe)
    assert any("encrypted" in m for m in unsafe)
    assert any("'..'" in m for m in unsafe)
    # The safe course still reads.
    assert report.courses[0].course_id == "FIX-001"
    assert report.courses[0].prerequisites == []


def test_apple_double_stubs_are_ignored_with_one_diagnostic() -> None:
    files = {**_files(), "__MACOSX/._course.au": b"\x00\x05\x16\x07", "._course.des": b"\x00"}
    report = validate(_zip(files))
    assert [d.rule for d in report.diagnostics] == ["PKG009"]
    assert "and 1 more" in report.diagnostics[0].message
    assert len(report.courses) == 1


def test_files_in_one_top_folder_are_found_with_a_warning() -> None:
    report = validate(_zip({f"pkg/{k}": v for k, v in _files().items()}))
    assert [d.rule for d in report.diagnostics] == ["PKG005"]
    assert report.diagnostics[0].file == "pkg/course.crs"
    assert report.courses[0].base_name == "course"


def test_several_sets_are_grouped_by_base_name_case_insensitively() -> None:
    files = _files()
    second = {k.replace("course", "OTHER").upper(): v for k, v in files.items()}
    report = read(_zip({**files, **second}))
    assert sorted(c.base_name for c in report.courses) == ["OTHER", "course"]
    assert "PKG004" in {d.rule for d in report.diagnostics}
    assert sum(d.rule == "PKG006" for d in report.diagnostics) == 4


def test_set_without_crs_and_set_missing_files() -> None:
    files = _files()
    mapping = {**files, "lost.au": files["course.au"], "lost.des": files["course.des"]}
    del mapping["course.cst"]
    report = validate(mapping)
    by_rule = report.by_rule()
    assert by_rule["PKG001"][0].message.startswith("no .crs file for the course set 'lost'")
    assert by_rule["PKG002"][0].message == "course set 'course' has no .cst file"


def test_two_files_for_one_slot_keep_the_lower_case_one() -> None:
    files = _files()
    report = read({"course.AU": b"ignored", **files, "sub/course.au": files["course.au"]})
    assert {"PKG003", "PKG006", "PKG001"} <= {d.rule for d in report.diagnostics}
    pkg003 = report.by_rule()["PKG003"][0]
    assert pkg003.file == "course.AU"
    assert len(report.courses) == 1
    assert len(report.courses[0].aus) == 2


def test_mapping_values_may_be_str_or_bytearray_and_bad_values_are_reported() -> None:
    files = _files()
    mapping: dict[str, object] = {
        "course.crs": files["course.crs"].decode(),
        "course.au": bytearray(files["course.au"]),
        "course.des": memoryview(files["course.des"]),
        "course.cst": files["course.cst"],
        "course.pre": 12,
        "\\sub\\": b"",
    }
    report = validate(mapping)  # type: ignore[arg-type]
    assert [d.rule for d in report.diagnostics] == ["PKG013"]
    assert report.courses[0].aus[0].system_id == "A1"


def test_empty_source_reports_no_crs() -> None:
    report = validate({})
    assert [d.rule for d in report.diagnostics] == ["PKG001"]
    assert report.courses == []


def test_content_file_check_only_in_packages_with_content() -> None:
    files = _files()
    assert "AU014" not in _rules(files)  # structure files alone: hosted content
    with_content = {**files, "lesson1/index.html": b"<html/>"}
    report = validate(with_content)
    au014 = report.by_rule()["AU014"]
    assert len(au014) == 1
    assert "lesson2/index.html" in au014[0].message


def test_folder_listing_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Running as root makes permission errors hard to provoke: simulate os.walk's onerror.
    for name, data in _files().items():
        (tmp_path / name).write_bytes(data)
    real_walk = os.walk

    def walk_with_error(top: Path, onerror: Callable[[OSError], None]) -> Iterator[Any]:
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "locked")))
        yield from real_walk(top)

    monkeypatch.setattr(os, "walk", walk_with_error)
    report = validate(tmp_path)
    assert [(d.rule, d.file) for d in report.diagnostics] == [("PKG013", "locked")]
    assert report.courses

    def walk_failing_at_root(top: Path, onerror: Callable[[OSError], None]) -> Iterator[Any]:
        onerror(PermissionError(13, "Permission denied", str(tmp_path)))
        yield from ()

    monkeypatch.setattr(os, "walk", walk_failing_at_root)
    with pytest.raises(SourceError, match="cannot list the folder"):
        validate(tmp_path)


def test_entry_with_empty_name_is_reported_not_raised() -> None:
    # A one-byte corruption of a central directory can leave an entry with no name;
    # ZipInfo.is_dir() raises IndexError on it, which must become a diagnostic.
    data = _zip(_files(), infos=[zipfile.ZipInfo("")])
    report = validate(data)
    assert "PKG999" not in {d.rule for d in report.diagnostics}
    assert any(d.rule == "PKG010" and "empty file name" in d.message for d in report.diagnostics)
