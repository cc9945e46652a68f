"""Reusable check functions: course fields, dates, zip archives.

Each course rule returns the list of :class:`Problem` it found, naming the course ID, the
JSON path and the offending value, so that the vendor can find it at once. The suite turns
problems into :class:`~conformance.errors.ConformanceFailure` with :func:`fail_problems`.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlsplit

from aicc import OPTIONAL_EXTENSIONS
from aicc import REQUIRED_EXTENSIONS
from aicc import zipsafety
from conformance.errors import ConformanceFailure
from schemas import CULTURE_RE
from schemas import DURATION_RE
from schemas import ID_RE
from schemas import MAX_PACKAGE_BYTES
from schemas import UTC_RE

if TYPE_CHECKING:
    from conformance._http import Exchange

#: Default package size cap (PKG-016), from the contract (:mod:`schemas`).
SIZE_CAP = MAX_PACKAGE_BYTES
#: AICC file extensions (with the dot), from :mod:`aicc`.
AICC_REQUIRED = tuple(f".{ext}" for ext in REQUIRED_EXTENSIONS)
AICC_OPTIONAL = tuple(f".{ext}" for ext in OPTIONAL_EXTENSIONS)
#: Problems listed in one failure message (the count says how many more there are).
MAX_LISTED = 15


@dataclass(frozen=True)
class Problem:
    """One offending value in the course list."""

    course_id: str
    path: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"course {self.course_id!r} {self.path} = {_short(self.value)}: {self.message}"


_MISSING = object()


def _short(value: Any) -> str:
    if value is _MISSING:
        return "(missing)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def course_label(course: Any, index: int) -> str:
    """The course's ID when it has a usable one, else its position in the list."""
    if isinstance(course, dict) and isinstance(course.get("ID"), str) and course["ID"]:
        return str(course["ID"])
    return f"#{index}"


def parse_utc(value: Any) -> dt.datetime | None:
    """Parse a contract timestamp (RFC 3339 UTC ending in ``Z``); ``None`` if invalid."""
    if not isinstance(value, str) or not UTC_RE.match(value):
        return None
    try:
        return dt.datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        return None


def parse_http_date(value: str) -> dt.datetime | None:
    """Parse an HTTP-date (RFC 9110); ``None`` when it is not one."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def http_date(moment: dt.datetime) -> str:
    """Format an aware datetime as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    from email.utils import format_datetime

    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def modified_at(course: dict[str, Any]) -> dt.datetime | None:
    """The later of a course's ``LastModifiedUTC`` and ``PackageLastModifiedUTC``."""
    stamps = [
        parse_utc(course.get("LastModifiedUTC")),
        parse_utc(course.get("PackageLastModifiedUTC")),
    ]
    valid = [s for s in stamps if s is not None]
    return max(valid) if valid else None


def _is_abs_http_url(value: Any) -> bool:
    if not isinstance(value, str) or any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  # raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _string(value: Any, lo: int, hi: int) -> str | None:
    if value is _MISSING:
        return "missing (required)"
    if not isinstance(value, str):
        return f"expected a string, got {type(value).__name__}"
    if not lo <= len(value) <= hi:
        return f"expected {lo}-{hi} characters, got {len(value)}"
    return None


CourseRule = Callable[[dict[str, Any]], Iterable[tuple[str, Any, str]]]


