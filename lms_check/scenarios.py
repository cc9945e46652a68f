"""The scenario packs: scripted vendor behaviour, and the requirements each one judges.

A scenario gets a fresh mock vendor (12 generated courses on pages of 5 unless it says
otherwise), runs the client's sync one or more times, changes the vendor between syncs
(and sometimes during one, through a journal hook) and returns verdicts. Every scenario
also judges the rules that hold on every request: credentials on each call (CAUTH-001),
token reuse (CAUTH-002), no credentials in URLs (CAUTH-006), Retry-After (CNET-001),
bounded retries (CNET-002) and syncs that end on their own (CNET-004).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from lms_check import _judge as judge
from lms_check import _packages as broken
from lms_check._journal import Action
from lms_check._journal import Entry
from lms_check._journal import Hook
from lms_check._journal import Wire
from lms_check._judge import Verdict
from lms_check._stage import Stage

#: Judged in every scenario.
ALWAYS = ("CAUTH-001", "CAUTH-002", "CAUTH-006", "CNET-001", "CNET-002", "CNET-004")


@dataclass(frozen=True)
class Scenario:
    """One scripted vendor scenario.

    Attributes:
        name: What ``--scenario`` selects and ``CCKIT_LMS_SCENARIO`` says.
        summary: One line.
        steps: What the vendor does, sync by sync.
        judges: The requirements it judges besides :data:`ALWAYS`.
        play: Runs the syncs on a stage and returns the scenario's own verdicts.
        config: The mock vendor's config (over the stage defaults).
    """

    name: str
    summary: str
    steps: tuple[str, ...]
    judges: tuple[str, ...]
    play: Callable[[Stage], list[Verdict]]
    config: Mapping[str, Any] = field(default_factory=dict)
    #: Rough cost, to start the long scenarios first when several run at once.
    weight: int = 1

    @property
    def requirements(self) -> tuple[str, ...]:
        """Every requirement the scenario judges."""
        return tuple(dict.fromkeys((*self.judges, *ALWAYS)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (``cckit lms-check scenarios --format json``)."""
        return {
            "name": self.name,
            "summary": self.summary,
            "steps": list(self.steps),
            "requirements": list(self.requirements),
        }


def common(stage: Stage) -> list[Verdict]:
    """The verdicts of :data:`ALWAYS`."""
    return [
        judge.auth_scheme(stage),
        judge.token_reuse(stage),
        judge.no_credentials_in_urls(stage),
        judge.honoured_retry_after(stage),
        judge.bounded_retries(stage),
        judge.finished(stage),
    ]


# ---------------------------------------------------------------------- hook helpers


def _once_at_call(number: int, effect: Callable[[], None]) -> Hook:
    """Run ``effect`` before the ``number``-th list or package call of the sync."""
    seen = [0]
    lock = threading.Lock()

    def hook(wire: Wire, entry: Entry) -> Action | None:
        if entry.op not in ("list", "package"):
            return None
        with lock:
            seen[0] += 1
            fire = seen[0] == number
        if fire:
            effect()
        return None

    return hook


def _first_n(match: Callable[[Entry], bool], count: int, action: Callable[[], Action]) -> Hook:
    """Answer the first ``count`` requests that ``match`` with ``action()``."""
    hits = [0]
    lock = threading.Lock()

    def hook(wire: Wire, entry: Entry) -> Action | None:
        if not match(entry):
            return None
        with lock:
            hits[0] += 1
            return action() if hits[0] <= count else None

    return hook


def _chain(*hooks: Hook) -> Hook:
    def hook(wire: Wire, entry: Entry) -> Action | None:
        for item in hooks:
            action = item(wire, entry)
            if action is not None:
                return action
        return None

    return hook


def _status(code: int, retry_after: int | None = None) -> Action:
    headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = b'{"error": "unavailable", "message": "Injected by the LMS check."}'
    return Action(
        f"{code}" + (f" Retry-After {retry_after}" if retry_after else ""), (code, headers, body)
    )


def _package_of(course_id: str) -> Callable[[Entry], bool]:
    return lambda e: e.op == "package" and e.course == course_id and e.method == "GET"


def _sha(stage: Stage, course_id: str) -> str:
    return stage.vendor_courses()[course_id].sha256


