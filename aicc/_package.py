"""Sources: a folder, a zip file path, zip bytes or a mapping of names to bytes.

The package layer lists the files of a source, reads the course structure files (by
extension, in any case), ignores macOS metadata, and groups the files into course sets
by folder and base name. Zips are read in memory, never extracted, with caps on the entry
count, total uncompressed size and compression ratio (:class:`ZipLimits`). Content
problems become ``PKG`` diagnostics; only a source that cannot be opened at all raises
:class:`aicc.errors.SourceError`.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import IO
from typing import Any

from aicc import zipsafety
from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Severity
from aicc.errors import SourceError
from aicc.model import EXTENSIONS
from aicc.model import REQUIRED_EXTENSIONS
from aicc.rules import diag

__all__ = [
    "AICC_EXTENSIONS",
    "DEFAULT_LIMITS",
    "CourseFiles",
    "Package",
    "Source",
    "SourceFile",
    "ZipLimits",
    "load",
]

#: A source accepted by :func:`aicc.read` / :func:`aicc.validate`.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | Mapping[str, bytes]

# What reading one corrupt zip entry can raise (bad CRC, bad deflate data, unsupported
# compression method, truncated archive).
_ENTRY_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    ValueError,
    EOFError,
    OSError,
    RuntimeError,
    zlib.error,
)
# What opening a corrupt archive can raise (zipfile parses the central directory with
# struct and seeks to offsets read from the file).
_ARCHIVE_ERRORS = (*_ENTRY_ERRORS, struct.error, OverflowError, IndexError, KeyError)

#: Course structure extensions (lower case) -> the slot they fill (``.ore`` is an alias).
AICC_EXTENSIONS: dict[str, str] = {ext: ext for ext in EXTENSIONS} | {"ore": "ort"}
#: The files a course set needs besides its .crs.
REQUIRED_SLOTS: tuple[str, ...] = tuple(ext for ext in REQUIRED_EXTENSIONS if ext != "crs")


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Safety caps for reading a zip (and a folder) without extracting it.

    Attributes:
        max_entries: Most entries (files and folders) a zip may hold.
        max_total_size: Most total uncompressed bytes the zip may declare.
        max_ratio: Highest uncompressed/compressed ratio of one entry (zip bombs).
        ratio_min_size: Entries smaller than this are not ratio-checked (tiny files
            compress very well and are harmless).
        max_file_size: Most bytes read from one course structure file.
    """

    max_entries: int = 20_000
    max_total_size: int = 4 * 1024**3
    max_ratio: int = 200
    ratio_min_size: int = 1024 * 1024
    max_file_size: int = 64 * 1024 * 1024


#: The caps used when none are given.
DEFAULT_LIMITS = ZipLimits()


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One course structure file: its path inside the source and its bytes."""

    path: str
    data: bytes

    @property
    def name(self) -> str:
        """The file name without folders."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def extension(self) -> str:
        """The extension as written (no dot)."""
        return self.name.rsplit(".", 1)[-1] if "." in self.name else ""


@dataclass(slots=True)
class CourseFiles:
    """The files of one course set.

    Attributes:
        base_name: The shared file stem as written in the ``.crs`` name (else the first
            file's stem).
        folder: The folder inside the source (``""`` at the root).
        files: Slot (``crs``, ``au``, ``des``, ``cst``, ``ort``, ``pre``, ``cmp``) -> file.
    """

    base_name: str
    folder: str
    files: dict[str, SourceFile] = field(default_factory=dict)


