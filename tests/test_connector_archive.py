"""Zip safety: hostile archives are rejected before anything is written."""

from __future__ import annotations

import io
import os
import random
import stat
import struct
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from connector.archive import CONTENT_DIR_MODE
from connector.archive import CONTENT_FILE_MODE
from connector.archive import TEMP_PREFIX
from connector.archive import ArchiveLimits
from connector.archive import check_zip
from connector.archive import extract_zip
from connector.errors import UnsafeArchiveError


def make_zip(
    entries: Sequence[tuple[str | zipfile.ZipInfo, bytes]], *, deflate: bool = True
) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name" is what we want to build
        with zipfile.ZipFile(buffer, "w", method) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return buffer.getvalue()


def write(tmp_path: Path, data: bytes, name: str = "pkg.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def patch_central(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Overwrite a field of the (first) central directory header."""
    at = data.index(b"PK\x01\x02") + offset
    return data[:at] + struct.pack(fmt, value) + data[at + struct.calcsize(fmt) :]


def patch_local(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    at = data.index(b"PK\x03\x04") + offset
    return data[:at] + struct.pack(fmt, value) + data[at + struct.calcsize(fmt) :]


def assert_rejected(
    tmp_path: Path, data: bytes, needle: str, limits: ArchiveLimits | None = None
) -> None:
    path = write(tmp_path, data)
    target = tmp_path / "out" / "sha"
    with pytest.raises(UnsafeArchiveError, match=needle):
        check_zip(path, limits)
    with pytest.raises(UnsafeArchiveError, match=needle):
        extract_zip(path, target, limits)
    # Nothing written: neither the target nor a temporary sibling.
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_published_folders_are_0750_and_files_0640_whatever_the_umask(
    tmp_path: Path, umask: int
) -> None:
    """A web server in the cckit user's group can serve the content; others cannot."""
    data = make_zip(
        [
            ("c.crs", b"[Course]\n"),
            ("media/", b""),
            ("media/deep/a.html", b"<p>hi</p>"),
        ]
    )
    path = write(tmp_path, data)
    previous = os.umask(umask)
    try:
        out = extract_zip(path, tmp_path / "content" / "uid" / "CRS-1" / "abc")
    finally:
        os.umask(previous)
    folders = [tmp_path / "content", *[p for p in (tmp_path / "content").rglob("*") if p.is_dir()]]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(folders) == 6
    assert len(files) == 2
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in folders} == {oct(CONTENT_DIR_MODE)}
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {oct(CONTENT_FILE_MODE)}
    assert (CONTENT_DIR_MODE, CONTENT_FILE_MODE) == (0o750, 0o640)


def test_good_archive_extracts_atomically(tmp_path: Path) -> None:
    data = make_zip([("course/c.crs", b"[Course]\n"), ("course/media/a.html", b"<p>hi</p>")])
    target = tmp_path / "content" / "abc"
    out = extract_zip(write(tmp_path, data), target)
    assert out == target.resolve()
    assert (out / "course" / "c.crs").read_bytes() == b"[Course]\n"
    assert (out / "course" / "media" / "a.html").read_bytes() == b"<p>hi</p>"
    assert [p.name for p in target.parent.iterdir()] == ["abc"]
    # Extracting the same content again keeps the existing folder.
    assert extract_zip(write(tmp_path, data), target) == out


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("../evil.txt", r"'\.\.' in the entry path"),
        ("a/../../evil.txt", r"'\.\.' in the entry path"),
        ("/etc/passwd", "absolute path"),
        ("C:/windows/evil.txt", "absolute path"),
        ("a\\..\\evil.txt", "backslash"),
    ],
)
def test_hostile_names_are_rejected(tmp_path: Path, name: str, needle: str) -> None:
    assert_rejected(tmp_path, make_zip([("ok.txt", b"1"), (zipfile.ZipInfo(name), b"x")]), needle)


