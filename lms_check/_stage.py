"""One scenario's stage: a fresh mock vendor, the trap, the client's state folder, the syncs.

The stage runs the client's ``--sync-cmd`` through the shell with the adapter protocol's
environment (``CCKIT_LMS_*``), records each sync (exit status, duration, the journal
entries it caused), reads the client's catalog with ``--catalog-cmd`` and changes the
vendor between syncs through the mock's admin API (called in-process).
"""

from __future__ import annotations

import base64
import math
import os
import signal
import ssl
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import mock_vendor
from lms_check._journal import Entry
from lms_check._journal import Hook
from lms_check._journal import Wire
from lms_check._servers import Server
from lms_check._servers import Trap
from lms_check._servers import start
from lms_check._servers import start_trap
from lms_check.errors import LmsCheckError

ADMIN_TOKEN = "lms-check-admin"  # noqa: S105 - the in-process mock's admin token
CLIENT_ID = "lms-check-client"
_TAIL = 2000


@dataclass(frozen=True)
class Options:
    """How the client is run."""

    sync_cmd: str
    catalog_cmd: str | None = None
    timeout: float = 120.0
    tls: bool = False
    workdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    cache_dir: Path | None = None


@dataclass
class Sync:
    """One run of ``--sync-cmd``."""

    index: int
    started: float
    ended: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    output: str = ""

    @property
    def duration(self) -> float:
        """Seconds the command ran."""
        return self.ended - self.started

    def describe(self) -> str:
        """One line for a verdict's evidence."""
        if self.timed_out:
            return f"sync {self.index}: killed after {self.duration:.1f} s (--timeout)"
        return f"sync {self.index}: exit status {self.exit_code} after {self.duration:.1f} s"


@dataclass(frozen=True)
class Row:
    """One course of the client's catalog (``--catalog-cmd``)."""

    id: str
    active: bool
    title: str
    package_sha256: str | None

    def describe(self, after_sync: int) -> str:
        """One line for a verdict's evidence."""
        sha = self.package_sha256[:12] + "..." if self.package_sha256 else "null"
        return (
            f"catalog after sync {after_sync}: {self.id} active={str(self.active).lower()} "
            f"title={self.title!r} package_sha256={sha}"
        )


@dataclass
class Catalog:
    """The client's catalog after one sync (``rows``), or why it could not be read."""

    after_sync: int
    rows: dict[str, Row] = field(default_factory=dict)
    problem: str | None = None

    def row(self, course_id: str) -> Row | None:
        """The row of a course, if the client has it."""
        return self.rows.get(course_id)


@dataclass(frozen=True)
class VendorCourse:
    """What the vendor serves for one course right now."""

    id: str
    title: str
    active: bool
    sha256: str