@dataclass(slots=True)
class Package:
    """What a source holds.

    Attributes:
        kind: ``"folder"``, ``"zip"`` or ``"mapping"``.
        sets: Course sets found (each has a ``.crs``; sets without one are reported).
        names: Every file path in the source (``/``-separated), for content checks.
        diagnostics: ``PKG`` findings.
    """

    kind: str
    sets: list[CourseFiles] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _split_ext(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    return (stem, ext) if dot else (name, "")


def _is_apple_double(path: str) -> bool:
    parts = path.split("/")
    return "__MACOSX" in parts[:-1] or parts[-1].startswith("._") or parts[-1] == ".DS_Store"


def load(source: Source, limits: ZipLimits = DEFAULT_LIMITS) -> Package:
    """List and read the course structure files of a source.

    Args:
        source: A folder or zip path, zip bytes, or a mapping of file names to bytes.
        limits: Zip safety caps.

    Returns:
        The package. Content problems are diagnostics.

    Raises:
        SourceError: The path does not exist or cannot be opened.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        package = Package("zip")
        _load_zip(bytes(source), package, limits, "<zip bytes>")
    elif isinstance(source, Mapping):
        package = Package("mapping")
        _load_mapping(source, package, limits)
    elif isinstance(source, str | os.PathLike):
        path = Path(os.fspath(source))
        if path.is_dir():
            package = Package("folder")
            _load_folder(path, package, limits)
        elif path.is_file():
            package = Package("zip")
            _load_zip(path, package, limits, str(path))
        elif path.exists():
            raise SourceError(str(path), "neither a folder nor a regular file")
        else:
            raise SourceError(str(path), "no such file or folder")
    else:
        raise SourceError(
            repr(type(source).__name__),
            "expected a path, zip bytes or a mapping of file names to bytes",
        )
    return package


def _collect(
    package: Package, entries: list[tuple[str, bytes | None]], *, folder_mode: bool
) -> None:
    """Group read entries (path, bytes or None when not read) into course sets."""
    files: list[SourceFile] = []
    stubs: list[str] = []
    for path, data in entries:
        package.names.add(path)
        name = path.rsplit("/", 1)[-1]
        stem, ext = _split_ext(name)
        slot = AICC_EXTENSIONS.get(ext.casefold())
        if _is_apple_double(path):
            if slot is not None or "__MACOSX" in path.split("/"):
                stubs.append(path)
            continue
        if slot is None or data is None or not stem:
            continue
        files.append(SourceFile(path, data))
    if stubs:
        more = f" (and {len(stubs) - 1} more)" if len(stubs) > 1 else ""
        package.diagnostics.append(
            diag("PKG009", f"ignored macOS metadata entry {stubs[0]!r}{more}", stubs[0])
        )
    _group(package, files, folder_mode=folder_mode)


def _preference(source_file: SourceFile) -> tuple[str, bool, str]:
    # File order decides which of two candidates for one slot is used: sort by path, but
    # a lower-case extension (the canonical spelling) first.
    return (
        source_file.path.casefold(),
        source_file.extension != source_file.extension.casefold(),
        source_file.path,
    )


def _group(package: Package, files: list[SourceFile], *, folder_mode: bool) -> None:
    diagnostics = package.diagnostics
    sets = _pair_by_folder(_by_base_name(files, diagnostics, folder_mode), diagnostics)
    complete = [course for course in sets if _complete(course, diagnostics)]
    if not sets:
        diagnostics.append(diag("PKG001", "no course structure files (.crs) in the source"))
    if len(complete) > 1:
        diagnostics.append(
            diag(
                "PKG004",
                f"{len(complete)} course sets in one source: "
                + ", ".join(c.files["crs"].path for c in complete),
            )
        )
    package.sets = complete


def _by_base_name(
    files: list[SourceFile], diagnostics: list[Diagnostic], folder_mode: bool
) -> list[CourseFiles]:
    """Course sets by (folder, base name); PKG006, PKG007, PKG003 on the way."""
    by_key: dict[tuple[str, str], CourseFiles] = {}
    for source_file in sorted(files, key=_preference):
        folder = source_file.path.rsplit("/", 1)[0] if "/" in source_file.path else ""
        stem, ext = _split_ext(source_file.name)
        slot = AICC_EXTENSIONS[ext.casefold()]
        course = by_key.setdefault((folder.casefold(), stem.casefold()), CourseFiles(stem, folder))
        if ext != ext.casefold():
            diagnostics.append(
                diag(
                    "PKG006",
                    f"extension .{ext} is not lower-case",
                    source_file.path,
                    severity=Severity.INFO if folder_mode else None,
                )
            )
        if ext.casefold() == "ore":
            diagnostics.append(
                diag("PKG007", f"{source_file.name}: objectives file uses .ore", source_file.path)
            )
        if slot in course.files:
            diagnostics.append(
                diag(
                    "PKG003",
                    f"{source_file.path} fills the same slot (.{slot}) as "
                    f"{course.files[slot].path}; the first one is used",
                    source_file.path,
                )
            )
            continue
        course.files[slot] = source_file
        if slot == "crs":
            course.base_name = stem
    return list(by_key.values())


def _complete(course: CourseFiles, diagnostics: list[Diagnostic]) -> bool:
    """Whether a set has its .crs (PKG001 if not); PKG002 and PKG005 for one that has."""
    if "crs" not in course.files:
        names = ", ".join(sorted(f.name for f in course.files.values()))
        diagnostics.append(
            diag(
                "PKG001",
                f"no .crs file for the course set {course.base_name!r} ({names})",
                next(iter(course.files.values())).path,
            )
        )
        return False
    crs = course.files["crs"]
    for slot in REQUIRED_SLOTS:
        if slot not in course.files:
            diagnostics.append(
                diag(
                    "PKG002",
                    f"course set {course.base_name!r} has no .{slot} file",
                    crs.path,
                    hint=f"Add {course.base_name}.{slot} next to {crs.name}.",
                )
            )
    if course.folder:
        diagnostics.append(
            diag(
                "PKG005",
                f"course structure files are in the folder {course.folder!r}, not at the root",
                crs.path,
            )
        )
    return True


def _pair_by_folder(sets: list[CourseFiles], diagnostics: list[Diagnostic]) -> list[CourseFiles]:
    """Pair files with differing base names when they are the only ones in their folder."""
    by_folder: dict[str, list[CourseFiles]] = {}
    for course in sets:
        by_folder.setdefault(course.folder.casefold(), []).append(course)
    result: list[CourseFiles] = []
    for group in by_folder.values():
        slots = [slot for course in group for slot in course.files]
        with_crs = [c for c in group if "crs" in c.files]
        if len(group) > 1 and len(with_crs) == 1 and len(slots) == len(set(slots)):
            merged = with_crs[0]
            for course in group:
                if course is merged:
                    continue
                for slot, source_file in course.files.items():
                    merged.files[slot] = source_file
                    diagnostics.append(
                        diag(
                            "PKG003",
                            f"{source_file.name} does not share the base name "
                            f"{merged.base_name!r}; paired with {merged.files['crs'].name} "
                            "because it is the only one of its kind",
                            source_file.path,
                        )
                    )
            result.append(merged)
        else:
            result.extend(group)
    return result


def _read_limited(handle: IO[bytes], limit: int) -> bytes | None:
    data = handle.read(limit + 1)
    return None if len(data) > limit else data


def _load_folder(root: Path, package: Package, limits: ZipLimits) -> None:
    entries: list[tuple[str, bytes | None]] = []
    errors: list[OSError] = []
    count = 0
    # Lazy walk, sorted in place: the order is stable and the cap stops it early.
    for directory, dirnames, filenames in os.walk(root, onerror=errors.append):
        dirnames.sort()
        for filename in sorted(filenames):
            count += 1
            if count > limits.max_entries:
                package.diagnostics.append(
                    diag(
                        "PKG011",
                        f"the folder holds more than {limits.max_entries} files; "
                        "the rest were not looked at",
                    )
                )
                _collect(package, entries, folder_mode=True)
                return
            full = Path(directory) / filename
            relative = full.relative_to(root).as_posix()
            slot = AICC_EXTENSIONS.get(_split_ext(filename)[1].casefold())
            if slot is None or _is_apple_double(relative):
                entries.append((relative, None))
                continue
            entries.append((relative, _read_file(full, relative, package, limits)))
    for error in errors:
        where = Path(error.filename) if error.filename else root
        if where == root:
            raise SourceError(str(root), f"cannot list the folder: {error.strerror or error}")
        relative = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        package.diagnostics.append(
            diag("PKG013", f"cannot list {relative}/: {error.strerror or error}", relative)
        )
    _collect(package, entries, folder_mode=True)


def _read_file(full: Path, relative: str, package: Package, limits: ZipLimits) -> bytes | None:
    try:
        with full.open("rb") as handle:
            data = _read_limited(handle, limits.max_file_size)
    except OSError as exc:
        package.diagnostics.append(
            diag("PKG013", f"cannot read {relative}: {exc.strerror or exc}", relative)
        )
        return None
    if data is None:
        package.diagnostics.append(
            diag(
                "PKG011",
                f"{relative} is larger than {limits.max_file_size} bytes; not read",
                relative,
            )
        )
    return data


def _load_mapping(source: Mapping[Any, Any], package: Package, limits: ZipLimits) -> None:
    entries: list[tuple[str, bytes | None]] = []
    for raw_name, value in source.items():
        raw = str(raw_name).replace("\\", "/")
        if raw.endswith("/"):
            continue  # a folder entry
        name = "/".join(part for part in raw.split("/") if part not in ("", "."))
        if not name:
            continue
        data: bytes | None
        if isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
        elif isinstance(value, str):
            data = value.encode("utf-8")
        else:
            package.diagnostics.append(
                diag(
                    "PKG013",
                    f"value for {name!r} is a {type(value).__name__}, not bytes",
                    name,
                )
            )
            data = None
        if data is not None and len(data) > limits.max_file_size:
            package.diagnostics.append(
                diag(
                    "PKG011",
                    f"{name} is larger than {limits.max_file_size} bytes; not read",
                    name,
                )
            )
            data = None
        entries.append((name, data))
    _collect(package, entries, folder_mode=False)


def _load_zip(source: bytes | Path, package: Package, limits: ZipLimits, label: str) -> None:
    if isinstance(source, Path):
        try:
            handle: IO[bytes] = source.open("rb")
        except OSError as exc:
            raise SourceError(label, f"cannot open: {exc.strerror or exc}") from exc
    else:
        handle = io.BytesIO(source)
    with handle:
        try:
            archive = zipfile.ZipFile(handle)
        except _ARCHIVE_ERRORS as exc:
            # Whatever the bytes are, a broken archive is a finding, never an exception;
            # the only one: "no .crs in it" (PKG001) would say the same thing again.
            package.diagnostics.append(diag("PKG010", _not_a_zip(source, label, exc)))
            return
        with archive:
            _read_zip(archive, package, limits)


def _not_a_zip(source: bytes | Path, label: str, exc: Exception) -> str:
    """Why a file is not a package; for one AICC file, what to give instead."""
    ext = source.suffix[1:] if isinstance(source, Path) else ""
    if ext.casefold() in AICC_EXTENSIONS:
        return (
            f"{label} is a single .{ext} file, not a course package: give the folder that "
            "holds the course's files (.crs .au .des .cst ...) or a .zip of them"
        )
    return f"{label} is not a readable zip archive: {exc}"


def _read_zip(archive: zipfile.ZipFile, package: Package, limits: ZipLimits) -> None:
    infos = archive.infolist()
    problem = _archive_problem(infos, limits)
    if problem is not None:
        package.diagnostics.append(diag("PKG011", problem))
        _group(package, [], folder_mode=False)
        return
    entries: list[tuple[str, bytes | None]] = []
    seen: set[str] = set()
    for info in infos:
        name = _entry_name(info, seen, package.diagnostics)
        if name is not None:
            entries.append((name, _read_entry(archive, info, name, package.diagnostics, limits)))
    _collect(package, entries, folder_mode=False)


def _archive_problem(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> str | None:
    """Why the whole zip is not read (too many entries, too large), or None."""
    if len(infos) > limits.max_entries:
        return f"the zip holds {len(infos)} entries (cap {limits.max_entries}); not read"
    total = zipsafety.declared_size(infos)
    if total > limits.max_total_size:
        return (
            f"the zip declares {total} uncompressed bytes (cap {limits.max_total_size}); not read"
        )
    return None


def _entry_name(info: zipfile.ZipInfo, seen: set[str], diagnostics: list[Diagnostic]) -> str | None:
    """The normalised name of a safe, new file entry; None (reported if bad) otherwise."""
    name = info.filename.replace("\\", "/")
    # ZipInfo.is_dir() indexes the last character, so an empty name (seen in
    # corrupted central directories) must be caught before it is asked.
    if not name:
        diagnostics.append(diag("PKG010", "zip entry with an empty file name"))
        return None
    if name.endswith("/"):
        return None
    reason = zipsafety.entry_problem(info)
    if reason is not None:
        diagnostics.append(diag("PKG012", f"unsafe zip entry {name!r}: {reason}", name))
        return None
    # "./course.crs" and "a//b" name the same files as "course.crs" and "a/b".
    name = "/".join(part for part in name.split("/") if part not in ("", "."))
    if name in seen:
        diagnostics.append(diag("PKG012", f"duplicate zip entry {name!r}", name))
        return None
    seen.add(name)
    return name


def _read_entry(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    name: str,
    diagnostics: list[Diagnostic],
    limits: ZipLimits,
) -> bytes | None:
    """The bytes of a course structure file entry (None for other files, or when capped)."""
    slot = AICC_EXTENSIONS.get(_split_ext(name.rsplit("/", 1)[-1])[1].casefold())
    if slot is None or _is_apple_double(name):
        return None
    ratio = zipsafety.entry_ratio(info, limits.ratio_min_size)
    if ratio is not None and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        diagnostics.append(
            diag(
                "PKG011",
                f"{name} expands {info.file_size} bytes from {info.compress_size} "
                f"(ratio above {limits.max_ratio}); not read",
                name,
            )
        )
        return None
    try:
        with archive.open(info) as handle:
            data = _read_limited(handle, limits.max_file_size)
    except _ENTRY_ERRORS as exc:
        diagnostics.append(diag("PKG010", f"cannot read zip entry {name!r}: {exc}", name))
        return None
    if data is None:
        diagnostics.append(
            diag("PKG011", f"{name} is larger than {limits.max_file_size} bytes; not read", name)
        )
    return data
