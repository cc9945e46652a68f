"""Per-requirement results of an LMS check: the table, JSON, JUnit XML and HTML reports.

Every report counts the same thing: one entry per client requirement (22), with the
status folded from the verdicts of the scenarios that judged it.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal
from xml.sax.saxutils import escape
from xml.sax.saxutils import quoteattr

import schemas
from lms_check._judge import Verdict

Status = Literal["passed", "failed", "warning", "not checked", "skipped"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "warning", "not checked", "skipped")


@dataclass(frozen=True)
class RequirementResult:
    """The outcome of one client requirement."""

    id: str
    level: str
    title: str
    status: Status
    message: str
    details: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's entry."""
        return {
            "id": self.id,
            "level": self.level,
            "status": self.status,
            "message": self.message,
            "scenarios": list(self.scenarios),
        }


@dataclass
class ScenarioResult:
    """What one scenario did."""

    name: str
    syncs: list[dict[str, Any]]
    verdicts: list[Verdict]
    seconds: float
    error: str | None = None

    @property
    def failed(self) -> list[str]:
        """Requirements this scenario failed."""
        return sorted({v.requirement for v in self.verdicts if v.status == "failed"})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "name": self.name,
            "seconds": round(self.seconds, 2),
            "error": self.error,
            "syncs": self.syncs,
            "verdicts": [
                {
                    "requirement": v.requirement,
                    "status": v.status,
                    "message": v.message,
                    "expected": v.expected,
                    "received": v.received,
                    "evidence": v.evidence,
                }
                for v in self.verdicts
            ],
        }


def fold(verdicts: list[Verdict], level: str, strict: bool) -> tuple[Status, str, list[Verdict]]:
    """One status from a requirement's verdicts: a failure wins, then a pass, then not checked."""
    bad = [v for v in verdicts if v.status == "failed"]
    if bad:
        status: Status = "failed" if level == "MUST" or strict else "warning"
        return status, f"{bad[0].scenario}: {bad[0].message}", bad
    good = [v for v in verdicts if v.status == "passed"]
    if good:
        names = ", ".join(dict.fromkeys(v.scenario for v in good))
        return "passed", f"passed in {len(good)} check(s): {names}", good
    if verdicts:
        return "not checked", verdicts[0].message, verdicts
    return "skipped", "no scenario of this run judges it", []