# ---------------------------------------------------------------------- the scenarios


def first_sync(stage: Stage) -> list[Verdict]:
    sync = stage.sync()
    catalog = stage.catalog()
    return [
        judge.followed_every_next(stage, sync, catalog),
        judge.packages_current(stage, catalog),
        judge.titles_applied(stage, catalog),
    ]


def incremental_change(stage: Stage) -> list[Verdict]:
    first = stage.sync()
    stage.set_title("CRS-00003", "Risk Management, revised edition")
    stage.add_course("NEW-00001", "A course added after the first sync")
    during = _once_at_call(2, lambda: stage.set_title("CRS-00001", "Changed while a sync ran"))
    second = stage.sync(during)
    third = stage.sync()
    catalog = stage.catalog()
    return [
        judge.watermark(stage, second, first, "CLIST-003"),
        judge.watermark(stage, third, second, "CLIST-003"),
        judge.followed_every_next(stage, third, catalog),
        judge.titles_applied(stage, catalog),
        judge.packages_current(stage, catalog),
        judge.no_redownload(stage),
    ]


def deactivation(stage: Stage) -> list[Verdict]:
    stage.sync()
    for course_id in ("CRS-00002", "CRS-00004"):
        stage.deactivate(course_id)
    stage.sync()
    catalog = stage.catalog()
    return [judge.deactivations_applied(stage, catalog, ["CRS-00002", "CRS-00004"])]


def replaced_package(stage: Stage) -> list[Verdict]:
    stage.sync()
    stage.replace_package("CRS-00005")
    stage.sync()
    catalog = stage.catalog()
    return [judge.packages_current(stage, catalog), judge.no_redownload(stage)]


def truncated_package(stage: Stage) -> list[Verdict]:
    stage.sync()
    before = stage.catalog()
    old = before.rows.get("CRS-00006") if before and not before.problem else None
    stage.replace_package("CRS-00006", broken.truncated(stage.package_bytes("CRS-00006")))
    stage.add_course("NEW-00002", "A new course whose first package is truncated")
    stage.replace_package("NEW-00002", broken.truncated(stage.package_bytes("NEW-00002")))
    stage.sync()
    catalog = stage.catalog()
    cases = {
        "CRS-00006": (old.package_sha256 if old else None, "a truncated zip"),
        "NEW-00002": (None, "a truncated zip (new course)"),
    }
    return [judge.kept_previous(stage, catalog, cases, "CPKG-002")]


def unsafe_package(stage: Stage) -> list[Verdict]:
    stage.sync()
    before = stage.catalog()
    rows = before.rows if before and not before.problem else {}
    stage.replace_package("CRS-00007", broken.with_unsafe_entry(stage.package_bytes("CRS-00007")))
    stage.replace_package("CRS-00008", broken.without_cst(stage.package_bytes("CRS-00008")))
    stage.sync()
    catalog = stage.catalog()
    cases = {
        cid: (rows[cid].package_sha256 if cid in rows else None, what)
        for cid, what in (("CRS-00007", "a ../ entry"), ("CRS-00008", "no .cst file"))
    }
    return [
        judge.kept_previous(stage, catalog, cases, "CPKG-002"),
        judge.packages_current(stage, catalog, skip=cases),
    ]


def invalid_aicc(stage: Stage) -> list[Verdict]:
    stage.sync()
    before = stage.catalog()
    old = before.rows.get("CRS-00009") if before and not before.problem else None
    stage.replace_package("CRS-00009", broken.aicc_invalid(stage.package_bytes("CRS-00009")))
    stage.sync()
    catalog = stage.catalog()
    cases = {"CRS-00009": (old.package_sha256 if old else None, "an AICC error (no Course_ID)")}
    return [judge.kept_previous(stage, catalog, cases, "CPKG-003")]


def token_expiry(stage: Stage) -> list[Verdict]:
    sync = stage.sync(_once_at_call(3, stage.expire_tokens))
    catalog = stage.catalog()
    return [
        judge.reauthenticated(stage, sync),
        judge.followed_every_next(stage, sync, catalog),
        judge.packages_current(stage, catalog),
    ]


