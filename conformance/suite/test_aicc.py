"""AICC: the course files inside each sampled package (contract section 5).

The project's ``aicc`` validator defines what an error is; each error is reported with its
rule ID and ``file:line``.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance._catalog import Download
from conformance.checks import ZipFacts
from conformance.errors import ConformanceFailure


@pytest.fixture(scope="session")
def aicc_reports(zips: dict[str, tuple[Download, ZipFacts]]) -> list[tuple[Download, Any]]:
    """The aicc validator's report for every sampled package that is a valid zip."""
    import aicc

    reports = [(d, aicc.validate(d.body)) for d, z in zips.values() if z.error is None]
    if not reports:
        pytest.skip("blocked: no sampled package is a valid zip (see PKG-009)")
    return reports


def _where(diagnostic: Any) -> str:
    place = diagnostic.file or "(package)"
    if diagnostic.line:
        place += f":{diagnostic.line}"
    return place


@pytest.mark.requirement("AICC-001")
def test_aicc_files_validate(aicc_reports: list[tuple[Download, Any]]) -> None:
    lines = []
    failing = []
    for item, report in aicc_reports:
        if report.errors:
            failing.append(item)
        for diagnostic in report.errors:
            lines.append(
                f"course {item.course_id!r}: {diagnostic.rule} {_where(diagnostic)}: "
                f"{diagnostic.message}"
            )
    if lines:
        shown = lines[:20] + ([f"... and {len(lines) - 20} more"] if len(lines) > 20 else [])
        raise ConformanceFailure(
            "AICC-001",
            expected="AICC course files without validator errors",
            received=f"{len(lines)} error(s) in {len(failing)} of {len(aicc_reports)} "
            "sampled package(s):\n" + "\n".join(shown),
            exchange=failing[0].exchange,
        )


@pytest.mark.requirement("AICC-002")
def test_course_title_matches_list_title(aicc_reports: list[tuple[Download, Any]]) -> None:
    mismatches = []
    for item, report in aicc_reports:
        if len(report.courses) != 1:
            continue
        crs_title = str(report.courses[0].course_title).strip()
        list_title = str(item.course.get("Title", "")).strip()
        # A missing Course_Title is an AICC-001 error already; do not report it twice.
        if crs_title and crs_title != list_title:
            mismatches.append(
                f"course {item.course_id!r}: list Title {list_title!r}, CRS Course_Title "
                f"{crs_title!r}"
            )
    if mismatches:
        raise ConformanceFailure(
            "AICC-002",
            expected="the CRS Course_Title equals the list Title",
            received="\n".join(mismatches[:15]),
        )
