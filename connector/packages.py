"""Downloading, checking and unpacking one course package (contract section 4).

:func:`fetch_package` runs the whole pipeline for one course, writing nothing visible
until the package is known to be good:

1. :func:`download` streams the zip into a temporary file next to the course's content
   folder, counting the bytes itself (``Content-Length`` may be missing or false) against
   a cap and hashing them with sha256 as they arrive. A transfer that breaks is resumed
   with ``Range: bytes=N-`` (guarded by ``If-Range`` with the strong ``ETag`` or the
   ``Last-Modified`` date); a vendor that answers ``200`` instead of ``206`` is read again
   from the start.
2. The zip is checked by :func:`connector.archive.check_zip` before anything is
   written, and :func:`aicc.validate` checks its course file set. Errors fail the course
   with the AICC rule IDs and ``file:line``; the previous version stays live.
3. :func:`connector.archive.extract_zip` extracts it into a temporary sibling folder
   renamed to ``content/<integration>/<course>/<sha256>/`` at the end; the caller switches
   the course to the returned :class:`PackageVersion` in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import IO
from typing import Any

import requests

from connector import archive
from connector import http as vendor_http
from connector import transport
from connector.errors import ConnectorError
from connector.errors import PackageError
from connector.errors import UnsafeArchiveError
from connector.http import RETRY_STATUSES
from connector.http import RetryBudget
from connector.http import UrlRefused
from connector.http import VendorSession
from connector.http import describe_failure
from connector.http import safe_url
from connector.limits import LimitExceeded
from connector.limits import Limits
from schemas import MAX_PACKAGE_BYTES

__all__ = [
    "DEFAULT_MAX_PACKAGE_BYTES",
    "AiccPackageError",
    "Download",
    "PackageVersion",
    "download",
    "fetch_package",
    "unpack",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_PACKAGE_BYTES = MAX_PACKAGE_BYTES  # PKG-016, from the contract
#: Packages up to this size are downloaded into memory (see :class:`_Spool`).
DEFAULT_SPOOL_BYTES = 8 * 1024 * 1024
#: Read size of a download. Larger chunks were measured slower: each 1 MiB chunk is a
#: fresh allocation that glibc serves with page faults (ten times as many per package).
_CHUNK = 256 * 1024
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")
#: Diagnostics quoted in a failure reason (the rest are counted).
_MAX_QUOTED = 5


class AiccPackageError(PackageError):
    """The package's AICC course file set has errors.

    Attributes:
        rule_ids: the AICC rule IDs reported as errors (``AICC-001`` is the contract's).
        diagnostics: the error diagnostics as JSON-ready dicts.
    """

    def __init__(self, course_id: str, reason: str, rule_ids: list[str], diagnostics: list[Any]):
        super().__init__(course_id, reason, rule_ids)
        self.diagnostics = diagnostics


class _Spool:
    """Where a download goes: memory up to ``limit`` bytes, then a temporary file.

    Small packages never touch the disk before extraction (the zip would otherwise be
    written twice, and disk bandwidth is what bounds a sync of many packages); large
    ones never sit in memory, so peak memory stays bounded whatever the package size.
    """

    def __init__(self, directory: Path, limit: int) -> None:
        self._directory = directory
        self._limit = limit
        self._buffer: io.BytesIO | None = io.BytesIO()
        self._file: IO[bytes] | None = None
        self.path: Path | None = None

    def write(self, data: bytes) -> None:
        if self._buffer is not None and self._buffer.tell() + len(data) > self._limit:
            archive.make_dirs(self._directory)  # a content folder: its deliberate mode
            fd, name = tempfile.mkstemp(
                prefix=f"{archive.TEMP_PREFIX}dl-", suffix=".zip", dir=self._directory
            )
            self.path = Path(name)
            self._file = os.fdopen(fd, "w+b")
            self._file.write(self._buffer.getbuffer())
            self._buffer = None
        target = self._buffer if self._buffer is not None else self._file
        assert target is not None
        target.write(data)

    def restart(self) -> None:
        """Forget what was written (a restarted transfer)."""
        target = self._buffer if self._buffer is not None else self._file
        assert target is not None
        target.seek(0)
        target.truncate()

    def finish(self) -> bytes | Path:
        """The downloaded package: bytes when it stayed in memory, else the file's path."""
        if self._buffer is not None:
            return self._buffer.getvalue()
        assert self._file is not None
        assert self.path is not None
        self._file.close()  # no fsync: the file is read back at once, then deleted
        return self.path

    def discard(self) -> None:
        """Release everything (after a failure, or once the package was extracted)."""
        self._buffer = None
        if self._file is not None:
            self._file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Download:
    """A downloaded package (not yet checked).

    Attributes:
        source: the bytes (small packages) or the temporary file holding them.
        sha256: hex digest of the bytes.
        size: number of bytes.
        requests: HTTP requests made (more than one when resumed or restarted).
        resumed: how many times the transfer was resumed with ``Range``.
    """

    source: bytes | Path
    sha256: str
    size: int
    requests: int
    resumed: int

    def data(self) -> bytes:
        """The package bytes (reads the file for a large package)."""
        return self.source if isinstance(self.source, bytes) else self.source.read_bytes()

    def discard(self) -> None:
        """Delete the temporary file, if any."""
        if isinstance(self.source, Path):
            self.source.unlink(missing_ok=True)


@dataclass(frozen=True)
class PackageVersion:
    """A checked, extracted package, ready to be switched in.

    Attributes:
        sha256: hex digest of the zip.
        size: zip size in bytes.
        stored_path: the extracted folder (``content/<integration>/<course>/<sha256>``).
        aicc_summary: what the AICC validator found (courses, warnings).
        package_last_modified: the list's ``PackageLastModifiedUTC``.
        requests: HTTP requests the download took.
    """

    sha256: str
    size: int
    stored_path: Path
    aicc_summary: dict[str, Any] = field(default_factory=dict)
    package_last_modified: dt.datetime | None = None
    requests: int = 1


def _strong_etag(response: requests.Response) -> str | None:
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return None


def download(
    session: VendorSession,
    url: str,
    directory: Path,
    *,
    course_id: str,
    max_bytes: int = DEFAULT_MAX_PACKAGE_BYTES,
    attempts: int | None = None,
    spool_bytes: int = DEFAULT_SPOOL_BYTES,
) -> Download:
    """Stream a package into memory or, past ``spool_bytes``, a file in ``directory``.

    The whole download (every attempt and wait) is bounded by the session's
    ``package_deadline_s``; waits between attempts follow its :class:`RetryBudget`.

    Args:
        session: the run's session (credentials only on the Provider URL's origin; a
            package on another origin must be on an allowed package host).
        url: the course's ``DownloadPackageUrl``.
        directory: where the temporary file goes (created when missing).
        course_id: the course, for error messages.
        max_bytes: size cap; the transfer stops as soon as it is passed.
        attempts: transfers tried in all (the first plus resumes/restarts); default the
            session's ``attempts`` limit.
        spool_bytes: packages up to this size are kept in memory.

    Returns:
        The downloaded package; the caller calls :meth:`Download.discard`.

    Raises:
        PackageError: refused URL, bad status, over the cap, a deadline, or still
            broken after ``attempts``.
    """
    limits = session.limits
    sink = _Spool(directory, spool_bytes)
    shown = safe_url(url)
    try:
        with session.deadline(limits.package_deadline_s, "package_deadline_s") as due:
            try:
                return _download_into(
                    session, url, sink, course_id=course_id, max_bytes=max_bytes,
                    attempts=max(1, attempts or limits.attempts),
                )  # fmt: skip
            except LimitExceeded as exc:
                raise PackageError(course_id, str(exc)) from None
            except PackageError:
                if due.expired:
                    raise PackageError(
                        course_id,
                        f"{shown}: deadline exceeded (limit {due.limit}={due.value:g})",
                    ) from None
                raise
    except BaseException:
        sink.discard()
        raise


class _Transfer:
    """State of one package download across its attempts (resume bookkeeping)."""

    def __init__(self, sink: _Spool) -> None:
        self.sink = sink
        self.digest = hashlib.sha256()
        self.received = 0
        self.validator: str | None = None  # If-Range value for a resume
        self.resumed = 0

    def restart(self, *, forget_validator: bool = False) -> None:
        self.sink.restart()
        self.digest, self.received = hashlib.sha256(), 0
        if forget_validator:
            self.validator = None


def _download_into(
    session: VendorSession,
    url: str,
    sink: _Spool,
    *,
    course_id: str,
    max_bytes: int,
    attempts: int,
) -> Download:
    state = _Transfer(sink)
    budget = RetryBudget(replace(session.limits, attempts=attempts))
    shown = safe_url(url)
    total: int | None = None
    last_problem = ""
    attempt = 0
    while True:
        attempt += 1
        response: requests.Response | None = None
        try:
            with session.open(url, purpose="package", headers=_headers(state)) as response:
                total, last_problem = _attempt(
                    response, state, shown, course_id=course_id, max_bytes=max_bytes,
                    limits=session.limits,
                )  # fmt: skip
        except UrlRefused as exc:
            raise PackageError(course_id, str(exc)) from None
        except LimitExceeded:
            raise
        except (requests.RequestException, OSError) as exc:
            last_problem = f"request failed: {describe_failure(exc, session.limits)}"
            if state.received:
                last_problem += f" after {state.received} bytes"
            current = transport.current_deadline()
            if current is not None and current.expired:
                raise LimitExceeded(
                    current.limit, current.value, shown, "deadline exceeded"
                ) from None
        if total is not None:
            return Download(sink.finish(), state.digest.hexdigest(), total, attempt, state.resumed)
        log.info("course %s: package attempt %d: %s", course_id, attempt, last_problem)
        wait = budget.next_wait(attempt, response)
        if wait is None:
            raise PackageError(
                course_id,
                f"{shown}: download failed after {attempt} attempt(s): {last_problem}"
                + ("" if attempt >= attempts else f"; {budget.last_refusal}"),
            )
        vendor_http.pause(wait)


def _headers(state: _Transfer) -> dict[str, str]:
    headers = {"Accept": "application/zip", "Accept-Encoding": "identity"}
    if state.received > 0 and state.validator is not None:
        headers["Range"] = f"bytes={state.received}-"
        headers["If-Range"] = state.validator
    elif state.received:
        # No validator to guard a resume: start again rather than splice two versions.
        state.restart()
    return headers


def _attempt(
    response: requests.Response,
    state: _Transfer,
    url: str,
    *,
    course_id: str,
    max_bytes: int,
    limits: Limits,
) -> tuple[int | None, str]:
    """Read one answer into ``state``: ``(total, "")`` when complete, else ``(None, why)``.

    Raises:
        PackageError: an answer that no retry can fix (4xx, over the cap, too long).
    """
    status = response.status_code
    ranged = "Range" in response.request.headers
    if status == 206 and ranged:
        if _range_start(response) != state.received:
            # Not the bytes we asked for: restart from scratch next time.
            state.restart(forget_validator=True)
            return None, "the vendor answered a Range request with the wrong range"
        state.resumed += 1
        expected = _range_total(response)
        if response.headers.get("Content-Length"):
            expected = state.received + _content_length(response, course_id, url)
    elif status == 200:
        if state.received:
            log.info("course %s: vendor ignored Range; downloading again", course_id)
            state.restart()
        length = response.headers.get("Content-Length")
        expected = _content_length(response, course_id, url) if length else -1
        state.validator = _strong_etag(response) or response.headers.get("Last-Modified")
    elif status == 416 and ranged:
        state.restart(forget_validator=True)
        return None, "the vendor refused the Range request (416)"
    elif status in (401, 403):
        raise PackageError(course_id, f"{url}: HTTP {status}: credentials rejected")
    else:
        reason = f"{url}: HTTP {status} {response.reason}".rstrip()
        if status in RETRY_STATUSES:
            return None, reason
        raise PackageError(course_id, reason)
    if expected > max_bytes:
        raise PackageError(
            course_id,
            f"{url}: Content-Length {expected} over the size cap of {max_bytes} bytes",
            ("PKG-016",),
        )
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    try:
        for chunk in transport.iter_body(
            response, url, cap=max_bytes - state.received, limit="max_package_bytes"
        ):
            state.received += len(chunk)
            state.digest.update(chunk)
            state.sink.write(chunk)
    except LimitExceeded:
        raise PackageError(
            course_id, f"{url}: more than the size cap of {max_bytes} bytes", ("PKG-016",)
        ) from None
    except ValueError as exc:
        raise PackageError(course_id, f"{url}: {exc}") from None
    except (requests.RequestException, OSError) as exc:
        current = transport.current_deadline()
        if current is not None and current.expired:
            raise LimitExceeded(current.limit, current.value, url, "deadline exceeded") from None
        why = describe_failure(exc, limits)
        return None, f"transfer broken after {state.received} bytes ({why})"
    current = transport.current_deadline()
    if current is not None:
        current.check(url)  # a body cut by the watchdog can look complete
    if expected >= 0 and not encoded and state.received != expected:
        if state.received > expected:
            raise PackageError(course_id, f"{url}: {state.received} bytes, {expected} announced")
        return None, f"short read: {state.received} of {expected} bytes"
    return state.received, ""


def _content_length(response: requests.Response, course_id: str, url: str) -> int:
    text = response.headers.get("Content-Length", "")
    if not text.strip().isdigit():
        raise PackageError(course_id, f"{url}: unusable Content-Length {text[:40]!r}")
    return int(text)


def _range_start(response: requests.Response) -> int | None:
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "").strip())
    return int(match.group(1)) if match else None


