"""Per-requirement results of a run: aggregation, the table, JSON and HTML reports."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

from schemas import visible

Status = Literal["passed", "failed", "warning", "skipped", "expected"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "warning", "skipped", "expected")
# Which observation wins when several checks speak about one requirement.
_PRECEDENCE: dict[str, int] = {"failed": 5, "warning": 4, "expected": 3, "passed": 2, "skipped": 1}


def shown(text: str) -> str:
    """Report text with vendor control and bidi characters escaped, line by line.

    Explanations are several lines by construction (expected, received, the exchange);
    each line is passed through :func:`schemas.visible`, so a vendor string cannot move
    the cursor, recolour a terminal, break the JUnit XML or forge a report line.
    """
    return "\n".join(visible(line) for line in text.split("\n"))


def kit_version() -> str:
    """The installed kit's version (``"unknown"`` when not installed)."""
    from importlib import metadata

    try:
        return metadata.version("catalog-connector-kit")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class Observation:
    """What one check said about one requirement."""

    status: Status
    message: str
    nodeid: str
    detail: str = ""


@dataclass(frozen=True)
class RequirementResult:
    """The outcome of one requirement.

    Attributes:
        id: Requirement ID.
        level: ``MUST``, ``SHOULD`` or ``MAY``.
        title: The requirement's statement.
        status: ``passed``, ``failed``, ``warning``, ``skipped`` or ``expected``.
        message: One line explaining the status (empty when passed).
        details: Full failure texts (HTTP exchange, curl line) for people.
        checks: Node IDs of the checks that spoke about it.
    """

    id: str
    level: str
    title: str
    status: Status
    message: str
    details: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's entry."""
        return {"id": self.id, "level": self.level, "status": self.status, "message": self.message}