def test_symlink_entry_is_rejected(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    assert_rejected(tmp_path, make_zip([(info, b"/etc/passwd")]), "symbolic link")


def test_special_file_is_rejected(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("fifo")
    info.create_system = 3
    info.external_attr = (stat.S_IFIFO | 0o644) << 16
    assert_rejected(tmp_path, make_zip([(info, b"")]), "special file")


def test_encrypted_flag_is_rejected(tmp_path: Path) -> None:
    data = patch_central(make_zip([("secret.txt", b"x" * 10)]), 8, "<H", 0x1)
    assert_rejected(tmp_path, data, "encrypted entry")


@pytest.mark.parametrize("second", ["a.txt", "A.TXT"])
def test_duplicate_names_are_rejected(tmp_path: Path, second: str) -> None:
    assert_rejected(tmp_path, make_zip([("a.txt", b"1"), (second, b"2")]), "duplicate")


def test_file_used_as_folder_is_rejected(tmp_path: Path) -> None:
    assert_rejected(tmp_path, make_zip([("a", b"1"), ("a/b", b"2")]), "also a file")


def test_entry_ratio_bomb_is_rejected(tmp_path: Path) -> None:
    data = make_zip([("zeros.bin", b"\0" * (4 * 1024 * 1024))])
    assert_rejected(tmp_path, data, "compression ratio")


def test_total_ratio_bomb_is_rejected(tmp_path: Path) -> None:
    # Many small entries, each under the per-entry threshold, together a bomb.
    entries = [(f"f{i}.bin", b"\0" * 500_000) for i in range(6)]
    limits = ArchiveLimits(max_entry_ratio=10_000)
    assert_rejected(tmp_path, make_zip(entries), "archive compression ratio", limits)


def test_total_size_and_entry_count_caps(tmp_path: Path) -> None:
    entries = [(f"f{i}.txt", b"abc") for i in range(5)]
    assert_rejected(tmp_path, make_zip(entries), "5 entries", ArchiveLimits(max_entries=4))
    assert_rejected(
        tmp_path, make_zip(entries), "uncompressed size over", ArchiveLimits(max_total_size=14)
    )


def test_declared_size_smaller_than_data_is_caught(tmp_path: Path) -> None:
    data = make_zip([("a.bin", b"A" * 1000)], deflate=False)
    data = patch_central(patch_local(data, 22, "<I", 10), 24, "<I", 10)
    path = write(tmp_path, data)
    check_zip(path)  # the directory alone looks fine ...
    with pytest.raises(UnsafeArchiveError):  # ... the data does not match it
        extract_zip(path, tmp_path / "out" / "sha")
    assert list((tmp_path / "out").iterdir()) == []


def test_declared_size_larger_than_data_is_caught(tmp_path: Path) -> None:
    data = make_zip([("a.bin", b"A" * 1000)])
    data = patch_central(patch_local(data, 22, "<I", 5000), 24, "<I", 5000)
    path = write(tmp_path, data)
    with pytest.raises(UnsafeArchiveError):
        extract_zip(path, tmp_path / "out" / "sha")
    assert list((tmp_path / "out").iterdir()) == []


def test_not_a_zip(tmp_path: Path) -> None:
    assert_rejected(tmp_path, b"this is no zip", "not a readable zip")
    assert_rejected(tmp_path, make_zip([("a", b"1")])[:-30], "not a readable zip")


def test_existing_target_is_still_checked(tmp_path: Path) -> None:
    target = tmp_path / "out" / "sha"
    target.mkdir(parents=True)
    path = write(tmp_path, make_zip([(zipfile.ZipInfo("../x"), b"x")]))
    with pytest.raises(UnsafeArchiveError):
        extract_zip(path, target)


_segment = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="_-."),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))