def _range_total(response: requests.Response) -> int:
    """The complete length from ``Content-Range`` (-1 when the vendor says ``*``)."""
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "").strip())
    return int(match.group(3)) if match and match.group(3) != "*" else -1


def _aicc_check(course_id: str, package: bytes | Path) -> dict[str, Any]:
    """Validate the package's course files; raise :class:`AiccPackageError` on errors."""
    import aicc

    report = aicc.validate(package)
    if not report.courses and report.valid:
        raise AiccPackageError(course_id, "no AICC course file set found", ["PKG-010"], [])
    if not report.valid:
        errors = report.errors
        rule_ids = sorted({d.rule for d in errors})
        quoted = "; ".join(d.format() for d in errors[:_MAX_QUOTED])
        more = f" (and {len(errors) - _MAX_QUOTED} more)" if len(errors) > _MAX_QUOTED else ""
        raise AiccPackageError(
            course_id,
            f"AICC validation failed [AICC-001]: {quoted}{more}",
            ["AICC-001", *rule_ids],
            [d.to_dict() for d in errors],
        )
    summary = report.to_dict()
    summary.pop("path", None)
    # Keep the record small: warnings are counted and the first few quoted.
    diagnostics = summary.pop("diagnostics", [])
    summary["warnings"] = len(diagnostics)
    summary["diagnostics"] = diagnostics[:20]
    return summary