class Stage:
    """Everything one scenario plays on; use as a context manager.

    Args:
        name: The scenario's name (``CCKIT_LMS_SCENARIO``).
        config: The mock vendor's config for this scenario.
        options: How to run the client.
        context: The TLS server context (``--tls``) and the CA file, or ``None``.
    """

    def __init__(
        self,
        name: str,
        config: Mapping[str, Any],
        options: Options,
        tls: tuple[ssl.SSLContext, Path] | None = None,
    ) -> None:
        self.name = name
        self.options = options
        self.secret = "lms-check-" + base64.urlsafe_b64encode(os.urandom(12)).decode()
        cache = options.cache_dir or Path(tempfile.gettempdir()) / "cckit-lms-check-cache"
        full = {
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": self.secret,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "CACHE_DIR": str(cache),
            "JOURNAL_SIZE": 100_000,
            "COURSES": 12,
            "PAGE_SIZE": 5,
            "SEED": 11,
            "MAX_ASSET_BYTES": 4000,
            **config,
        }
        self.app = mock_vendor.create_app(full)
        self.state = mock_vendor.get_state(self.app)
        self.auth_mode = self.state.auth_mode
        self.wire = Wire(self.app.wsgi_app, self.secret, self._served_sha256)
        self.app.wsgi_app = self.wire  # type: ignore[method-assign]
        self.trap = Trap(self._package_bytes)
        self._tls = tls
        self._servers: list[Server] = []
        self.base_url = ""
        self.trap_url = ""
        self.state_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=options.workdir))
        self.syncs: list[Sync] = []
        self.catalogs: list[Catalog] = []

    def __enter__(self) -> Stage:
        context = self._tls[0] if self._tls else None
        vendor = start(self.app, "127.0.0.1", context)
        self._servers.append(vendor)
        self.base_url = vendor.base_url
        try:
            trap = start_trap(self.trap, context)
        except LmsCheckError:
            vendor.stop()
            raise
        self._servers.append(trap)
        self.trap_url = trap.base_url
        return self

    def __exit__(self, *exc: object) -> None:
        self.wire.released.set()  # let stalled answers end
        for server in self._servers:
            server.stop()

    # ------------------------------------------------------------------ the client

    @property
    def provider_url(self) -> str:
        """The Provider URL (course list)."""
        return f"{self.base_url}/api/v1/courses"

    @property
    def auth_url(self) -> str:
        """The Authentication URL (empty in basic mode)."""
        return f"{self.base_url}/oauth/token" if self.auth_mode == "oauth2" else ""

    def environment(self) -> dict[str, str]:
        """The adapter protocol's environment for this scenario."""
        env = dict(os.environ)
        env.update(
            {
                "CCKIT_LMS_PROVIDER_URL": self.provider_url,
                "CCKIT_LMS_AUTH_URL": self.auth_url,
                "CCKIT_LMS_CLIENT_ID": CLIENT_ID,
                "CCKIT_LMS_CLIENT_SECRET": self.secret,
                "CCKIT_LMS_AUTH_MODE": self.auth_mode,
                "CCKIT_LMS_STATE_DIR": str(self.state_dir),
                "CCKIT_LMS_SCENARIO": self.name,
            }
        )
        if self._tls is not None:
            ca_file = str(self._tls[1])
            env.update(
                {
                    "CCKIT_LMS_CA_FILE": ca_file,
                    "SSL_CERT_FILE": ca_file,
                    "REQUESTS_CA_BUNDLE": ca_file,
                }
            )
        return env

    def sync(self, hook: Hook | None = None) -> Sync:
        """Run ``--sync-cmd`` once, with ``hook`` steering the vendor while it runs."""
        if self.syncs:
            time.sleep(wait_for_next_second(self.session_start(self.syncs[-1]), time.time()))
        record = Sync(index=len(self.syncs) + 1, started=time.time())
        self.wire.sync = self.trap.sync = record.index
        self.wire.hook = hook
        try:
            code, timed_out, out, err = _run(
                self.options.sync_cmd, self.environment(), self.options.timeout
            )
        finally:
            self.wire.hook = None
            self.wire.sync = self.trap.sync = 0
        record.ended = time.time()
        record.exit_code, record.timed_out = code, timed_out
        record.output = (out + err)[-_TAIL:]
        self.syncs.append(record)
        return record

    def catalog(self) -> Catalog | None:
        """Read the client's catalog with ``--catalog-cmd`` (``None`` without one)."""
        if not self.options.catalog_cmd:
            return None
        after = len(self.syncs)
        code, timed_out, out, err = _run(
            self.options.catalog_cmd, self.environment(), self.options.timeout
        )
        if timed_out or code != 0:
            what = "timed out" if timed_out else f"exit status {code}"
            result = Catalog(after, problem=f"--catalog-cmd {what}: {err.strip()[-300:]}")
        else:
            result = parse_catalog(out, after)
        self.catalogs.append(result)
        return result

    # ------------------------------------------------------------------ the vendor

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the mock's admin API in-process; returns the decoded JSON answer."""
        client = self.app.test_client()
        response = client.open(
            f"/_admin/{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            **kwargs,
        )
        if response.status_code >= 400:
            raise LmsCheckError(f"mock admin {method} {path}: {response.status_code}")
        return response.get_json()

    def vendor_courses(self) -> dict[str, VendorCourse]:
        """Every course the vendor has now (inactive ones too)."""
        with self.state.lock:
            records = list(self.state.default_tenant.records)
        return {
            r.course_id: VendorCourse(r.course_id, str(r.meta["Title"]), r.is_active, _sha(r))
            for r in records
        }

    def package_bytes(self, course_id: str) -> bytes:
        """The package bytes the vendor serves for a course now."""
        data = self._package_bytes(course_id)
        if data is None:
            raise LmsCheckError(f"the mock has no course {course_id!r}")
        return data

    def _package_bytes(self, course_id: str) -> bytes | None:
        with self.state.lock:
            record = self.state.default_tenant.by_id.get(course_id)
        return record.package.read_bytes() if record is not None else None

    def _served_sha256(self, course_id: str) -> str | None:
        with self.state.lock:
            record = self.state.default_tenant.by_id.get(course_id)
        return _sha(record) if record is not None else None

    def set_title(self, course_id: str, title: str) -> None:
        """Change a course's title (LastModifiedUTC moves)."""
        self.admin("PATCH", f"courses/{course_id}", json={"Title": title})

    def retitle_all(self, suffix: str) -> None:
        """Change every course's title, so that the next incremental list has every page."""
        for course in self.vendor_courses().values():
            self.set_title(course.id, f"{course.title} {suffix}"[:255])

    def deactivate(self, course_id: str) -> None:
        """Set IsActive false."""
        self.admin("POST", f"courses/{course_id}/deactivate")

    def replace_package(self, course_id: str, data: bytes | None = None) -> None:
        """New package bytes (or the next generated revision when ``data`` is ``None``)."""
        self.admin("PUT", f"courses/{course_id}/package", data=data or b"")

    def add_course(self, course_id: str, title: str, data: bytes | None = None) -> None:
        """Add a course (with a generated package unless ``data`` is given)."""
        body: dict[str, Any] = {"ID": course_id, "Title": title}
        if data is not None:
            body["package_base64"] = base64.b64encode(data).decode()
        self.admin("POST", "courses", json=body)

    def rotate_secret(self, secret: str) -> None:
        """Give the client a new secret at the vendor (the client keeps the old one)."""
        self.admin("POST", f"clients/{CLIENT_ID}/rotate-secret", json={"client_secret": secret})

    def expire_tokens(self) -> None:
        """Invalidate every issued token now (they answer 401 invalid_token)."""
        with self.state.lock:
            self.state.tokens.clear()

    def set_fault(self, spec: str) -> None:
        """Switch a mock fault on (``NAME[:ARG][@SCOPE]``)."""
        self.admin("POST", "faults", json={"spec": spec})

    def clear_faults(self) -> None:
        """Switch every mock fault off."""
        self.admin("DELETE", "faults")

    def entries(self, sync: int | None = None) -> list[Entry]:
        """Journal entries of one sync (or all)."""
        return self.wire.of_sync(sync) if sync is not None else self.wire.snapshot()

    def session_start(self, sync: Sync) -> float:
        """When the client started talking to the vendor in ``sync`` (its first request)."""
        entries = self.entries(sync.index)
        return entries[0].started if entries else sync.started