def token_revoked(stage: Stage) -> list[Verdict]:
    good = stage.sync()
    before = stage.catalog()
    stage.retitle_all("(2nd edition)")
    lists = [0]
    lock = threading.Lock()

    def revoke(wire: Wire, entry: Entry) -> Action | None:
        if entry.op == "list":
            with lock:
                lists[0] += 1
        if entry.op in ("list", "package") and lists[0] >= 2:
            stage.expire_tokens()
        return None

    bad = stage.sync(revoke)
    after = stage.catalog()
    again = stage.sync()
    return [
        judge.no_reauth_loop(stage, bad),
        judge.nothing_deactivated(stage, before, after, bad),
        _after_failure(stage, bad, again, good),
    ]


def _after_failure(stage: Stage, bad: Any, again: Any, good: Any) -> Verdict:
    if not judge.list_failed(stage, bad):
        return judge.not_checked("CLIST-004", f"the client met no list failure in sync {bad.index}")
    return judge.watermark(stage, again, good, "CLIST-004")


def invalid_client(stage: Stage) -> list[Verdict]:
    good = stage.sync()
    before = stage.catalog()
    stage.rotate_secret(stage.secret + "-rotated")
    bad = stage.sync()
    after = stage.catalog()
    stage.rotate_secret(stage.secret)
    again = stage.sync()
    return [
        judge.stops_on_invalid_client(stage, bad),
        judge.nothing_deactivated(stage, before, after, bad),
        _after_failure(stage, bad, again, good),
    ]


def rate_limited(stage: Stage) -> list[Verdict]:
    stage.set_fault("rate_limit:2,2@list")
    hook = _first_n(_package_of("CRS-00003"), 1, lambda: _status(429, 1))
    sync = stage.sync(hook)
    catalog = stage.catalog()
    return [
        judge.recovered(stage, sync),
        judge.followed_every_next(stage, sync, catalog),
        judge.packages_current(stage, catalog),
    ]


def unavailable_bursts(stage: Stage) -> list[Verdict]:
    hook = _chain(
        _first_n(lambda e: e.op == "list" and "cursor=" in e.query, 2, lambda: _status(503)),
        _first_n(_package_of("CRS-00004"), 1, lambda: _status(503, 1)),
        _first_n(_package_of("CRS-00008"), 2, lambda: _status(502)),
    )
    sync = stage.sync(hook)
    catalog = stage.catalog()
    return [
        judge.recovered(stage, sync),
        judge.followed_every_next(stage, sync, catalog),
        judge.packages_current(stage, catalog),
    ]


def list_page_failure(stage: Stage) -> list[Verdict]:
    good = stage.sync()
    before = stage.catalog()
    stage.retitle_all("(2nd edition)")
    failing = _first_n(
        lambda e: e.op == "list" and "cursor=" in e.query, 10_000, lambda: _status(500)
    )
    bad = stage.sync(failing)
    after = stage.catalog()
    again = stage.sync()
    return [
        judge.nothing_deactivated(stage, before, after, bad),
        _after_failure(stage, bad, again, good),
    ]


def next_link_loop(stage: Stage) -> list[Verdict]:
    stage.sync()
    before = stage.catalog()
    stage.retitle_all("(2nd edition)")
    stage.set_fault("next_link_loop")
    bad = stage.sync()
    after = stage.catalog()
    return [
        judge.refused_loop(stage, bad),
        judge.nothing_deactivated(stage, before, after, bad),
    ]


def next_link_other_origin(stage: Stage) -> list[Verdict]:
    stage.sync()
    before = stage.catalog()
    stage.retitle_all("(2nd edition)")

    def elsewhere(wire: Wire, entry: Entry) -> Action | None:
        if entry.op != "list":
            return None
        return Action(
            "next link moved to another origin",
            link=lambda url: stage.trap_url + url[len(stage.base_url) :],
        )

    bad = stage.sync(elsewhere)
    after = stage.catalog()
    return [
        judge.no_credentials_elsewhere(stage),
        judge.nothing_deactivated(stage, before, after, bad),
    ]