@dataclass
class LmsCheckResult:
    """The result of one LMS check, requirement by requirement."""

    kit_version: str
    client: str
    catalog: bool
    strict: bool
    scenarios: list[ScenarioResult] = field(default_factory=list)
    requirements: list[RequirementResult] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        *,
        kit_version: str,
        client: str,
        catalog: bool,
        strict: bool,
        scenarios: list[ScenarioResult],
    ) -> LmsCheckResult:
        """Fold every scenario's verdicts into one result per client requirement."""
        result = cls(kit_version, client, catalog, strict, scenarios)
        for req in schemas.requirements("client"):
            verdicts = [v for s in scenarios for v in s.verdicts if v.requirement == req.id]
            status, message, shown = fold(verdicts, req.level, strict)
            result.requirements.append(
                RequirementResult(
                    req.id,
                    req.level,
                    req.title,
                    status,
                    message,
                    tuple(v.render() for v in shown if v.status == "failed"),
                    tuple(dict.fromkeys(v.scenario for v in verdicts)),
                )
            )
        return result

    @property
    def summary(self) -> dict[str, int]:
        """Counts of requirements by status."""
        counts = {status: 0 for status in STATUSES}
        for item in self.requirements:
            counts[item.status] += 1
        return {
            "passed": counts["passed"],
            "failed": counts["failed"],
            "warnings": counts["warning"],
            "not_checked": counts["not checked"],
            "skipped": counts["skipped"],
        }

    @property
    def failed(self) -> list[RequirementResult]:
        """Requirements that failed."""
        return [r for r in self.requirements if r.status == "failed"]

    @property
    def exit_code(self) -> int:
        """0 when no requirement failed, else 1."""
        return 1 if self.failed else 0

    def status_of(self, requirement: str) -> Status:
        """The status of one requirement (KeyError when unknown)."""
        for item in self.requirements:
            if item.id == requirement:
                return item.status
        raise KeyError(requirement)

    def summary_line(self) -> str:
        """The one-line count, the same in every report."""
        s = self.summary
        line = (
            f"{s['passed']} passed, {s['failed']} failed, {s['warnings']} warnings, "
            f"{s['not_checked']} not checked, {s['skipped']} skipped "
            f"({len(self.requirements)} client requirements, {len(self.scenarios)} scenarios)"
        )
        if not self.catalog:
            line += "; no --catalog-cmd: catalog state not checked"
        return line

    def to_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            "kit_version": self.kit_version,
            "client": self.client,
            "catalog_checked": self.catalog,
            "strict": self.strict,
            "summary": self.summary,
            "requirements": [r.to_dict() for r in self.requirements],
            "scenarios": [s.to_dict() for s in self.scenarios],
        }

    def to_json(self) -> str:
        """The JSON report as text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def table(self, *, width: int = 100) -> str:
        """A plain-text per-requirement table and the summary line."""
        lines = [f"{'requirement':<12} {'level':<7} {'status':<12} message"]
        room = max(width - 34, 20)
        for item in self.requirements:
            text = item.message if len(item.message) <= room else item.message[: room - 3] + "..."
            lines.append(f"{item.id:<12} {item.level:<7} {item.status:<12} {text}".rstrip())
        lines.append(self.summary_line())
        return "\n".join(lines)

    def failures(self) -> str:
        """The full text of every failure and warning."""
        blocks = [
            d for r in self.requirements if r.status in ("failed", "warning") for d in r.details
        ]
        return "\n\n".join(blocks)

    def to_junit(self) -> str:
        """JUnit XML: one test case per requirement (the same count as the table)."""
        s = self.summary
        cases = []
        for item in self.requirements:
            name = quoteattr(f"{item.id} {item.title}")
            classname = quoteattr(f"lms_check.{item.id.split('-')[0]}")
            body = ""
            if item.status == "failed":
                text = escape("\n\n".join(item.details) or item.message)
                body = f"<failure message={quoteattr(item.message)}>{text}</failure>"
            elif item.status in ("not checked", "skipped"):
                body = f"<skipped message={quoteattr(item.message)} />"
            elif item.status == "warning":
                text = escape("WARNING\n" + "\n".join(item.details))
                body = f"<system-out>{text}</system-out>"
            cases.append(f"<testcase classname={classname} name={name}>{body}</testcase>")
        skipped = s["not_checked"] + s["skipped"]
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f'<testsuites><testsuite name="cckit-lms-check" tests="{len(self.requirements)}" '
            f'failures="{s["failed"]}" errors="0" skipped="{skipped}">\n'
            + "\n".join(cases)
            + "\n</testsuite></testsuites>\n"
        )

    def to_html(self) -> str:
        """A self-contained HTML report (inline CSS, no scripts)."""
        esc = html.escape
        rows = []
        for item in self.requirements:
            detail = "".join(f"<pre>{esc(d)}</pre>" for d in item.details)
            if detail:
                detail = f"<details><summary>details</summary>{detail}</details>"
            rows.append(
                f'<tr class="{esc(item.status.replace(" ", "-"))}"><td>{esc(item.id)}</td>'
                f'<td>{esc(item.level)}</td><td class="status">{esc(item.status)}</td>'
                f"<td>{esc(item.title)}</td><td>{esc(item.message)}{detail}</td></tr>"
            )
        verdict = "PASS" if not self.failed else "FAIL"
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>cckit LMS check</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}
tr.passed td.status{{color:#176f2c}} tr.failed td.status{{color:#b00020;font-weight:bold}}
tr.warning td.status{{color:#9a6700}} tr.not-checked td.status,tr.skipped td.status{{color:#777}}
pre{{white-space:pre-wrap;background:#f6f8fa;padding:8px;font-size:90%}}
.verdict{{font-size:150%;font-weight:bold}}
</style></head><body>
<h1>cckit LMS check report</h1>
<p class="verdict">{verdict}</p>
<p>Client: <code>{esc(self.client)}</code> &middot; kit {esc(self.kit_version)}</p>
<p>{esc(self.summary_line())}</p>
<table><thead><tr><th>requirement</th><th>level</th><th>status</th><th>rule</th>
<th>message</th></tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""


__all__ = ["LmsCheckResult", "RequirementResult", "ScenarioResult", "Status"]
