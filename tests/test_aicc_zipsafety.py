"""aicc.zipsafety: the one set of zip safety rules (reader, connector and suite use it)."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from aicc import zipsafety


def _info(name: str, *, mode: int = 0, flags: int = 0) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.flag_bits = flags
    return info


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("course.crs", []),
        ("a/b/c.html", []),
        ("a..b/c", []),
        ("", ["nul"]),
        ("/etc/passwd", ["absolute"]),
        ("\\windows\\x", ["backslash", "absolute"]),
        ("C:/x", ["absolute"]),
        ("../up", ["dotdot"]),
        ("a\\..\\up", ["backslash", "dotdot"]),
        ("a/b\\c", ["backslash"]),
    ],
)
def test_names_are_classified(name: str, kinds: list[str]) -> None:
    assert zipsafety.classify(_info(name)) == kinds


def test_modes_and_flags_are_classified() -> None:
    assert zipsafety.classify(_info("l", mode=stat.S_IFLNK | 0o777)) == ["link"]
    assert zipsafety.classify(_info("f", mode=stat.S_IFIFO | 0o644)) == ["special"]
    assert zipsafety.classify(_info("r", mode=stat.S_IFREG | 0o644)) == []
    assert zipsafety.classify(_info("e", flags=0x1)) == ["encrypted"]
    assert zipsafety.classify(_info("s", flags=0x40)) == ["encrypted"]


def test_entry_problem_gives_the_first_finding_and_can_allow_backslashes() -> None:
    assert zipsafety.entry_problem(_info("a\\b")) is None
    assert zipsafety.entry_problem(_info("a\\b"), allow_backslash=False) == (
        "backslash in the entry name"
    )
    assert zipsafety.entry_problem(_info("../x")) == "'..' in the entry path"
    special = zipsafety.entry_problem(_info("f", mode=stat.S_IFCHR))
    assert special is not None
    assert special.startswith("special file (mode 0o")


def test_ratios_judge_only_large_entries_and_archives() -> None:
    small, big = _info("s"), _info("b")
    small.file_size, small.compress_size = 10, 1
    big.file_size, big.compress_size = 10_000, 10
    assert zipsafety.entry_ratio(small, 1000) is None
    assert zipsafety.entry_ratio(big, 1000) == 1000
    assert zipsafety.archive_ratio([small, big], 1000) == pytest.approx(10_010 / 11)
    assert zipsafety.archive_ratio([small], 1000) is None
    assert zipsafety.declared_size([small, big]) == 10_010


def test_first_corrupt_member_reads_every_entry_through_its_crc() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.txt", b"fine")
        archive.writestr("dir/", b"")
        archive.writestr("bad.txt", b"payload bytes")
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        assert zipsafety.first_corrupt_member(archive) is None
    data[bytes(data).index(b"payload")] ^= 0x01
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        found = zipsafety.first_corrupt_member(archive)
    assert found is not None
    assert found[0] == "bad.txt"
    assert "CRC" in found[1]
