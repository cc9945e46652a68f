"""The catalog model of the mock vendor: course records, their packages, tenants, tokens.

Plain data and the bytes behind it; :mod:`mock_vendor.sources` builds these objects and
:class:`mock_vendor.state.VendorState` holds them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from mock_vendor.clock import format_instant
from mock_vendor.errors import ConfigError

#: The course object members an admin may set (besides ``ID``).
COURSE_FIELDS = (
    "Title",
    "Description",
    "IsActive",
    "Languages",
    "Duration",
    "Thumbnail",
    "Subjects",
    "Keywords",
    "Version",
    "Localization",
)

#: The members :meth:`CourseRecord.to_json` puts before ``DownloadPackageUrl``.
_HEAD = frozenset(
    {"ID", "Title", "Description", "CourseType", "IsActive", "LastModifiedUTC",
     "PackageLastModifiedUTC"}
)  # fmt: skip


#: Course IDs that need no quoting in a URL (the contract's letters, digits, "_", "-").
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+")


def package_path(course_id: str) -> str:
    """The path of a course's package on the vendor: the route of :mod:`mock_vendor.packages`."""
    # quote() is slow and contract IDs never need it.
    quoted = course_id if _PLAIN_ID.fullmatch(course_id) else quote(course_id, safe="")
    return f"/api/v1/courses/{quoted}/package.zip"


@dataclass(frozen=True)
class PackageInfo:
    """Where a package's bytes are and what they are."""

    path: Path
    size: int
    sha256: str

    @property
    def etag(self) -> str:
        """A strong ETag derived from the SHA-256 of the bytes."""
        return f'"sha256-{self.sha256[:32]}"'


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Package:
    """The bytes of one course package: a file on disk, built on first use when missing.

    Args:
        path: The zip file (in the cache dir for generated and uploaded packages).
        build: Makes the bytes when ``path`` does not exist yet.
    """

    def __init__(self, path: Path, build: Callable[[], bytes] | None = None) -> None:
        self.path = path
        self._build = build
        self._lock = threading.Lock()
        self._info: PackageInfo | None = None

    def info(self) -> PackageInfo:
        """Size and hash of the bytes, building and caching them first when needed."""
        with self._lock:
            if self._info is None:
                if not self.path.exists():
                    if self._build is None:
                        raise FileNotFoundError(f"package file {self.path} is missing")
                    _atomic_write(self.path, self._build())
                digest = hashlib.sha256()
                size = 0
                with self.path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
                        size += len(chunk)
                self._info = PackageInfo(self.path, size, digest.hexdigest())
            return self._info

    def read_bytes(self) -> bytes:
        """The whole package (used by faults that rewrite the bytes)."""
        return self.info().path.read_bytes()

    @classmethod
    def from_bytes(cls, data: bytes, directory: Path) -> Package:
        """Store ``data`` under ``directory`` (named by its hash) and return its package."""
        path = directory / f"{hashlib.sha256(data).hexdigest()}.zip"
        if not path.exists():
            _atomic_write(path, data)
        return cls(path)


#: ``rebuild(revision, meta) -> Package``: the package of a course at a revision, built
#: from its current metadata (so the CRS title follows the list Title).
Rebuild = Callable[[int, dict[str, Any]], Package]


@dataclass(eq=False)
class CourseRecord:
    """One course of a tenant's catalog.

    ``seq`` is the immutable insertion number that orders paging; ``change`` is the
    tenant's change counter at this course's last change (used by ``consuming_get``).
    """

    seq: int
    course_id: str
    meta: dict[str, Any]
    last_modified: datetime
    package_last_modified: datetime
    package: Package
    change: int = 0
    #: Rebuilds the package at a revision (generated and admin-built courses).
    rebuild: Rebuild | None = field(default=None, repr=False)
    revision: int = 0
    #: ``(key, meta, head, path, tail)`` of :meth:`encode_listing`, ``meta`` a deep copy.
    _listing: tuple[tuple[Any, ...], dict[str, Any], bytes, bytes, bytes] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def is_active(self) -> bool:
        """Whether the course is active (``IsActive``)."""
        return bool(self.meta.get("IsActive", True))

    @property
    def changed_at(self) -> datetime:
        """The later of the two modification stamps (what If-Modified-Since compares)."""
        return max(self.last_modified, self.package_last_modified)

    def to_json(self, package_url: str) -> dict[str, Any]:
        """The contract's course object (section 3)."""
        body = self._head()
        if self.is_active:
            body["DownloadPackageUrl"] = package_url
        body.update(self._tail())
        return body

    def _head(self) -> dict[str, Any]:
        """The members before ``DownloadPackageUrl``, in the contract's order."""
        return {
            "ID": self.course_id,
            "Title": self.meta["Title"],
            "Description": self.meta.get("Description", ""),
            "CourseType": "AICC",
            "IsActive": self.is_active,
            "LastModifiedUTC": format_instant(self.last_modified),
            "PackageLastModifiedUTC": format_instant(self.package_last_modified),
        }

    def _tail(self) -> dict[str, Any]:
        """The members after ``DownloadPackageUrl`` (``Languages`` always among them)."""
        body: dict[str, Any] = {"Languages": list(self.meta.get("Languages") or ["en-US"])}
        for name in COURSE_FIELDS:
            if name not in body and name not in _HEAD and self.meta.get(name) is not None:
                body[name] = self.meta[name]
        return body

    def encode_listing(self) -> tuple[bytes, bytes, bytes]:
        """The encoded members before and after the URL, and the URL's path JSON-escaped
        without quotes (encoded again after a change)."""
        key = (self.change, self.last_modified, self.package_last_modified)
        parts = self._listing
        # ``meta`` is compared with a deep copy (about a microsecond, in C), so that a
        # change made in place, by a test or a hook, is seen like a replaced dict.
        if parts is None or parts[0] != key or parts[1] != self.meta:
            head = dumps(self._head())[:-1]  # without the closing "}"
            tail = dumps(self._tail())[1:]  # without the opening "{"
            path = json_string_body(package_path(self.course_id))
            parts = self._listing = (key, copy.deepcopy(self.meta), head, path, tail)
        return parts[2], parts[3], parts[4]

    def listing_json(self, package_url: str) -> bytes:
        """``orjson.dumps(self.to_json(package_url))``, from bytes encoded once per change.

        A list page is the same course objects over and over with only the package URL
        varying (host, signed origin), so the rest is encoded once per change of the
        course (keyed by everything it is made of) and the URL spliced in.
        """
        head, _, tail = self.encode_listing()
        if not self.is_active:
            return head + b"," + tail
        return head + b',"DownloadPackageUrl":' + dumps(package_url) + b"," + tail

    def admin_json(self, package_url: str) -> dict[str, Any]:
        """The course object plus internal fields, for the admin API."""
        body = self.to_json(package_url)
        body["_seq"] = self.seq
        body["_revision"] = self.revision
        return body


