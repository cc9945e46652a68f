"""Per-app state of the mock vendor: tenants, their catalogs, tokens, faults, journal.

One :class:`VendorState` lives on ``app.extensions["mock_vendor"]``. The server is
threaded, so every read-modify-write of the state happens under :attr:`VendorState.lock`
(a re-entrant lock); package bytes are built outside it, under a per-package lock.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import platformdirs

from mock_vendor.clock import MockClock
from mock_vendor.clock import format_instant
from mock_vendor.clock import parse_instant
from mock_vendor.config import FEATURE_KEYS
from mock_vendor.errors import ConfigError
from mock_vendor.faults import FaultSet
from mock_vendor.faults import make_fault
from mock_vendor.faults import parse_fault

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
        body: dict[str, Any] = {
            "ID": self.course_id,
            "Title": self.meta["Title"],
            "Description": self.meta.get("Description", ""),
            "CourseType": "AICC",
            "IsActive": self.is_active,
            "LastModifiedUTC": format_instant(self.last_modified),
            "PackageLastModifiedUTC": format_instant(self.package_last_modified),
        }
        if self.is_active:
            body["DownloadPackageUrl"] = package_url
        body["Languages"] = list(self.meta.get("Languages") or ["en-US"])
        for name in COURSE_FIELDS:
            if name not in body and name in self.meta and self.meta[name] is not None:
                body[name] = self.meta[name]
        return body

    def admin_json(self, package_url: str) -> dict[str, Any]:
        """The course object plus internal fields, for the admin API."""
        body = self.to_json(package_url)
        body["_seq"] = self.seq
        body["_revision"] = self.revision
        return body


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


def default_cache_dir() -> Path:
    """Where generated packages are cached when ``CACHE_DIR`` is not set."""
    return Path(platformdirs.user_cache_dir("cckit")) / "mock_vendor"


class VendorState:
    """Everything the mock knows, built from the app config.

    Args:
        config: The Flask config (see :data:`mock_vendor.config.DEFAULTS`).
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.auth_mode = str(config["AUTH_MODE"])
        if self.auth_mode not in ("oauth2", "basic"):
            raise ConfigError(f"AUTH_MODE: {self.auth_mode!r} is not 'oauth2' or 'basic'")
        self.page_size = _positive_int(config, "PAGE_SIZE")
        self.token_ttl = _positive_int(config, "TOKEN_TTL")
        if self.token_ttl < 60:
            raise ConfigError(f"TOKEN_TTL: {self.token_ttl} is below the contract's 60 seconds")
        self.cache_dir = Path(config["CACHE_DIR"]) if config["CACHE_DIR"] else default_cache_dir()
        self.admin_token: str = config["ADMIN_TOKEN"] or secrets.token_urlsafe(24)
        self.admin_token_generated = not config["ADMIN_TOKEN"]
        #: The feature switches (``LIST_INACTIVE`` and the SHOULD features), by key.
        self.features: dict[str, bool] = {key: _flag(config, key) for key in FEATURE_KEYS}
        self.tenant_specs = _tenant_specs(config)
        self.journal: deque[dict[str, Any]] = deque(maxlen=_positive_int(config, "JOURNAL_SIZE"))
        self.problems: list[str] = []
        self.faults = FaultSet()
        self.tokens: dict[str, TokenRecord] = {}
        self.tenants: dict[str, Tenant] = {}
        start = config["CLOCK_START"]
        self.clock = MockClock(
            parse_instant(start, field="CLOCK_START") if start else None,
            frozen=bool(config["CLOCK_FROZEN"]),
        )
        self.reset(clock=False)

    # ------------------------------------------------------------------ lifecycle

    def reset(self, *, clock: bool = True) -> None:
        """Rebuild every catalog from the config; forget tokens, faults and the journal.

        Client secrets go back to their initial values (rotations are undone).
        """
        from mock_vendor.sources import build_catalog

        with self.lock:
            if clock:
                start = self.config["CLOCK_START"]
                self.clock = MockClock(
                    parse_instant(start, field="CLOCK_START") if start else None,
                    frozen=bool(self.config["CLOCK_FROZEN"]),
                )
            self.tokens.clear()
            self.journal.clear()
            self.problems.clear()
            self.faults.clear()
            for text in self.config["FAULTS"] or ():
                if isinstance(text, Mapping):
                    self.faults.add(
                        make_fault(str(text["name"]), text.get("arg"), text.get("scope"))
                    )
                else:
                    self.faults.add(parse_fault(str(text)))
            tenants: dict[str, Tenant] = {}
            for spec in self.tenant_specs:
                tenant = build_catalog(spec, self)
                tenants[tenant.client_id] = tenant
            self.tenants = tenants

    # ------------------------------------------------------------------ helpers

    @property
    def default_tenant(self) -> Tenant:
        """The first configured tenant."""
        return next(iter(self.tenants.values()))

    def tenant(self, client_id: str | None) -> Tenant:
        """The tenant with this client ID (the first one for ``None``).

        Raises:
            KeyError: Unknown client ID.
        """
        if client_id is None:
            return self.default_tenant
        return self.tenants[client_id]

    def stamp(self, previous: datetime | None = None) -> datetime:
        """Now on the mock clock, strictly after ``previous`` (stamps always move forward)."""
        now = self.clock.now()
        if previous is not None and now <= previous:
            now = previous + timedelta(milliseconds=1)
        return now

    def issue_token(self, tenant: Tenant, ttl: int) -> str:
        """Create an access token for ``tenant`` valid for ``ttl`` seconds of mock time."""
        token = secrets.token_urlsafe(32)
        with self.lock:
            now = self.clock.now()
            # Drop expired tokens so a long benchmark does not grow the table forever.
            for key in [k for k, v in self.tokens.items() if v.expires_at <= now]:
                del self.tokens[key]
            self.tokens[token] = TokenRecord(tenant.client_id, now + timedelta(seconds=ttl))
        return token

    def record_problem(self, message: str) -> None:
        """Remember a server-side problem (surfaced in the test thread by ``testing``)."""
        with self.lock:
            self.problems.append(message)

    def summary(self) -> dict[str, Any]:
        """JSON-ready overview for ``GET /_admin/``."""
        with self.lock:
            return {
                "auth_mode": self.auth_mode,
                "clock": format_instant(self.clock.now()),
                "clock_frozen": self.clock.frozen,
                "page_size": self.page_size,
                "token_ttl": self.token_ttl,
                "features": dict(self.features),
                "tenants": [
                    {
                        "client_id": t.client_id,
                        "catalog": t.description,
                        "courses": len(t.records),
                        "active": sum(1 for r in t.records if r.is_active),
                    }
                    for t in self.tenants.values()
                ],
                "faults": self.faults.to_list(),
                "journal_size": len(self.journal),
            }