@settings(max_examples=25)
@given(st.lists(st.lists(_segment, min_size=1, max_size=3), min_size=1, max_size=6))
def test_safe_names_round_trip(
    tmp_path_factory: pytest.TempPathFactory, paths: list[list[str]]
) -> None:
    names = ["/".join(p) for p in paths]
    folded = [n.casefold() for n in names]
    tmp = tmp_path_factory.mktemp("z")
    data = make_zip([(n, n.encode()) for n in names])
    path = write(tmp, data)
    clash = len(set(folded)) != len(folded) or any(
        other.startswith(n + "/") for n in folded for other in folded
    )
    if clash:
        with pytest.raises(UnsafeArchiveError):
            extract_zip(path, tmp / "out")
        return
    out = extract_zip(path, tmp / "out")
    for name in names:
        assert (out / name).read_bytes() == name.encode()
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp.iterdir())


@settings(max_examples=25)
@given(
    st.lists(_segment, min_size=0, max_size=2),
    st.lists(_segment, min_size=1, max_size=2),
    st.sampled_from(["..", "/", "\\"]),
)
def test_any_escape_is_rejected(
    tmp_path_factory: pytest.TempPathFactory, head: list[str], tail: list[str], trick: str
) -> None:
    if trick == "..":
        name = "/".join([*head, "..", *tail])
    elif trick == "/":
        name = "/" + "/".join([*head, *tail])
    else:
        name = "\\".join([*head, *tail]) + "\\..\\x"
    tmp = tmp_path_factory.mktemp("z")
    path = write(tmp, make_zip([(zipfile.ZipInfo(name), b"x")]))
    with pytest.raises(UnsafeArchiveError):
        check_zip(path)


# -- zips held in memory (bytes): stored entries are written from the buffer itself ------


def test_bytes_source_extracts_like_a_file(tmp_path: Path) -> None:
    media = random.Random(5).randbytes(2_300_000)  # incompressible, over the 1 MiB slice
    entries = [("course.crs", b"[Course]\n"), ("media/video.bin", media), ("media/a.txt", b"")]
    for deflate in (False, True):
        data = make_zip(entries, deflate=deflate)
        from_file = extract_zip(write(tmp_path, data), tmp_path / f"file-{deflate}")
        from_bytes = extract_zip(data, tmp_path / f"bytes-{deflate}")
        assert check_zip(data) == ["course.crs", "media/video.bin", "media/a.txt"]
        for name, content in entries:
            assert (from_bytes / name).read_bytes() == content
            assert (from_file / name).read_bytes() == content


def _rejected_in_memory(tmp_path: Path, data: bytes, needle: str) -> None:
    target = tmp_path / "out" / "sha"
    with pytest.raises(UnsafeArchiveError, match=needle):
        extract_zip(data, target)
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_bytes_source_stored_entry_with_bad_crc_is_rejected(tmp_path: Path) -> None:
    data = bytearray(make_zip([("a.txt", b"fine"), ("b.bin", b"B" * 5000)], deflate=False))
    data[data.index(b"B" * 5000) + 10] = ord("X")  # same size, different bytes
    check_zip(bytes(data))  # the directory alone looks fine ...
    _rejected_in_memory(tmp_path, bytes(data), "CRC")  # ... and a.txt is not left behind


def test_bytes_source_stored_size_mismatch_is_rejected(tmp_path: Path) -> None:
    data = make_zip([("a.bin", b"A" * 1000)], deflate=False)
    data = patch_central(patch_local(data, 22, "<I", 10), 24, "<I", 10)
    _rejected_in_memory(tmp_path, data, "declared|corrupt zip data")


def test_bytes_source_local_header_must_match(tmp_path: Path) -> None:
    data = make_zip([("a.bin", b"A" * 1000)], deflate=False)
    renamed = data.replace(
        b"PK\x03\x04" + data[4:30] + b"a.bin", b"PK\x03\x04" + data[4:30] + b"x.bin"
    )
    assert renamed != data
    _rejected_in_memory(tmp_path, renamed, "differ")
    broken = data.replace(b"PK\x03\x04", b"PK\x07\x08", 1)
    _rejected_in_memory(tmp_path / "2", broken, "corrupt zip data|not a readable zip")
    truncated = data[:40] + data[1040:]  # the data runs into the central directory
    _rejected_in_memory(tmp_path / "3", truncated, "not a readable zip|past the end|CRC")