class NotJSONError(ValueError):
    """A text with ``NaN``, ``Infinity`` or ``-Infinity``, which Python's parser takes and
    JSON does not (orjson would serve them as ``null``)."""


def _refuse_constant(name: str) -> Any:
    raise NotJSONError(f"{name} is not a JSON number")


def loads(data: str | bytes) -> Any:
    """Parse JSON as the standard defines it.

    Raises:
        NotJSONError: on ``NaN``, ``Infinity`` or ``-Infinity``.
        ValueError: anything else that is not JSON (``json.JSONDecodeError``,
            ``UnicodeDecodeError``).
    """
    return json.loads(data, parse_constant=_refuse_constant)


def json_string_body(text: str) -> bytes:
    """``text`` as a JSON string without its quotes: a string escapes character by
    character, so escaped pieces joined make the escaped whole."""
    return dumps(text)[1:-1]


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON: orjson's bytes, or the standard encoder's for what orjson refuses
    (an integer past 64 bits in a folder catalog's metadata, a lone surrogate)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        pass
    # NaN and Infinity are refused (ValueError), never written: they are not JSON, and
    # the admin API and folder sidecars refuse them on the way in.
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:  # UTF-8 like orjson...
        return text.encode()
    except UnicodeEncodeError:  # ...unless a lone surrogate forces "\udXXX" escapes
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


class Tenant:
    """One client (ID + secret) and the catalog it sees."""

    def __init__(self, client_id: str, client_secret: str, description: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.description = description
        self.records: list[CourseRecord] = []
        self.by_id: dict[str, CourseRecord] = {}
        self.change_counter = 0
        #: course ID -> change counter value already delivered (``consuming_get`` fault).
        self.delivered: dict[str, int] = {}

    def __repr__(self) -> str:  # the secret stays out of repr()
        return f"Tenant(client_id={self.client_id!r}, courses={len(self.records)})"

    def check_secret(self, secret: str) -> bool:
        """Compare a presented secret in constant time."""
        return secrets.compare_digest(secret.encode(), self.client_secret.encode())

    def add(
        self,
        course_id: str,
        meta: dict[str, Any],
        last_modified: datetime,
        package_last_modified: datetime,
        package: Package,
        rebuild: Rebuild | None = None,
    ) -> CourseRecord:
        """Append a course with the next insertion number."""
        if course_id in self.by_id:
            raise ConfigError(f"course ID {course_id!r} already exists in {self.client_id!r}")
        self.change_counter += 1
        record = CourseRecord(
            seq=len(self.records) + 1,
            course_id=course_id,
            meta=meta,
            last_modified=last_modified,
            package_last_modified=package_last_modified,
            package=package,
            change=self.change_counter,
            rebuild=rebuild,
        )
        self.records.append(record)
        self.by_id[course_id] = record
        return record

    def touch(self, record: CourseRecord) -> None:
        """Note that ``record`` changed (for the delivered-marks of ``consuming_get``)."""
        self.change_counter += 1
        record.change = self.change_counter

    def after(self, last_seq: int, bound: int) -> Iterator[CourseRecord]:
        """Courses with ``last_seq < seq <= bound`` in ``seq`` order."""
        # seq is position + 1 and never changes, so slicing is exact.
        return iter(self.records[max(last_seq, 0) : max(bound, 0)])


@dataclass
class TokenRecord:
    """An issued access token (the token text is the key of ``VendorState.tokens``)."""

    client_id: str
    expires_at: datetime
    uses: int = 0


__all__ = [
    "COURSE_FIELDS",
    "CourseRecord",
    "NotJSONError",
    "Package",
    "PackageInfo",
    "Rebuild",
    "Tenant",
    "TokenRecord",
    "dumps",
    "json_string_body",
    "loads",
    "package_path",
]
