"""The checks: each turns journal entries and catalog rows into a verdict on one requirement.

Every verdict names what was expected, what was received and the journal entries, trap
requests or catalog rows that prove it (``evidence``). A check that needs the client's
catalog and has none says ``not checked``, never ``passed``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from email.utils import parsedate_to_datetime
from typing import Literal

from lms_check._journal import Entry
from lms_check._stage import Catalog
from lms_check._stage import Stage
from lms_check._stage import Sync

VerdictStatus = Literal["passed", "failed", "not checked"]
#: At most this many requests of one URL in one sync (CNET-002).
MAX_ATTEMPTS = 6
#: Slack for Retry-After timing (clock reads on both sides of the loopback).
RETRY_AFTER_SLACK = 0.1
_EVIDENCE = 8


@dataclass
class Verdict:
    """What one scenario says about one requirement."""

    requirement: str
    status: VerdictStatus
    message: str
    expected: str = ""
    received: str = ""
    evidence: list[str] = field(default_factory=list)
    scenario: str = ""

    def render(self) -> str:
        """The failure anatomy: expected, received, evidence."""
        lines = [f"{self.requirement} in scenario {self.scenario}: {self.message}"]
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.received:
            lines.append(f"  received: {self.received}")
        if self.evidence:
            lines.append("  evidence: " + self.evidence[0])
            lines.extend("            " + line for line in self.evidence[1:])
        return "\n".join(lines)


def _cite(items: Iterable[object]) -> list[str]:
    lines = [item if isinstance(item, str) else item.describe() for item in items]  # type: ignore[attr-defined]
    if len(lines) > _EVIDENCE:
        return [*lines[:_EVIDENCE], f"... and {len(lines) - _EVIDENCE} more"]
    return lines


def passed(rid: str, message: str, evidence: Iterable[object] = ()) -> Verdict:
    """A passed verdict with its evidence."""
    return Verdict(rid, "passed", message, evidence=_cite(evidence))


def failed(
    rid: str, message: str, expected: str, received: str, evidence: Iterable[object]
) -> Verdict:
    """A failed verdict with the failure anatomy."""
    return Verdict(rid, "failed", message, expected, received, _cite(evidence))


def not_checked(rid: str, why: str) -> Verdict:
    """A requirement this scenario could not judge."""
    return Verdict(rid, "not checked", why)


def no_catalog(rid: str, catalog: Catalog | None) -> Verdict | None:
    """``not checked`` when there is no usable catalog, else ``None``."""
    if catalog is None:
        return not_checked(rid, "not checked: no --catalog-cmd")
    if catalog.problem:
        return failed(
            rid,
            "the client's catalog could not be read",
            "a JSON array of {id, active, title, package_sha256}",
            catalog.problem,
            [],
        )
    return None


def api_calls(entries: Sequence[Entry]) -> list[Entry]:
    """List and package requests."""
    return [e for e in entries if e.op in ("list", "package")]


def ims_instant(entry: Entry) -> float | None:
    """The ``If-Modified-Since`` of a request as a POSIX time (``None``: absent/garbage)."""
    if not entry.ims:
        return None
    try:
        return parsedate_to_datetime(entry.ims).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def list_failed(stage: Stage, sync: Sync) -> bool:
    """Whether the client met a list failure in ``sync``: a list URL whose last answer was
    an error, or a refused token request. (A next link left unread is CLIST-001's matter.)"""
    entries = stage.entries(sync.index)
    last: dict[str, Entry] = {}
    for entry in entries:
        if entry.op == "list":
            last[entry.url] = entry
    if any(not e.ok for e in last.values()):
        return True
    if any(e.op == "token" and not e.ok for e in entries):
        return True
    # A next link on another origin that the client refused (or that failed there).
    return any(
        e.ok and e.next_url and not e.next_url.startswith(stage.base_url) for e in last.values()
    )


def _local(url: str) -> str:
    """The path and query of an absolute URL (as journal entries record them)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


# ---------------------------------------------------------------------- CAUTH


def auth_scheme(stage: Stage) -> Verdict:
    """CAUTH-001: the right credentials on every call."""
    rid = "CAUTH-001"
    entries = stage.entries()
    want = "bearer" if stage.auth_mode == "oauth2" else "basic"
    wrong = [e for e in api_calls(entries) if e.auth != want]
    tokens = [e for e in entries if e.op == "token"]
    if stage.auth_mode == "basic" and tokens:
        return failed(
            rid, "token requests in basic mode", "no token request", "token requests", tokens
        )
    bad_token = [e for e in tokens if e.method != "POST" or e.auth not in ("basic", "form")]
    if bad_token:
        return failed(
            rid,
            "token request without client authentication",
            "POST with HTTP Basic or client_id/client_secret form fields",
            f"{len(bad_token)} token request(s) otherwise",
            bad_token,
        )
    if wrong:
        return failed(
            rid,
            f"{len(wrong)} call(s) without {want.title()} credentials",
            f"Authorization: {want.title()} on every list and package call",
            ", ".join(sorted({e.auth for e in wrong})),
            wrong,
        )
    calls = api_calls(entries)
    return passed(rid, f"{len(calls)} call(s) with {want.title()}", calls[:2] + tokens[:1])


def token_reuse(stage: Stage) -> Verdict:
    """CAUTH-002: one token per sync plus one per invalid_token answer."""
    rid = "CAUTH-002"
    for sync in stage.syncs:
        entries = stage.entries(sync.index)
        tokens = [e for e in entries if e.op == "token"]
        rejected = [e for e in entries if e.error == "invalid_token"]
        if len(tokens) > 1 + len(rejected):
            return failed(
                rid,
                f"sync {sync.index}: {len(tokens)} token requests",
                f"at most 1 + {len(rejected)} (one per invalid_token answer)",
                f"{len(tokens)} token requests for {len(api_calls(entries))} calls",
                tokens,
            )
    return passed(rid, "tokens reused", [e for e in stage.entries() if e.op == "token"])


def reauthenticated(stage: Stage, sync: Sync) -> Verdict:
    """CAUTH-003 (token expired mid-sync): a new token, and the rejected calls repeated."""
    rid = "CAUTH-003"
    entries = stage.entries(sync.index)
    rejected = [e for e in entries if e.error == "invalid_token"]
    if not rejected:
        return not_checked(rid, "no call was answered invalid_token")
    after = [e for e in entries if e.n > rejected[0].n]
    renewed = [e for e in after if e.op == "token" and e.ok]
    if not renewed:
        return failed(
            rid,
            "no new token after invalid_token",
            "one token request, then the call repeated",
            "no token request",
            rejected,
        )
    unrepeated = [
        r for r in rejected if not any(e.url == r.url and e.ok and e.n > r.n for e in after)
    ]
    if unrepeated:
        return failed(
            rid,
            "a call rejected with invalid_token was not repeated with the new token",
            "the call repeated and answered 2xx",
            f"{len(unrepeated)} call(s) never repeated",
            [*unrepeated, *renewed],
        )
    return passed(rid, "re-authenticated once and repeated the call", [*rejected[:2], *renewed])


def no_reauth_loop(stage: Stage, sync: Sync) -> Verdict:
    """CAUTH-003 (tokens revoked): no call rejected more than twice."""
    rid = "CAUTH-003"
    entries = stage.entries(sync.index)
    rejected = [e for e in entries if e.error == "invalid_token"]
    if not rejected:
        return not_checked(rid, "no call was answered invalid_token")
    counts = Counter(e.url for e in rejected)
    url, worst = counts.most_common(1)[0]
    if worst > 2:
        loop = [e for e in entries if e.url == url or e.op == "token"]
        return failed(
            rid,
            f"a call was rejected {worst} times: re-authentication loops",
            "at most one re-authentication per rejected call, then the sync fails",
            f"{worst} invalid_token answers to {url}",
            loop,
        )
    return passed(rid, "gave up after one re-authentication", rejected[:3])


def stops_on_invalid_client(stage: Stage, sync: Sync) -> Verdict:
    """CAUTH-004: nothing after invalid_client."""
    rid = "CAUTH-004"
    entries = stage.entries(sync.index)
    refused = [e for e in entries if e.error == "invalid_client"]
    if not refused:
        return failed(
            rid,
            "the client never asked for a token with its stale secret",
            "a token request answered invalid_client",
            "none",
            entries,
        )
    later = [e for e in entries if e.n > refused[0].n]
    if later:
        return failed(
            rid,
            f"{len(later)} request(s) after invalid_client",
            "no further token, list or package request in that sync",
            f"{len(later)} request(s)",
            [refused[0], *later],
        )
    return passed(rid, "stopped after invalid_client", refused)


def no_credentials_elsewhere(stage: Stage) -> Verdict:
    """CAUTH-005: the trap never saw credentials."""
    rid = "CAUTH-005"
    hits = stage.trap.snapshot()
    leaked = [e for e in hits if e.credentials]
    if leaked:
        return failed(
            rid,
            f"credentials sent to another origin ({stage.trap_url})",
            "no credentials to any origin but the Provider URL's",
            leaked[0].credentials or "",
            leaked,
        )
    if not hits:
        return passed(rid, "the client did not call the other origin", [])
    return passed(rid, "the other origin got no credentials", hits)


def no_credentials_in_urls(stage: Stage) -> Verdict:
    """CAUTH-006: no secret or token in any URL."""
    rid = "CAUTH-006"
    bad = [e for e in stage.entries() if e.credentials_in_url]
    if bad:
        return failed(
            rid,
            "credentials in a URL",
            "no secret or token in any path or query",
            str(bad[0].credentials_in_url),
            bad,
        )
    return passed(rid, f"{len(stage.entries())} request URL(s) free of credentials")


# ---------------------------------------------------------------------- CLIST


def followed_every_next(stage: Stage, sync: Sync, catalog: Catalog | None) -> Verdict:
    """CLIST-001: every served next link requested; every listed course in the catalog."""
    rid = "CLIST-001"
    entries = stage.entries(sync.index)
    lists = [e for e in entries if e.op == "list"]
    requested = {e.url for e in lists}
    skipped = [e for e in lists if e.ok and e.next_url and _local(e.next_url) not in requested]
    if skipped:
        return failed(
            rid,
            "a next link was not followed",
            "every next link requested in the same sync",
            f"{len(skipped)} next link(s) never requested",
            skipped,
        )
    if not lists:
        return failed(rid, "the course list was not read", "a course list walk", "none", [sync])
    if catalog is None or catalog.problem:
        return passed(rid, f"{len(lists)} list page(s) read; catalog not checked", lists)
    listed = {c for c in stage.vendor_courses().values() if c.active}
    missing = sorted(c.id for c in listed if catalog.row(c.id) is None)
    if missing:
        return failed(
            rid,
            f"{len(missing)} listed course(s) missing from the catalog",
            "every active vendor course in the client's catalog",
            ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""),
            lists,
        )
    return passed(rid, f"{len(lists)} page(s) read, {len(listed)} course(s) held", lists)


def refused_loop(stage: Stage, sync: Sync) -> Verdict:
    """CLIST-002: no list URL requested again after a 2xx answer in the same walk."""
    rid = "CLIST-002"
    seen: dict[str, Entry] = {}
    for entry in stage.entries(sync.index):
        if entry.op != "list":
            continue
        if entry.url in seen:
            return failed(
                rid,
                "the client followed a next link back to a page it had read",
                "the loop refused: no list URL requested twice",
                f"{entry.url} requested again",
                [seen[entry.url], entry],
            )
        if entry.ok:
            seen[entry.url] = entry
    return passed(rid, "the looping next link was not followed", list(seen.values()))


def watermark(stage: Stage, sync: Sync, last_good: Sync, rid: str) -> Verdict:
    """CLIST-003/004: every If-Modified-Since of ``sync`` at most ``last_good``'s start."""
    start = stage.session_start(last_good)
    lists = [e for e in stage.entries(sync.index) if e.op == "list"]
    late = [e for e in lists if (ims_instant(e) or 0.0) > start]
    if late:
        from datetime import UTC
        from datetime import datetime

        when = datetime.fromtimestamp(start, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        first = stage.entries(last_good.index)[:1]
        return failed(
            rid,
            f"sync {sync.index} asked for changes since after sync {last_good.index} started",
            f"If-Modified-Since at most {when} (start of sync {last_good.index}, "
            "the last successful one)",
            f"If-Modified-Since: {late[0].ims}",
            [*first, *late],
        )
    if not lists:
        return not_checked(rid, f"sync {sync.index} read no course list")
    return passed(rid, f"sync {sync.index} asked no later than sync {last_good.index}", lists[:2])


# ---------------------------------------------------------------------- CNET


def honoured_retry_after(stage: Stage) -> Verdict:
    """CNET-001: no repeat of a 429/503 call sooner than its Retry-After."""
    rid = "CNET-001"
    entries = stage.entries()
    told = [e for e in entries if e.status in (429, 503) and (e.retry_after or "").isdigit()]
    if not told:
        return not_checked(rid, "no answer carried Retry-After")
    for answer in told:
        wait = int(answer.retry_after or 0)
        repeat = next(
            (
                e
                for e in entries
                if e.n > answer.n and e.url == answer.url and e.sync == answer.sync
            ),
            None,
        )
        if repeat is not None and repeat.started - answer.ended < wait - RETRY_AFTER_SLACK:
            return failed(
                rid,
                f"repeated after {repeat.started - answer.ended:.2f} s",
                f"at least {wait} s (Retry-After: {wait})",
                f"{repeat.started - answer.ended:.2f} s",
                [answer, repeat],
            )
    return passed(rid, f"{len(told)} Retry-After answer(s) honoured", told)


def bounded_retries(stage: Stage) -> Verdict:
    """CNET-002: a failed call is retried at most MAX_ATTEMPTS - 1 times in one sync."""
    rid = "CNET-002"
    for sync in stage.syncs:
        entries = stage.entries(sync.index)
        failed_before: dict[tuple[str, str], bool] = {}
        retries: Counter[tuple[str, str]] = Counter()
        for entry in entries:
            key = (entry.method, entry.url)
            if failed_before.get(key):
                retries[key] += 1
            failed_before[key] = not entry.ok or entry.cut
        if retries:
            (method, url), worst = retries.most_common(1)[0]
            if worst > MAX_ATTEMPTS - 1:
                hits = [e for e in entries if e.url == url and e.method == method]
                return failed(
                    rid,
                    f"{method} {url} retried {worst} times in sync {sync.index}",
                    f"at most {MAX_ATTEMPTS - 1} retries of one call in one sync",
                    f"{worst} retries",
                    hits,
                )
    return passed(rid, f"at most {MAX_ATTEMPTS - 1} retries per call", [])


def recovered(stage: Stage, sync: Sync) -> Verdict:
    """CNET-003: every call that met a transient failure later succeeded in the same sync."""
    rid = "CNET-003"
    entries = stage.entries(sync.index)
    transient = [e for e in entries if e.status in (429, 500, 502, 503, 504) or e.cut]
    if not transient:
        return not_checked(rid, "no transient failure in this sync")
    for bad in transient:
        if not any(e.n > bad.n and e.path == bad.path and e.ok and not e.cut for e in entries):
            return failed(
                rid,
                f"{bad.url} was not retried to success",
                "the call retried and answered 2xx in the same sync",
                "no later success",
                [bad, *[e for e in entries if e.n > bad.n and e.path == bad.path]],
            )
    return passed(rid, f"{len(transient)} transient failure(s) retried", transient)


def finished(stage: Stage) -> Verdict:
    """CNET-004: every sync ended on its own within --timeout."""
    rid = "CNET-004"
    hung = [s for s in stage.syncs if s.timed_out]
    if hung:
        return failed(
            rid,
            f"sync {hung[0].index} did not end within {stage.options.timeout:g} s",
            "the sync ends on its own (time-outs on every request)",
            "killed by --timeout",
            hung,
        )
    return passed(rid, f"{len(stage.syncs)} sync(s) ended on their own", stage.syncs)


__all__ = ["Verdict"]