def fetch_package(
    session: VendorSession,
    url: str,
    course_dir: Path,
    *,
    course_id: str,
    package_last_modified: dt.datetime | None = None,
    max_bytes: int = DEFAULT_MAX_PACKAGE_BYTES,
    attempts: int | None = None,
    limits: archive.ArchiveLimits | None = None,
    validate: Callable[[str, bytes | Path], dict[str, Any]] = _aicc_check,
    spool_bytes: int = DEFAULT_SPOOL_BYTES,
) -> PackageVersion:
    """Download, check, validate and extract one package.

    Args:
        session: the run's authenticated session.
        url: the course's ``DownloadPackageUrl``.
        course_dir: ``content/<integration>/<course>``; the version goes in a
            ``<sha256>`` folder inside it.
        course_id: the vendor's course ``ID``.
        package_last_modified: the list's ``PackageLastModifiedUTC``.
        max_bytes: size cap of the zip.
        attempts: transfers tried (first plus resumes); default the session's
            ``attempts`` limit.
        limits: zip caps (default :class:`connector.archive.ArchiveLimits`).
        validate: checks the (already safety-checked) zip, given as bytes or a path, and
            returns the AICC summary (tests may replace it; default :func:`aicc.validate`).
        spool_bytes: packages up to this size are downloaded into memory.

    Returns:
        The extracted version; nothing refers to it until the caller records it.

    Raises:
        PackageError: download, zip safety or AICC failure (``AiccPackageError`` carries
            the rule IDs). Nothing is left in ``course_dir`` but older versions.
    """
    got = download(
        session,
        url,
        course_dir,
        course_id=course_id,
        max_bytes=max_bytes,
        attempts=attempts,
        spool_bytes=spool_bytes,
    )
    return unpack(
        got,
        course_dir,
        course_id=course_id,
        package_last_modified=package_last_modified,
        limits=limits,
        validate=validate,
    )


