"""Zip safety: the one set of rules for an untrusted zip archive, read without extracting.

Used by the AICC reader (:mod:`aicc._package`, findings become ``PKG010``-``PKG012``
diagnostics), the connector's checked extraction (``connector.archive``, which refuses)
and the conformance suite's package checks (``conformance.checks``, which reports). Each
caller decides what a finding means for it; the rules and their wording live here.

An entry is unsafe when its name is empty or holds a NUL, is absolute (``/x``, ``\\x``,
``C:x``) or has a ``..`` part (``/`` and ``\\`` both count as separators), or when it is
a symbolic link, another special file (device, FIFO, socket) or encrypted. Callers that
write entries to disk also refuse a backslash in a name (:func:`entry_problem` with
``allow_backslash=False``). Caps: entry count, declared uncompressed total, and the
compression ratio of one entry and of the whole archive (zip bombs).
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from collections.abc import Iterable
from collections.abc import Sequence

__all__ = [
    "ENCRYPTED_FLAGS",
    "MESSAGES",
    "archive_ratio",
    "classify",
    "declared_size",
    "entry_problem",
    "entry_ratio",
    "first_corrupt_member",
]

#: Bits of ``ZipInfo.flag_bits`` meaning "encrypted" (traditional PKWARE, strong).
ENCRYPTED_FLAGS = 0x1 | 0x40
_DRIVE = re.compile(r"[A-Za-z]:")

#: Finding kind -> its wording, in the order findings are reported.
MESSAGES: dict[str, str] = {
    "nul": "empty name or NUL character in the name",
    "backslash": "backslash in the entry name",
    "absolute": "absolute path",
    "dotdot": "'..' in the entry path",
    "encrypted": "encrypted entry",
    "link": "symbolic link",
    "special": "special file",
}

# What reading one corrupt entry can raise (bad CRC, bad deflate data, unsupported
# compression method, truncated archive).
_READ_ERRORS = (
    zipfile.BadZipFile,
    NotImplementedError,
    ValueError,
    EOFError,
    OSError,
    RuntimeError,
    zlib.error,
)


def _name_kinds(name: str) -> list[str]:
    if not name or "\x00" in name:
        return ["nul"]
    kinds = ["backslash"] if "\\" in name else []
    path = name.replace("\\", "/")
    if path.startswith("/") or _DRIVE.match(path):
        kinds.append("absolute")
    if ".." in path.split("/"):
        kinds.append("dotdot")
    return kinds


def _mode_kinds(info: zipfile.ZipInfo) -> list[str]:
    kinds = ["encrypted"] if info.flag_bits & ENCRYPTED_FLAGS else []
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        kinds.append("link")
    elif kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        kinds.append("special")
    return kinds


def classify(info: zipfile.ZipInfo) -> list[str]:
    """Every finding kind (keys of :data:`MESSAGES`) of one entry, in report order."""
    return _name_kinds(info.filename) + _mode_kinds(info)


def entry_problem(info: zipfile.ZipInfo, *, allow_backslash: bool = True) -> str | None:
    """Why an entry is unsafe (the first finding's wording), or None when it is safe.

    Args:
        info: The entry.
        allow_backslash: False for callers that write entries to disk, where a
            backslash would be a separator on one system and a character on another.
    """
    for kind in classify(info):
        if kind == "backslash" and allow_backslash:
            continue
        if kind == "special":
            return f"{MESSAGES[kind]} (mode {oct(stat.S_IFMT(info.external_attr >> 16))})"
        return MESSAGES[kind]
    return None


def declared_size(infos: Iterable[zipfile.ZipInfo]) -> int:
    """Total uncompressed bytes the central directory declares (negatives count as 0)."""
    return sum(max(info.file_size, 0) for info in infos)


def entry_ratio(info: zipfile.ZipInfo, min_size: int) -> float | None:
    """Uncompressed/compressed ratio of an entry of at least ``min_size`` bytes, else None.

    Tiny files legitimately compress very well, so only large ones are judged.
    """
    if info.file_size < min_size:
        return None
    return info.file_size / max(info.compress_size, 1)


def archive_ratio(infos: Sequence[zipfile.ZipInfo], min_size: int) -> float | None:
    """Ratio of the whole archive when it declares at least ``min_size`` bytes, else None."""
    total = declared_size(infos)
    if total < min_size:
        return None
    return total / max(sum(max(i.compress_size, 0) for i in infos), 1)


def first_corrupt_member(archive: zipfile.ZipFile) -> tuple[str, str] | None:
    """Read every unencrypted file entry through its CRC-32 check, writing nothing.

    Returns:
        ``(entry name, reason)`` of the first entry whose data does not read back
        (bad CRC-32, bad compressed data, truncated), or None when all do.
    """
    for info in archive.infolist():
        # is_dir() indexes the name's last character: an empty name is skipped first.
        if not info.filename or info.is_dir() or info.flag_bits & ENCRYPTED_FLAGS:
            continue
        try:
            with archive.open(info) as member:
                while member.read(1 << 20):
                    pass
        except _READ_ERRORS as exc:
            return info.filename, str(exc) or type(exc).__name__
    return None
