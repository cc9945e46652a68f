"""The checks on the client's catalog (CPKG, CCAT): catalog rows against the vendor's state.

Like :mod:`lms_check._judge`, each returns a verdict with the evidence; without a usable
catalog a check says ``not checked`` (or fails when the catalog command misbehaved).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence

from lms_check._journal import Entry
from lms_check._judge import Verdict
from lms_check._judge import _cite
from lms_check._judge import failed
from lms_check._judge import list_failed
from lms_check._judge import no_catalog
from lms_check._judge import not_checked
from lms_check._judge import passed
from lms_check._stage import Catalog
from lms_check._stage import Stage
from lms_check._stage import Sync

# ---------------------------------------------------------------------- CPKG


def packages_current(stage: Stage, catalog: Catalog | None, skip: Iterable[str] = ()) -> Verdict:
    """CPKG-001: every active course the client holds has the vendor's current package."""
    rid = "CPKG-001"
    absent = no_catalog(rid, catalog)
    if absent or catalog is None:
        return absent or not_checked(rid, "no catalog")
    ignore = set(skip)
    stale = []
    checked = 0
    for course in stage.vendor_courses().values():
        row = catalog.row(course.id)
        if not course.active or row is None or course.id in ignore:
            continue
        checked += 1
        if row.package_sha256 != course.sha256:
            stale.append(row)
    if stale:
        return failed(
            rid,
            f"{len(stale)} course(s) without the vendor's current package",
            "package_sha256 equal to the SHA-256 of the vendor's current zip",
            f"{stale[0].id}: {stale[0].package_sha256 or 'null'}",
            [r.describe(catalog.after_sync) for r in stale],
        )
    return passed(rid, f"{checked} package(s) current")


def kept_previous(
    stage: Stage,
    catalog: Catalog | None,
    broken: dict[str, tuple[str | None, str]],
    rid: str,
) -> Verdict:
    """CPKG-002/003: each broken package unpublished, the previous version (or none) kept.

    ``broken`` maps course ID -> (SHA-256 published before, or ``None``; what is wrong).
    """
    absent = no_catalog(rid, catalog)
    if absent or catalog is None:
        return absent or not_checked(rid, "no catalog")
    evidence = [e for e in stage.entries() if e.op == "package" and e.course in broken]
    for course_id, (before, what) in broken.items():
        row = catalog.row(course_id)
        if row is None:
            if before is None:
                continue
            return failed(
                rid,
                f"{course_id} vanished from the catalog after its package broke",
                "the previous version still published",
                "no row",
                evidence,
            )
        if row.package_sha256 != before:
            return failed(
                rid,
                f"{course_id}: a package with {what} replaced what was published",
                f"package_sha256 {before or 'null'} (the version before)",
                f"package_sha256 {row.package_sha256 or 'null'}",
                [row.describe(catalog.after_sync), *_cite(evidence)],
            )
    rows = [catalog.row(c) for c in broken]
    return passed(
        rid,
        "broken package(s) not published: " + ", ".join(w for _, w in broken.values()),
        [r.describe(catalog.after_sync) for r in rows if r is not None],
    )


def no_redownload(stage: Stage) -> Verdict:
    """CPKG-004: a package body served whole once is not fetched whole again unchanged."""
    rid = "CPKG-004"
    fetched: dict[tuple[str, str], Entry] = {}
    for entry in stage.entries():
        if entry.op != "package" or entry.status != 200 or entry.method != "GET":
            continue
        key = (entry.course or "", entry.package_sha256 or "")
        first = fetched.get(key)
        if first is not None and first.sync != entry.sync and not first.cut:
            return failed(
                rid,
                f"{entry.course}: the same package downloaded again in sync {entry.sync}",
                "no download of a package whose bytes did not change",
                "a second full download",
                [first, entry],
            )
        fetched.setdefault(key, entry)
    return passed(rid, f"{len(fetched)} package version(s) downloaded once each")