def wait_for_next_second(previous_first_request: float, now: float) -> float:
    """Seconds to wait so that a sync starting after them starts in a later whole second
    than the previous sync's first request.

    Watermarks travel as HTTP dates, in whole seconds: a client that keeps the start of
    the wrong sync (the failed one, CLIST-004) sends a date later than the last good
    sync's start only if the two syncs started in different seconds. A fast client on a
    fast vendor can run a sync in well under a second, so the stage makes sure of it
    (at most a second per sync) instead of leaving the verdict to the machine's speed.
    """
    return max(0.0, math.floor(previous_first_request) + 1 - now)


def _sha(record: Any) -> str:
    return str(record.package.info().sha256)


def parse_catalog(text: str, after_sync: int) -> Catalog:
    """Read ``--catalog-cmd`` output: a JSON array of ``{id, active, title, package_sha256}``."""
    import json

    try:
        data = json.loads(text)
    except ValueError as exc:
        return Catalog(after_sync, problem=f"--catalog-cmd printed no JSON: {exc}")
    if not isinstance(data, list):
        return Catalog(after_sync, problem="--catalog-cmd printed JSON that is not an array")
    rows: dict[str, Row] = {}
    for index, item in enumerate(data):
        problem = _row_problem(item)
        if problem:
            return Catalog(after_sync, problem=f"--catalog-cmd item {index}: {problem}")
        rows[item["id"]] = Row(item["id"], item["active"], item["title"], item["package_sha256"])
    return Catalog(after_sync, rows)


def _row_problem(item: object) -> str | None:
    if not isinstance(item, dict):
        return "not an object"
    for key, kinds in (("id", str), ("active", bool), ("title", str)):
        if not isinstance(item.get(key), kinds):
            return f"{key!r} missing or not a {kinds.__name__}"
    sha = item.get("package_sha256")
    if sha is not None and not (isinstance(sha, str) and len(sha) == 64):
        return "'package_sha256' is neither null nor 64 hex digits"
    return None


def _run(command: str, env: dict[str, str], timeout: float) -> tuple[int | None, bool, str, str]:
    """Run ``command`` through the shell in its own process group; kill the group on time-out."""
    process = subprocess.Popen(  # noqa: S602 - the adapter protocol runs the user's command line
        command,
        shell=True,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        return None, True, out.decode(errors="replace"), err.decode(errors="replace")
    return process.returncode, False, out.decode(errors="replace"), err.decode(errors="replace")


__all__ = ["Catalog", "Options", "Row", "Stage", "Sync", "VendorCourse", "parse_catalog"]