def package_other_origin(stage: Stage) -> list[Verdict]:
    moved = "CRS-00002"

    def to_cdn(courses: Any) -> Any:
        for course in courses:
            if (
                isinstance(course, dict)
                and course.get("ID") == moved
                and "DownloadPackageUrl" in course
            ):
                course["DownloadPackageUrl"] = f"{stage.trap_url}/cdn/{moved}.zip?sig=lms-check"
        return courses

    def cdn(wire: Wire, entry: Entry) -> Action | None:
        return (
            Action("package URL on another origin", rewrite=to_cdn) if entry.op == "list" else None
        )

    stage.sync(cdn)
    catalog = stage.catalog()
    return [
        judge.no_credentials_elsewhere(stage),
        judge.packages_current(stage, catalog, skip=[moved]),
    ]


def cut_download(stage: Stage) -> list[Verdict]:
    # 2 MiB, so that the half that arrives spans many reads of any client's buffer.
    stage.replace_package("CRS-00003", broken.padded(stage.package_bytes("CRS-00003"), 2 << 20))
    hook = _first_n(_package_of("CRS-00003"), 1, lambda: Action("body cut at half", cut=0.5))
    first = stage.sync(hook)
    catalog = stage.catalog()
    good_sha = _sha(stage, "CRS-00003")
    row = catalog.row("CRS-00003") if catalog and not catalog.problem else None
    published = row.package_sha256 if row else None
    kept: Verdict
    if catalog is None or catalog.problem:
        kept = judge.kept_previous(stage, catalog, {}, "CPKG-002")
    elif published not in (None, good_sha):
        kept = judge.failed(
            "CPKG-002",
            "a cut download was published",
            f"package_sha256 null or {good_sha} (the whole package)",
            f"package_sha256 {published}",
            [row.describe(catalog.after_sync)] if row else [],
        )
    else:
        kept = judge.passed("CPKG-002", "the cut body was not published", [])
    stage.sync()
    final = stage.catalog()
    return [
        kept,
        judge.resumed(stage, "CRS-00003"),
        judge.recovered(stage, first),
        judge.packages_current(stage, final),
    ]


def stalled_download(stage: Stage) -> list[Verdict]:
    stall = stage.options.timeout + 5
    hook = _first_n(_package_of("CRS-00004"), 1, lambda: Action("body stalled", stall=stall))
    stage.sync(hook)
    return []


def many_courses(stage: Stage) -> list[Verdict]:
    sync = stage.sync()
    catalog = stage.catalog()
    return [
        judge.followed_every_next(stage, sync, catalog),
        judge.packages_current(stage, catalog),
        judge.titles_applied(stage, catalog),
    ]


def basic_auth(stage: Stage) -> list[Verdict]:
    sync = stage.sync()
    catalog = stage.catalog()
    return [
        judge.followed_every_next(stage, sync, catalog),
        judge.packages_current(stage, catalog),
    ]


def _scenario(
    name: str,
    summary: str,
    steps: tuple[str, ...],
    judges: tuple[str, ...],
    play: Callable[[Stage], list[Verdict]],
    weight: int = 1,
    **config: Any,
) -> Scenario:
    return Scenario(name, summary, steps, judges, play, config, weight)