def resumed(stage: Stage, course_id: str) -> Verdict:
    """CPKG-005: the request after a cut asks for the rest with Range."""
    rid = "CPKG-005"
    entries = [e for e in stage.entries() if e.op == "package" and e.course == course_id]
    cut = [e for e in entries if e.cut]
    if not cut:
        return not_checked(rid, "no download was cut")
    later = [e for e in entries if e.n > cut[0].n]
    if not later:
        return not_checked(rid, f"the client did not fetch {course_id} again")
    ranged = later[0].range or ""
    start = ranged.removeprefix("bytes=").partition("-")[0]
    if start.isdigit() and int(start) > 0:
        return passed(rid, f"resumed with {ranged}", [cut[0], later[0]])
    return failed(
        rid,
        "the cut download started over",
        f"Range: bytes={cut[0].sent}- (or a smaller positive start)",
        f"Range: {later[0].range or '(none)'}",
        [cut[0], later[0]],
    )


# ---------------------------------------------------------------------- CCAT


def titles_applied(stage: Stage, catalog: Catalog | None) -> Verdict:
    """CCAT-001: the client's titles are the vendor's."""
    rid = "CCAT-001"
    absent = no_catalog(rid, catalog)
    if absent or catalog is None:
        return absent or not_checked(rid, "no catalog")
    vendor = stage.vendor_courses()
    wrong = [r for r in catalog.rows.values() if r.id in vendor and r.title != vendor[r.id].title]
    if wrong:
        return failed(
            rid,
            f"{len(wrong)} stale title(s)",
            f"{wrong[0].id} titled {vendor[wrong[0].id].title!r}",
            f"{wrong[0].title!r}",
            [r.describe(catalog.after_sync) for r in wrong],
        )
    return passed(rid, f"{len(catalog.rows)} title(s) match")


def deactivations_applied(stage: Stage, catalog: Catalog | None, ids: Sequence[str]) -> Verdict:
    """CCAT-002: deactivated courses present and inactive."""
    rid = "CCAT-002"
    absent = no_catalog(rid, catalog)
    if absent or catalog is None:
        return absent or not_checked(rid, "no catalog")
    for course_id in ids:
        row = catalog.row(course_id)
        if row is None:
            return failed(
                rid,
                f"{course_id} was removed instead of deactivated",
                f"{course_id} in the catalog with active=false",
                "no row",
                [],
            )
        if row.active:
            return failed(
                rid,
                f"{course_id} is still active after the vendor deactivated it",
                "active=false",
                "active=true",
                [row.describe(catalog.after_sync)],
            )
    rows = [catalog.row(c) for c in ids]
    return passed(rid, "deactivations applied", [r.describe(catalog.after_sync) for r in rows if r])


def nothing_deactivated(
    stage: Stage, before: Catalog | None, after: Catalog | None, failed_sync: Sync
) -> Verdict:
    """CCAT-003: a failed list read deactivated nothing."""
    rid = "CCAT-003"
    absent = no_catalog(rid, before) or no_catalog(rid, after)
    if absent or before is None or after is None:
        return absent or not_checked(rid, "no catalog")
    if not list_failed(stage, failed_sync):
        return not_checked(rid, f"the client met no list failure in sync {failed_sync.index}")
    vendor = stage.vendor_courses()
    lost = [
        r
        for r in before.rows.values()
        if r.active
        and vendor.get(r.id, None) is not None
        and vendor[r.id].active
        and not (after.row(r.id) and after.rows[r.id].active)
    ]
    if lost:
        return failed(
            rid,
            f"{len(lost)} course(s) deactivated after a failed list read",
            "every course active before the failed sync still active",
            f"{lost[0].id} inactive or gone",
            [
                *(after.rows[r.id].describe(after.after_sync) for r in lost if r.id in after.rows),
                *_cite([failed_sync]),
            ],
        )
    return passed(
        rid, f"{len(before.rows)} course(s) kept through the failed sync {failed_sync.index}"
    )