def _positive_int(config: Mapping[str, Any], key: str) -> int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{key}: {value!r} is not an integer")
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {value!r} is not an integer") from exc
    if number < 1:
        raise ConfigError(f"{key}: {number} must be at least 1")
    return number


def _flag(config: Mapping[str, Any], key: str) -> bool:
    value = config[key]
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: {value!r} is not a boolean (true or false)")
    return value


def _tenant_specs(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Normalise ``TENANTS`` (or the single-tenant keys) into a list of tenant specs.

    A generated client secret is made here, once, so that a reset keeps it.
    """
    raw = config["TENANTS"]
    if raw is None:
        raw = [
            {
                "client_id": config["CLIENT_ID"],
                "client_secret": config["CLIENT_SECRET"],
                "courses": config["COURSES"],
                "seed": config["SEED"],
                "catalog": config["CATALOG"],
            }
        ]
    if not isinstance(raw, list) or not raw:
        raise ConfigError("TENANTS: expected a non-empty list of tenant objects")
    specs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise ConfigError(f"TENANTS[{number}]: expected an object, got {item!r}")
        client_id = str(item.get("client_id") or "")
        if not client_id:
            raise ConfigError(f"TENANTS[{number}].client_id: missing")
        if client_id in seen:
            raise ConfigError(f"TENANTS[{number}].client_id: {client_id!r} is used twice")
        seen.add(client_id)
        secret = item.get("client_secret")
        spec = {
            "client_id": client_id,
            "client_secret": str(secret) if secret else secrets.token_urlsafe(24),
            "secret_generated": not secret,
            "courses": item.get("courses", config["COURSES"]),
            "seed": item.get("seed", config["SEED"] + number),
            "catalog": item.get("catalog"),
        }
        specs.append(spec)
    return specs


__all__ = [
    "COURSE_FIELDS",
    "CourseRecord",
    "Package",
    "PackageInfo",
    "Rebuild",
    "Tenant",
    "TokenRecord",
    "VendorState",
    "default_cache_dir",
]