def unpack(
    got: Download,
    course_dir: Path,
    *,
    course_id: str,
    package_last_modified: dt.datetime | None = None,
    limits: archive.ArchiveLimits | None = None,
    validate: Callable[[str, bytes | Path], dict[str, Any]] = _aicc_check,
) -> PackageVersion:
    """Check, validate and extract a downloaded package (the second half of a fetch).

    Args:
        got: the download (discarded at the end, whatever happens).
        course_dir: ``content/<integration>/<course>``.
        course_id: the vendor's course ``ID``.
        package_last_modified: the list's ``PackageLastModifiedUTC``.
        limits: zip caps (default :class:`connector.archive.ArchiveLimits`).
        validate: see :func:`fetch_package`.

    Returns:
        The extracted version; nothing refers to it until the caller records it.

    Raises:
        PackageError: zip safety or AICC failure; nothing new is left in ``course_dir``.
    """
    try:
        final = course_dir / got.sha256
        try:
            archive.check_zip(got.source, limits)
            # The zip, not the extracted folder: reading the zip touches only the course
            # structure files, so memory stays flat whatever the size of the media.
            summary = validate(course_id, got.source)
            archive.extract_zip(got.source, final, limits)
        except UnsafeArchiveError as exc:
            raise PackageError(course_id, f"unsafe or corrupt zip: {exc}", ("PKG-009",)) from None
        except PackageError:
            raise
        except ConnectorError as exc:  # pragma: no cover - defensive
            raise PackageError(course_id, str(exc)) from None
        except Exception as exc:
            # The validator never raises on content; anything else is a bug worth seeing,
            # but it must fail this course only, not the run.
            log.exception("course %s: package check crashed", course_id)
            raise PackageError(course_id, f"package check crashed: {type(exc).__name__}") from None
    finally:
        got.discard()
    return PackageVersion(
        sha256=got.sha256,
        size=got.size,
        stored_path=final,
        aicc_summary=summary,
        package_last_modified=package_last_modified,
        requests=got.requests,
    )
