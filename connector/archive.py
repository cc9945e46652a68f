"""Safe zip checking and extraction for vendor packages.

The stdlib's ``ZipFile.extractall`` silently *repairs* hostile names and enforces no
size, count or ratio limit, so packages are never extracted with it. Instead:

1. :func:`check_zip` inspects the central directory before anything is written and
   *rejects* (never repairs), by the rules of :mod:`aicc.zipsafety` (the one zip safety
   implementation of cckit), absolute names, drive letters, backslashes, ``..`` parts,
   links and other special files, encrypted entries, duplicate names (also when they
   differ only in case, or a file shadows a folder), too many entries, too large a total,
   and per-entry or whole-archive compression ratios typical of zip bombs.
2. :func:`extract_zip` streams each entry into a fresh temporary sibling of the target
   with a byte counter (declared sizes can lie), then renames the folder into place in
   one step, so a reader sees either no folder or a complete one. Entries are read
   through :mod:`zipfile` (local header, size and CRC-32 checked) even when the zip is
   in memory: a hand-written fast path measured no wall-time gain.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from pathlib import PurePosixPath
from typing import IO

from aicc import zipsafety
from connector.errors import UnsafeArchiveError

__all__ = [
    "CONTENT_DIR_MODE",
    "CONTENT_FILE_MODE",
    "TEMP_PREFIX",
    "ArchiveLimits",
    "check_zip",
    "extract_zip",
    "make_dirs",
]

#: A zip file's path, a seekable binary file holding it, or its bytes.
ZipSource = str | os.PathLike[str] | IO[bytes] | bytes
#: Prefix of the temporary extraction folders (cleaned by the next sync when orphaned).
TEMP_PREFIX = ".tmp-"
#: Mode of every folder the extraction creates (a package's folder, its subfolders and
#: missing parents): a web server in the cckit user's group may serve the content.
CONTENT_DIR_MODE = 0o750
#: Mode of every extracted file: readable by that group, by nobody else.
CONTENT_FILE_MODE = 0o640
_CHUNK = 1024 * 1024  # large reads: fewer trips through the GIL per MB


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps applied to every package archive.

    Attributes:
        max_entries: most entries (files and folders) in one archive.
        max_total_size: largest sum of uncompressed sizes, in bytes.
        max_entry_ratio: largest ``file_size / compress_size`` of one entry ...
        min_ratio_size: ... checked only for entries (and archives) at least this large,
            because tiny text files legitimately compress very well.
        max_total_ratio: largest ratio of the whole archive (total uncompressed size to
            total compressed size).
        max_name_length: longest entry name, in characters.
    """

    max_entries: int = 10_000
    max_total_size: int = 2 * 1024**3
    max_entry_ratio: float = 200.0
    max_total_ratio: float = 100.0
    min_ratio_size: int = 1024 * 1024
    max_name_length: int = 512