def _rule_id(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    value = c.get("ID", _MISSING)
    error = _string(value, 1, 50)
    if error is None and not ID_RE.match(value):
        error = "must be 1-50 letters, digits, '_' or '-', starting with a letter or digit"
    if error:
        yield "$.ID", value, error


def _rule_title(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    value = c.get("Title", _MISSING)
    error = _string(value, 1, 255)
    if error is None and not value.strip():
        error = "must not be only white space"
    if error:
        yield "$.Title", value, error


def _rule_description(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    value = c.get("Description", _MISSING)
    error = _string(value, 0, 10000)
    if error:
        yield "$.Description", value, error


def _rule_course_type(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    value = c.get("CourseType", _MISSING)
    if value != "AICC":
        yield "$.CourseType", value, 'must be "AICC"'


def _rule_is_active(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    value = c.get("IsActive", _MISSING)
    if not isinstance(value, bool):
        yield "$.IsActive", value, "must be a JSON boolean (true or false)"


def _timestamp(c: dict[str, Any], name: str, required: bool) -> Iterable[tuple[str, Any, str]]:
    value = c.get(name, _MISSING)
    if value is _MISSING:
        if required:
            yield f"$.{name}", value, "missing (required)"
        return
    if parse_utc(value) is None:
        yield (
            f"$.{name}",
            value,
            "must be an RFC 3339 UTC date-time ending in Z, e.g. 2026-11-26T10:00:00Z",
        )


def _rule_last_modified(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    yield from _timestamp(c, "LastModifiedUTC", required=True)


def _rule_package_last_modified(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    yield from _timestamp(c, "PackageLastModifiedUTC", required=c.get("IsActive") is True)


def _rule_download_url(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    import schemas

    value = c.get("DownloadPackageUrl", _MISSING)
    if value is _MISSING:
        if c.get("IsActive") is True:
            yield "$.DownloadPackageUrl", value, "missing (required when IsActive is true)"
        return
    if not schemas.is_allowed_package_url(value):
        yield (
            "$.DownloadPackageUrl",
            value,
            "must be an absolute https URL (http only on a loopback host)",
        )


def _rule_languages(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    value = c.get("Languages", _MISSING)
    if value is _MISSING:
        yield "$.Languages", value, "missing (required)"
    elif not isinstance(value, list) or not value:
        yield "$.Languages", value, "must be a non-empty array of culture codes"
    else:
        for i, code in enumerate(value):
            if not isinstance(code, str) or not CULTURE_RE.match(code):
                yield f"$.Languages[{i}]", code, "must be a culture code like en-US"


def _rule_duration(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    value = c.get("Duration", _MISSING)
    if value is not _MISSING and (not isinstance(value, str) or not DURATION_RE.match(value)):
        yield "$.Duration", value, "must be HH:MM:SS (hours may exceed 99)"


def _rule_thumbnail(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    value = c.get("Thumbnail", _MISSING)
    if value is not _MISSING and not _is_abs_http_url(value):
        yield "$.Thumbnail", value, "must be an absolute http(s) URL"


def _string_array(c: dict[str, Any], name: str) -> Iterable[tuple[str, Any, str]]:
    value = c.get(name, _MISSING)
    if value is _MISSING:
        return
    if not isinstance(value, list):
        yield f"$.{name}", value, "must be an array of strings"
        return
    for i, item in enumerate(value):
        if not isinstance(item, str):
            yield f"$.{name}[{i}]", item, "must be a string"


def _rule_subjects(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    yield from _string_array(c, "Subjects")


def _rule_keywords(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    yield from _string_array(c, "Keywords")


def _rule_version(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    value = c.get("Version", _MISSING)
    if value is not _MISSING and not isinstance(value, str):
        yield "$.Version", value, "must be a string"


def _rule_localization(c: dict[str, Any]) -> Iterable[tuple[str, Any, str]]:
    value = c.get("Localization", _MISSING)
    if value is _MISSING:
        return
    if not isinstance(value, list):
        yield "$.Localization", value, "must be an array of objects"
        return
    for i, entry in enumerate(value):
        base = f"$.Localization[{i}]"
        if not isinstance(entry, dict):
            yield base, entry, "must be an object {Language, Title, Description, Keywords}"
            continue
        language = entry.get("Language", _MISSING)
        if not isinstance(language, str) or not CULTURE_RE.match(language):
            yield f"{base}.Language", language, "must be a culture code like fr-FR"
        title = entry.get("Title", _MISSING)
        error = _string(title, 1, 255)
        if error is None and not title.strip():
            error = "must not be only white space"
        if error:
            yield f"{base}.Title", title, error
        if "Description" in entry and (error := _string(entry["Description"], 0, 10000)):
            yield f"{base}.Description", entry["Description"], error
        keywords = entry.get("Keywords", _MISSING)
        if keywords is not _MISSING and (
            not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords)
        ):
            yield f"{base}.Keywords", keywords, "must be an array of strings"


#: Requirement ID -> the course rule that checks it.
COURSE_RULES: dict[str, CourseRule] = {
    "COURSE-002": _rule_id,
    "COURSE-004": _rule_title,
    "COURSE-005": _rule_description,
    "COURSE-006": _rule_course_type,
    "COURSE-007": _rule_is_active,
    "COURSE-008": _rule_last_modified,
    "COURSE-009": _rule_package_last_modified,
    "COURSE-010": _rule_download_url,
    "COURSE-011": _rule_languages,
    "COURSE-012": _rule_duration,
    "COURSE-013": _rule_thumbnail,
    "COURSE-014": _rule_subjects,
    "COURSE-015": _rule_keywords,
    "COURSE-016": _rule_version,
    "COURSE-017": _rule_localization,
}


def course_problems(requirement: str, courses: Iterable[Any]) -> list[Problem]:
    """Apply one course rule to every course object of a list.

    Non-objects are skipped here: COURSE-001 reports them.
    """
    rule = COURSE_RULES[requirement]
    problems: list[Problem] = []
    for index, course in enumerate(courses):
        if isinstance(course, dict):
            label = course_label(course, index)
            problems.extend(Problem(label, p, v, m) for p, v, m in rule(course))
    return problems


def fail_problems(
    requirement: str,
    problems: list[Problem],
    *,
    where: str,
    exchange: Exchange | None = None,
) -> None:
    """Raise a :class:`ConformanceFailure` listing the problems (no-op when empty).

    Args:
        requirement: The requirement ID.
        problems: What :func:`course_problems` found.
        where: Names the list, e.g. ``"the course list"``.
        exchange: The HTTP exchange that carried the first offending course.
    """
    if not problems:
        return
    listed = [str(p) for p in problems[:MAX_LISTED]]
    more = len(problems) - len(listed)
    if more:
        listed.append(f"... and {more} more")
    raise ConformanceFailure(
        requirement,
        expected=f"every course in {where} follows the rule",
        received=f"{len(problems)} offending value(s):\n" + "\n".join(listed),
        exchange=exchange,
    )


# --- zip archives --------------------------------------------------------------------


@dataclass(frozen=True)
class ZipFacts:
    """What the suite needs to know about one package archive."""

    error: str | None  # why the bytes are not a valid zip, else None
    names: tuple[str, ...] = ()
    absolute: tuple[str, ...] = ()
    dotdot: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    encrypted: tuple[str, ...] = ()
    file_sets: tuple[tuple[str, str, frozenset[str]], ...] = ()  # (folder, base, extensions)


def inspect_zip(data: bytes) -> ZipFacts:
    """Inspect an archive without extracting anything (by the rules of aicc.zipsafety)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return ZipFacts(error=f"not a zip archive: {exc}")
    with archive:
        infos = archive.infolist()
        kinds = [(info.filename, zipsafety.classify(info)) for info in infos]
        error = None
        try:
            corrupt = zipsafety.first_corrupt_member(archive)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            error = f"cannot read the archive: {exc}"
        else:
            if corrupt is not None:
                error = f"entry {corrupt[0]!r} fails its CRC check ({corrupt[1]})"

    def having(*wanted: str) -> tuple[str, ...]:
        return tuple(name for name, found in kinds if set(found) & set(wanted))

    return ZipFacts(
        error=error,
        names=tuple(name for name, _ in kinds),
        absolute=having("absolute"),
        dotdot=having("dotdot"),
        links=having("link"),
        encrypted=having("encrypted"),
        file_sets=_file_sets(name for name, _ in kinds),
    )


def _file_sets(names: Iterable[str]) -> tuple[tuple[str, str, frozenset[str]], ...]:
    """(folder, base name, AICC extensions) of each course file set in the archive."""
    groups: dict[tuple[str, str], set[str]] = {}
    for name in names:
        if name.endswith("/"):
            continue
        folder, _, leaf = name.replace("\\", "/").rpartition("/")
        base, dot, ext = leaf.rpartition(".")
        ext = "." + ext.lower()
        if dot and ext in AICC_REQUIRED + AICC_OPTIONAL:
            groups.setdefault((folder, base.lower()), set()).add(ext)
    return tuple((folder, base, frozenset(exts)) for (folder, base), exts in sorted(groups.items()))