SCENARIOS: tuple[Scenario, ...] = (
    _scenario("first-sync", "A first sync of 12 courses on 3 pages.",
              ("sync 1: 12 courses, pages of 5",),
              ("CLIST-001", "CPKG-001", "CCAT-001"), first_sync),
    _scenario("incremental-change", "Changes between syncs and during one.",
              ("sync 1", "vendor: CRS-00003 retitled, NEW-00001 added",
               "sync 2: CRS-00001 retitled while it runs (at its second call)",
               "sync 3: must fetch CRS-00001's change"),
              ("CLIST-003", "CLIST-001", "CCAT-001", "CPKG-001", "CPKG-004"),
              incremental_change),
    _scenario("deactivation", "Two courses deactivated between syncs.",
              ("sync 1", "vendor: CRS-00002 and CRS-00004 set IsActive false", "sync 2"),
              ("CCAT-002",), deactivation),
    _scenario("replaced-package", "A course gets new package bytes.",
              ("sync 1", "vendor: new package for CRS-00005", "sync 2"),
              ("CPKG-001", "CPKG-004"), replaced_package),
    _scenario("truncated-package", "Replaced and new packages that are truncated zips.",
              ("sync 1", "vendor: CRS-00006 replaced by a truncated zip; NEW-00002 added "
               "with a truncated zip", "sync 2"),
              ("CPKG-002",), truncated_package),
    _scenario("unsafe-package", "A package with a ../ entry and one without its .cst.",
              ("sync 1", "vendor: CRS-00007 gets a ../ entry, CRS-00008 loses its .cst",
               "sync 2"),
              ("CPKG-002", "CPKG-001"), unsafe_package),
    _scenario("invalid-aicc-package", "A package whose .crs lacks Course_ID (AICC error).",
              ("sync 1", "vendor: CRS-00009's .crs loses Course_ID", "sync 2"),
              ("CPKG-003",), invalid_aicc),
    _scenario("token-expiry", "Every token expires mid-sync.",
              ("sync 1: tokens expire before the third list/package call",),
              ("CAUTH-003", "CLIST-001", "CPKG-001"), token_expiry),
    _scenario("token-revoked", "Every token is refused from the second list page on.",
              ("sync 1", "vendor: every title changes (3 pages of changes)",
               "sync 2: from the second list page on, every token is refused",
               "sync 3: normal"),
              ("CAUTH-003", "CCAT-003", "CLIST-004"), token_revoked),
    _scenario("invalid-client", "The vendor rotates the client's secret.",
              ("sync 1", "vendor: new client secret", "sync 2: invalid_client",
               "vendor: old secret back", "sync 3"),
              ("CAUTH-004", "CCAT-003", "CLIST-004"), invalid_client),
    _scenario("rate-limited", "429 with Retry-After on the list and a package.",
              ("sync 1: the first 2 list calls get 429 Retry-After: 2; CRS-00003's "
               "package gets one 429 Retry-After: 1",),
              ("CNET-003", "CLIST-001", "CPKG-001"), rate_limited),
    _scenario("unavailable-bursts", "Bursts of 503 and 502.",
              ("sync 1: page 2 gets two 503s, CRS-00004 one 503 Retry-After: 1, "
               "CRS-00008 two 502s",),
              ("CNET-003", "CLIST-001", "CPKG-001"), unavailable_bursts),
    _scenario("list-page-failure", "Every page after the first fails in one sync.",
              ("sync 1", "vendor: every title changes", "sync 2: pages 2+ answer 500",
               "sync 3: normal"),
              ("CCAT-003", "CLIST-004"), list_page_failure),
    _scenario("next-link-loop", "The last page links back to the first.",
              ("sync 1", "vendor: every title changes; last page's next -> first page",
               "sync 2"),
              ("CLIST-002", "CCAT-003"), next_link_loop),
    _scenario("next-link-other-origin", "A next link points at another origin (the trap).",
              ("sync 1", "vendor: every title changes; page 1's next link -> trap origin",
               "sync 2"),
              ("CAUTH-005", "CCAT-003"), next_link_other_origin),
    _scenario("package-other-origin", "A package URL on another origin (a CDN, the trap).",
              ("sync 1: CRS-00002's DownloadPackageUrl is on the trap origin (signed URL)",),
              ("CAUTH-005", "CPKG-001"), package_other_origin),
    _scenario("cut-download", "A package download is cut at half.",
              ("vendor: CRS-00003's package grows to 2 MiB (a filler file)",
               "sync 1: CRS-00003's first download is cut after half its bytes", "sync 2"),
              ("CPKG-002", "CPKG-005", "CNET-003", "CPKG-001"), cut_download),
    _scenario("stalled-download", "A package download stalls.",
              ("sync 1: CRS-00004's first download sends 1 KiB, then nothing",),
              ("CNET-004",), stalled_download, 10),
    _scenario("many-courses", "1,000 courses over 20 pages.",
              ("sync 1: 1,000 courses, pages of 50",),
              ("CLIST-001", "CPKG-001", "CCAT-001"), many_courses, 10,
              COURSES=1000, PAGE_SIZE=50, MAX_ASSET_BYTES=2000),
    _scenario("basic-auth", "A vendor in basic mode.",
              ("sync 1: HTTP Basic on every call, no token endpoint",),
              ("CLIST-001", "CPKG-001"), basic_auth, AUTH_MODE="basic"),
)  # fmt: skip

BY_NAME: dict[str, Scenario] = {s.name: s for s in SCENARIOS}

__all__ = ["ALWAYS", "BY_NAME", "SCENARIOS", "Scenario"]