@dataclass(frozen=True)
class ConformanceResult:
    """The result of one conformance run, requirement by requirement.

    Attributes:
        kit_version: Version of the kit that ran.
        target: The vendor's course list URL.
        seed: The seed used (``--cc-seed`` reproduces the run).
        requirements: One entry per requirement of the catalogue, in catalogue order.
        pytest_exit_code: pytest's own exit code for the run.
    """

    kit_version: str
    target: str
    seed: int
    requirements: tuple[RequirementResult, ...]
    pytest_exit_code: int = 0

    @property
    def summary(self) -> dict[str, int]:
        """Counts of requirements by status (``warnings`` for ``warning``)."""
        counts = {status: 0 for status in STATUSES}
        for item in self.requirements:
            counts[item.status] += 1
        return {
            "passed": counts["passed"],
            "failed": counts["failed"],
            "warnings": counts["warning"],
            "skipped": counts["skipped"],
            "expected": counts["expected"],
        }

    @property
    def failed(self) -> list[RequirementResult]:
        """Requirements that failed (MUST, strict SHOULD or stale expected failures)."""
        return [r for r in self.requirements if r.status == "failed"]

    @property
    def ok(self) -> bool:
        """True when no requirement failed."""
        return not self.failed

    @property
    def exit_code(self) -> int:
        """0 when no requirement failed, else 1."""
        return 0 if self.ok else 1

    def status_of(self, requirement: str) -> Status:
        """The status of one requirement (KeyError when unknown)."""
        for item in self.requirements:
            if item.id == requirement:
                return item.status
        raise KeyError(requirement)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            "kit_version": self.kit_version,
            "target": self.target,
            "seed": self.seed,
            "summary": self.summary,
            "requirements": [r.to_dict() for r in self.requirements],
        }

    def to_json(self) -> str:
        """The JSON report as text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def table(self, *, width: int = 100) -> str:
        """A plain-text per-requirement table."""
        lines = [f"{'requirement':<12} {'level':<7} {'status':<9} message"]
        room = max(width - 31, 20)
        for item in self.requirements:
            text = visible(item.message)
            message = text if len(text) <= room else text[: room - 3] + "..."
            lines.append(f"{item.id:<12} {item.level:<7} {item.status:<9} {message}".rstrip())
        lines.append(self.summary_line())
        return "\n".join(lines)

    def summary_line(self) -> str:
        """The one-line count per requirement (the table, the CLI and JUnit agree on it)."""
        s = self.summary
        return (
            f"{s['passed']} passed, {s['failed']} failed, {s['warnings']} warnings, "
            f"{s['skipped']} skipped, {s['expected']} expected "
            f"({len(self.requirements)} requirements; seed {self.seed}; target {self.target})"
        )

    def to_junit(self) -> str:
        """JUnit XML with one test case per requirement: the same count as the table.

        A failure carries its explanation; a warning passes with it in ``<system-out>``;
        skipped and expected requirements are skipped cases.
        """
        from xml.sax.saxutils import escape
        from xml.sax.saxutils import quoteattr

        s = self.summary
        cases = []
        for item in self.requirements:
            body = ""
            if item.status == "failed":
                text = escape(shown("\n\n".join(item.details) or item.message))
                body = f"<failure message={quoteattr(visible(item.message))}>{text}</failure>"
            elif item.status in ("skipped", "expected"):
                body = f"<skipped message={quoteattr(visible(item.message or item.status))} />"
            elif item.status == "warning":
                text = escape(shown("WARNING\n" + "\n\n".join(item.details or (item.message,))))
                body = f"<system-out>{text}</system-out>"
            name = quoteattr(f"{item.id} {item.title}")
            classname = quoteattr(f"conformance.{item.id.split('-')[0]}")
            cases.append(f"<testcase classname={classname} name={name}>{body}</testcase>")
        skipped = s["skipped"] + s["expected"]
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f'<testsuites><testsuite name="cckit-conformance" tests="{len(self.requirements)}" '
            f'failures="{s["failed"]}" errors="0" skipped="{skipped}">\n'
            + "\n".join(cases)
            + "\n</testsuite></testsuites>\n"
        )

    def to_html(self) -> str:
        """A self-contained HTML report (inline CSS, no external assets)."""
        esc = html.escape
        rows = []
        for item in self.requirements:
            detail = ""
            if item.details:
                blocks = "".join(f"<pre>{esc(shown(d))}</pre>" for d in item.details)
                detail = f"<details><summary>details</summary>{blocks}</details>"
            rows.append(
                f'<tr class="{item.status}"><td>{esc(item.id)}</td><td>{esc(item.level)}</td>'
                f'<td class="status">{esc(item.status)}</td><td>{esc(item.title)}</td>'
                f"<td>{esc(visible(item.message))}{detail}</td></tr>"
            )
        s = self.summary
        verdict = "PASS" if self.ok else "FAIL"
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>cckit conformance: {esc(self.target)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}
tr.passed td.status{{color:#176f2c}} tr.failed td.status{{color:#b00020;font-weight:bold}}
tr.warning td.status{{color:#9a6700}} tr.expected td.status{{color:#555}}
tr.skipped td.status{{color:#777}}
pre{{white-space:pre-wrap;background:#f6f8fa;padding:8px;font-size:90%}}
.verdict{{font-size:150%;font-weight:bold}}
</style></head><body>
<h1>cckit conformance report</h1>
<p class="verdict">{verdict}</p>
<p>Target: <code>{esc(self.target)}</code> &middot; kit {esc(self.kit_version)} &middot;
seed {self.seed}</p>
<p>{s["passed"]} passed, {s["failed"]} failed, {s["warnings"]} warnings,
{s["skipped"]} skipped, {s["expected"]} expected</p>
<table><thead><tr><th>requirement</th><th>level</th><th>status</th><th>rule</th>
<th>message</th></tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""


@dataclass
class Aggregator:
    """Collects observations per requirement and folds them into a result.

    Args:
        strict: Whether SHOULD failures count as failures.
        expected: Requirement ID -> reason of the expected-failures file.
    """

    strict: bool = False
    expected: dict[str, str] = field(default_factory=dict)
    observations: dict[str, list[Observation]] = field(default_factory=dict)

    def add(self, requirement: str, observation: Observation) -> None:
        """Record what one check said about one requirement."""
        self.observations.setdefault(requirement, []).append(observation)

    def result(self, *, target: str, seed: int, pytest_exit_code: int = 0) -> ConformanceResult:
        """Fold the observations into a :class:`ConformanceResult`."""
        import schemas

        items: list[RequirementResult] = []
        for req in schemas.requirements():
            seen = self.observations.get(req.id, [])
            checks = tuple(dict.fromkeys(o.nodeid for o in seen))
            if not seen:
                status: Status = "skipped"
                message = (
                    "optional (MAY): never failed"
                    if req.level == "MAY"
                    else "not checked by this run"
                )
                details: tuple[str, ...] = ()
            else:
                top = max(seen, key=lambda o: _PRECEDENCE[o.status])
                status = top.status
                message = top.message
                details = tuple(
                    dict.fromkeys(o.detail for o in seen if o.detail and o.status == status)
                )
            if req.id in self.expected and status == "passed":
                status = "failed"
                message = (
                    f"listed in the expected-failures file ({self.expected[req.id]}) but "
                    "passed: remove the entry"
                )
            items.append(
                RequirementResult(
                    id=req.id,
                    level=req.level,
                    title=req.title,
                    status=status,
                    message=message,
                    details=details,
                    checks=checks,
                )
            )
        return ConformanceResult(
            kit_version=kit_version(),
            target=target,
            seed=seed,
            requirements=tuple(items),
            pytest_exit_code=pytest_exit_code,
        )
