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
import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import requests

from connector import archive
from connector.errors import ConnectorError
from connector.errors import PackageError
from connector.errors import UnsafeArchiveError

__all__ = [
    "DEFAULT_MAX_PACKAGE_BYTES",
    "AiccPackageError",
    "Download",
    "PackageVersion",
    "download",
    "fetch_package",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_PACKAGE_BYTES = 250 * 1024 * 1024
_CHUNK = 64 * 1024
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
        super().__init__(course_id, reason)
        self.rule_ids = rule_ids
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class Download:
    """A downloaded package file (not yet checked).

    Attributes:
        path: the temporary file holding the bytes.
        sha256: hex digest of the bytes.
        size: number of bytes.
        requests: HTTP requests made (more than one when resumed or restarted).
        resumed: how many times the transfer was resumed with ``Range``.
    """

    path: Path
    sha256: str
    size: int
    requests: int
    resumed: int


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


class _Broken(Exception):
    """A transfer ended early; ``received`` bytes of the current response were kept."""


def _strong_etag(response: requests.Response) -> str | None:
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return None


def download(
    session: requests.Session,
    url: str,
    directory: Path,
    *,
    course_id: str,
    max_bytes: int = DEFAULT_MAX_PACKAGE_BYTES,
    attempts: int = 3,
) -> Download:
    """Stream a package into a temporary file in ``directory``.

    Args:
        session: the run's authenticated session.
        url: the course's ``DownloadPackageUrl``.
        directory: where the temporary file goes (created when missing).
        course_id: the course, for error messages.
        max_bytes: size cap; the transfer stops as soon as it is passed.
        attempts: transfers tried in all (the first plus resumes/restarts).

    Returns:
        The downloaded file; the caller removes it.

    Raises:
        PackageError: bad status, over the cap, or still broken after ``attempts``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{archive.TEMP_PREFIX}dl-", suffix=".zip", dir=directory)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as sink:
            return _download_into(
                session, url, sink, path, course_id=course_id, max_bytes=max_bytes,
                attempts=max(1, attempts),
            )  # fmt: skip
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _download_into(
    session: requests.Session,
    url: str,
    sink: Any,
    path: Path,
    *,
    course_id: str,
    max_bytes: int,
    attempts: int,
) -> Download:
    digest = hashlib.sha256()
    received = 0
    total: int | None = None
    validator: str | None = None  # If-Range value for a resume
    resumed = 0
    last_problem = ""
    for attempt in range(1, attempts + 1):
        headers = {"Accept": "application/zip", "Accept-Encoding": "identity"}
        ranged = received > 0 and validator is not None
        if ranged:
            headers["Range"] = f"bytes={received}-"
            headers["If-Range"] = validator or ""
        elif received:
            # No validator to guard a resume: start again rather than splice two versions.
            sink.seek(0)
            sink.truncate()
            digest, received = hashlib.sha256(), 0
        try:
            response = session.get(url, headers=headers, stream=True)
        except requests.RequestException as exc:
            last_problem = f"request failed ({type(exc).__name__})"
            log.info("course %s: package attempt %d: %s", course_id, attempt, last_problem)
            continue
        with response:
            status = response.status_code
            if status == 206 and ranged:
                start = _range_start(response)
                if start != received:
                    # Not the bytes we asked for: restart from scratch next time.
                    sink.seek(0)
                    sink.truncate()
                    digest, received, validator = hashlib.sha256(), 0, None
                    last_problem = "the vendor answered a Range request with the wrong range"
                    continue
                resumed += 1
                expected = received + _content_length(response, course_id, url)
            elif status == 200:
                if received:
                    log.info("course %s: vendor ignored Range; downloading again", course_id)
                    sink.seek(0)
                    sink.truncate()
                    digest, received = hashlib.sha256(), 0
                length = response.headers.get("Content-Length")
                expected = _content_length(response, course_id, url) if length else -1
                validator = _strong_etag(response) or response.headers.get("Last-Modified")
            elif status == 416 and ranged:
                sink.seek(0)
                sink.truncate()
                digest, received, validator = hashlib.sha256(), 0, None
                last_problem = "the vendor refused the Range request (416)"
                continue
            elif status in (401, 403):
                raise PackageError(course_id, f"{url}: HTTP {status}: credentials rejected")
            else:
                reason = f"{url}: HTTP {status} {response.reason}".rstrip()
                if status >= 500 or status == 429:
                    last_problem = reason
                    continue
                raise PackageError(course_id, reason)
            if expected > max_bytes:
                raise PackageError(
                    course_id,
                    f"{url}: Content-Length {expected} over the size cap of {max_bytes} bytes",
                )
            encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
            try:
                for chunk in response.iter_content(chunk_size=_CHUNK):
                    received += len(chunk)
                    if received > max_bytes:
                        raise PackageError(
                            course_id, f"{url}: more than the size cap of {max_bytes} bytes"
                        )
                    digest.update(chunk)
                    sink.write(chunk)
            except (requests.RequestException, OSError) as exc:
                last_problem = f"transfer broken after {received} bytes ({type(exc).__name__})"
                log.info("course %s: %s; resuming", course_id, last_problem)
                continue
            if expected >= 0 and not encoded and received != expected:
                last_problem = f"short read: {received} of {expected} bytes"
                if received > expected:
                    raise PackageError(course_id, f"{url}: {received} bytes, {expected} announced")
                continue
            total = received
            break
    if total is None:
        raise PackageError(
            course_id, f"{url}: download failed after {attempts} attempt(s): {last_problem}"
        )
    # No fsync: the file is read back at once and deleted after extraction.
    sink.flush()
    return Download(path, digest.hexdigest(), total, attempt, resumed)


def _content_length(response: requests.Response, course_id: str, url: str) -> int:
    text = response.headers.get("Content-Length", "")
    if not text.strip().isdigit():
        raise PackageError(course_id, f"{url}: unusable Content-Length {text[:40]!r}")
    return int(text)


def _range_start(response: requests.Response) -> int | None:
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "").strip())
    return int(match.group(1)) if match else None


def _aicc_check(course_id: str, package: Path) -> dict[str, Any]:
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
    session: requests.Session,
    url: str,
    course_dir: Path,
    *,
    course_id: str,
    package_last_modified: dt.datetime | None = None,
    max_bytes: int = DEFAULT_MAX_PACKAGE_BYTES,
    attempts: int = 3,
    limits: archive.ArchiveLimits | None = None,
    validate: Callable[[str, Path], dict[str, Any]] = _aicc_check,
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
        attempts: transfers tried (first plus resumes).
        limits: zip caps (default :class:`connector.archive.ArchiveLimits`).
        validate: checks the (already safety-checked) zip and returns the AICC summary
            (tests may replace it; default runs :func:`aicc.validate`).

    Returns:
        The extracted version; nothing refers to it until the caller records it.

    Raises:
        PackageError: download, zip safety or AICC failure (``AiccPackageError`` carries
            the rule IDs). Nothing is left in ``course_dir`` but older versions.
    """
    got = download(
        session, url, course_dir, course_id=course_id, max_bytes=max_bytes, attempts=attempts
    )
    try:
        final = course_dir / got.sha256
        try:
            archive.check_zip(got.path, limits)
            # The zip, not the extracted folder: reading the zip touches only the course
            # structure files, so memory stays flat whatever the size of the media.
            summary = validate(course_id, got.path)
            archive.extract_zip(got.path, final, limits)
        except UnsafeArchiveError as exc:
            raise PackageError(course_id, f"unsafe or corrupt zip: {exc}") from None
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
        got.path.unlink(missing_ok=True)
    return PackageVersion(
        sha256=got.sha256,
        size=got.size,
        stored_path=final,
        aicc_summary=summary,
        package_last_modified=package_last_modified,
        requests=got.requests,
    )