def _unsafe(member: str, reason: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(f"{member!r}: {reason}" if member else reason)


def _check_entry(info: zipfile.ZipInfo, limits: ArchiveLimits) -> PurePosixPath:
    """The entry's path, after aicc's zip safety rules (a backslash refused too)."""
    name = info.filename
    if len(name) > limits.max_name_length:
        raise _unsafe(name[:80] + "...", f"name longer than {limits.max_name_length}")
    reason = zipsafety.entry_problem(info, allow_backslash=False)
    if reason is not None:
        raise _unsafe(name, reason)
    path = PurePosixPath(name)
    if not path.parts:
        raise _unsafe(name, "empty path")
    return path


def check_zip(path: ZipSource, limits: ArchiveLimits | None = None) -> list[str]:
    """Check a zip archive against the safety rules, writing nothing.

    Args:
        path: the zip file (a path, a seekable binary file or the zip's bytes).
        limits: caps (defaults: :class:`ArchiveLimits`).

    Returns:
        The entry names, in archive order.

    Raises:
        UnsafeArchiveError: the file is not a zip or breaks a rule; the message names
            the entry and the rule.
    """
    limits = limits or ArchiveLimits()
    with _open(path) as zf:
        infos = zf.infolist()
    _check_infos(infos, limits)
    return [info.filename for info in infos]


def _open(path: ZipSource) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(path) if isinstance(path, bytes) else path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise _unsafe("", f"not a readable zip archive ({exc})") from None


def _check_infos(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if len(infos) > limits.max_entries:
        raise _unsafe("", f"{len(infos)} entries (cap {limits.max_entries})")
    seen: dict[str, str] = {}
    files: set[PurePosixPath] = set()
    folders: set[PurePosixPath] = set()
    total_size = 0
    for info in infos:
        path = _check_entry(info, limits)
        key = str(path).casefold()
        if key in seen:
            raise _unsafe(info.filename, f"duplicate of entry {seen[key]!r}")
        seen[key] = info.filename
        (folders if info.is_dir() else files).add(path)
        if info.file_size < 0 or info.compress_size < 0:
            raise _unsafe(info.filename, "negative size")
        total_size += info.file_size
        if total_size > limits.max_total_size:
            raise _unsafe("", f"uncompressed size over the cap of {limits.max_total_size} bytes")
        ratio = zipsafety.entry_ratio(info, limits.min_ratio_size)
        if ratio is not None and ratio > limits.max_entry_ratio:
            raise _unsafe(
                info.filename,
                f"compression ratio {ratio:.0f} over the cap {limits.max_entry_ratio:g}",
            )
    ratio = zipsafety.archive_ratio(infos, limits.min_ratio_size)
    if ratio is not None and ratio > limits.max_total_ratio:
        raise _unsafe(
            "", f"archive compression ratio {ratio:.0f} over the cap {limits.max_total_ratio:g}"
        )
    _check_tree(files, folders)


def _check_tree(files: set[PurePosixPath], folders: set[PurePosixPath]) -> None:
    # A file must not also be used as a folder ("a" and "a/b"): extraction would fail
    # half-way or, on some systems, write through the wrong node.
    for file in files:
        for parent in file.parents:
            if parent in files:
                raise _unsafe(str(file), f"its parent {str(parent)!r} is also a file")
        if file in folders:
            raise _unsafe(str(file), "both a file and a folder")


def extract_zip(
    path: ZipSource,
    target: str | os.PathLike[str],
    limits: ArchiveLimits | None = None,
) -> Path:
    """Check then extract a zip archive into ``target``, atomically.

    The entries are written into a temporary folder next to ``target`` and the folder
    is renamed to ``target`` at the end. When ``target`` already exists (the same
    content-addressed package was extracted before, e.g. by a run that was killed before
    it committed) it is kept and the new copy discarded.

    Args:
        path: the zip file (a path, a seekable binary file or the zip's bytes).
        target: the folder to create (its parent is created when missing).
        limits: caps (defaults: :class:`ArchiveLimits`).

    Returns:
        ``target`` as a resolved ``Path``.

    Raises:
        UnsafeArchiveError: the archive breaks a rule, or an entry's data does not match
            its declared size or CRC; nothing is left behind.
    """
    limits = limits or ArchiveLimits()
    final = Path(target)
    make_dirs(final.parent)
    final = final.parent.resolve() / final.name
    # One parse of the central directory serves the check and the extraction.
    with _open(path) as zf:
        infos = zf.infolist()
        # Checked before anything is written; also when the target exists, so that a
        # rejected package is never published because a folder of the same name exists.
        _check_infos(infos, limits)
        if final.is_dir():
            return final
        temp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{final.name[:16]}-", dir=final.parent))
        try:
            os.chmod(temp, CONTENT_DIR_MODE)  # mkdtemp makes it owner-only
            _extract_into(zf, infos, temp)
            try:
                os.rename(temp, final)
            except OSError:
                if not final.is_dir():
                    raise
                # Lost a race with an identical extraction: theirs is complete, keep it.
                shutil.rmtree(temp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
    return final


def make_dirs(path: Path) -> None:
    """Create the content folder ``path`` and its missing parents, each with
    :data:`CONTENT_DIR_MODE` exactly (an existing folder keeps its mode)."""
    if path.is_dir():
        return
    make_dirs(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        return  # made meanwhile by another worker; theirs has the same mode
    os.chmod(path, CONTENT_DIR_MODE)  # whatever the umask


def _extract_into(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], dest: Path) -> None:
    try:
        # The temporary folder is new and holds nothing we did not write, and every
        # name passed _check_name (relative, no "..", no backslash, no link entries),
        # so plain joins stay inside it: no per-entry resolve() (each is a string of
        # lstat calls, and each system call is a trip through the GIL).
        made: set[Path] = {dest}
        for info in infos:
            _extract_member(zf, info, dest, made)
    except UnsafeArchiveError:
        raise
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, ValueError) as exc:
        raise _unsafe("", f"corrupt zip data ({exc})") from None


def _extract_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, made: set[Path]
) -> None:
    out = dest.joinpath(*PurePosixPath(info.filename).parts)
    if info.is_dir():
        if out not in made:
            make_dirs(out)
            made.add(out)
        return
    if out.parent not in made:
        make_dirs(out.parent)
        made.add(out.parent)
    try:
        # O_EXCL: a second entry of the same name can never overwrite the first.
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, CONTENT_FILE_MODE)
    except FileExistsError:
        raise _unsafe(info.filename, "written twice") from None
    os.fchmod(fd, CONTENT_FILE_MODE)  # whatever the umask
    written = 0
    with zf.open(info) as source, os.fdopen(fd, "wb") as sink:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > info.file_size:
                raise _unsafe(info.filename, "more data than its declared size")
            sink.write(chunk)
    if written != info.file_size:
        raise _unsafe(info.filename, f"{written} bytes, but {info.file_size} declared")
