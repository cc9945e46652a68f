"""Catalog and runs: library functions and `cckit catalog|runs ...` on seeded rows."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cckit.cli import main
from connector import catalog
from connector import db
from connector import integrations
from connector.config import Settings
from connector.errors import CatalogError
from connector.errors import CourseNotFound
from connector.errors import IntegrationNotFound
from connector.errors import InvalidField
from connector.errors import RunNotFound

pytestmark = pytest.mark.usefixtures("cckit_home")

T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
AICC_SUMMARY = {
    "valid": True,
    "courses": [
        {
            "course_id": "FORK1",
            "title": "Forklifts",
            "level": "1",
            "aus": 3,
            "blocks": 1,
            "objectives": 0,
        }
    ],
    "warnings": 2,
    "diagnostics": [{"rule": "CRS-900", "severity": "warning", "message": "x"}],
}
SHA_OLD = "a" * 64
SHA_NEW = "b" * 64


def _course_row(integration_id: int, vendor_id: str, title: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "integration_id": integration_id,
        "vendor_id": vendor_id,
        "title": title,
        "description": f"About {title}",
        "languages": ["en-US"],
        "subjects": ["Safety"],
        "keywords": ["k1"],
        "localization": [],
        "protected_fields": [],
        # Every row carries every key: an executemany takes its columns from the first row.
        "is_active": True,
        "missing_from_vendor": False,
        "missing_since": None,
        "duration": None,
        "version": None,
        "vendor_last_modified": T0,
        "vendor_package_last_modified": T0,
        "created_at": T0,
        "updated_at": T0,
    }
    row.update(extra)
    return row


@pytest.fixture
def engine(settings: Settings) -> sa.Engine:
    """Two integrations; C1 exists in both, C2 is inactive, C3 has two package versions."""
    eng = db.connect(settings)
    ids = {}
    for name in ("acme", "tts"):
        ids[name] = integrations.add(
            eng,
            settings,
            name=name,
            provider=name.upper(),
            provider_url="https://vendor.example/courses",
            auth_url="https://vendor.example/token",
            client_id="id",
            client_secret="secret-xyz",
            sync_time="03:00",
        ).id
    with eng.begin() as conn:
        conn.execute(
            sa.insert(db.courses),
            [
                _course_row(ids["tts"], "C1", "Fire safety"),
                _course_row(ids["tts"], "C2", "Old course", is_active=False),
                _course_row(ids["tts"], "C3", "Forklifts", duration="01:30:00", version="2"),
                _course_row(ids["acme"], "C1", "Acme intro"),
                _course_row(
                    ids["acme"], "GONE", "Withdrawn", missing_from_vendor=True, missing_since=T0
                ),
            ],
        )
        c3 = conn.execute(
            sa.select(db.courses.c.id).where(db.courses.c.vendor_id == "C3")
        ).scalar_one()
        _old, new = (
            conn.execute(
                sa.insert(db.package_versions)
                .values(
                    course_id=c3,
                    sha256=sha,
                    size=size,
                    stored_path=f"/content/tts/C3/{sha}",
                    aicc_summary=AICC_SUMMARY,
                    package_last_modified=T0,
                    downloaded_at=T0 + dt.timedelta(days=n),
                )
                .returning(db.package_versions.c.id)
            ).scalar_one()
            for n, (sha, size) in enumerate([(SHA_OLD, 100), (SHA_NEW, 2048)])
        )
        conn.execute(
            sa.update(db.courses).where(db.courses.c.id == c3).values(current_package_id=new)
        )
        for n, status in enumerate(["succeeded", "partial"]):
            run = conn.execute(
                sa.insert(db.sync_runs)
                .values(
                    integration_id=ids["tts"],
                    started_at=T0 + dt.timedelta(days=n),
                    finished_at=T0 + dt.timedelta(days=n, minutes=2),
                    status=status,
                    full=n == 0,
                    counts={"new": 3 - 3 * n, "failed": n, "unchanged": 2 * n},
                    pages=1,
                    requests=4,
                    downloads=3 - 3 * n,
                )
                .returning(db.sync_runs.c.id)
            ).scalar_one()
            outcomes = [
                {"run_id": run, "vendor_id": "C1", "outcome": "new", "reason": None, "rule_ids": []}
            ]
            if status == "partial":
                outcomes = [
                    {
                        "run_id": run,
                        "vendor_id": "C3",
                        "outcome": "failed",
                        "reason": "AICC: .au file missing",
                        "rule_ids": ["AICC-003"],
                    }
                ]
            conn.execute(sa.insert(db.course_outcomes), outcomes)
    yield eng
    eng.dispose()


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --- library ------------------------------------------------------------------------


def test_list_courses_filters(engine: sa.Engine) -> None:
    active = catalog.list_courses(engine)
    assert [(c["integration"], c["id"]) for c in active] == [
        ("acme", "C1"),
        ("acme", "GONE"),
        ("tts", "C1"),
        ("tts", "C3"),
    ]
    everything = catalog.list_courses(engine, integration="tts", include_inactive=True)
    assert [c["id"] for c in everything] == ["C1", "C2", "C3"]
    with pytest.raises(IntegrationNotFound):
        catalog.list_courses(engine, integration="nope")


def test_get_course_shows_current_package_and_history(engine: sa.Engine) -> None:
    course = catalog.get_course(engine, "C3")
    assert course["integration"] == "tts"
    assert course["current_package"]["sha256"] == SHA_NEW
    assert course["current_package"]["stored_path"] == f"/content/tts/C3/{SHA_NEW}"
    assert course["current_package"]["aicc_summary"] == AICC_SUMMARY
    assert [v["sha256"] for v in course["package_versions"]] == [SHA_NEW, SHA_OLD]
    assert [v["current"] for v in course["package_versions"]] == [True, False]


def test_ambiguous_and_unknown_course_ids(engine: sa.Engine) -> None:
    with pytest.raises(CatalogError, match="several integrations \\(acme, tts\\)"):
        catalog.get_course(engine, "C1")
    assert catalog.get_course(engine, "C1", integration="acme")["title"] == "Acme intro"
    with pytest.raises(CourseNotFound, match="'C9'"):
        catalog.get_course(engine, "C9")
    with pytest.raises(CourseNotFound, match="in integration 'acme'"):
        catalog.get_course(engine, "C3", integration="acme")


def test_activate_and_deactivate(engine: sa.Engine) -> None:
    assert catalog.set_active(engine, "C2", True)["is_active"] is True
    assert "C2" in [c["id"] for c in catalog.list_courses(engine, integration="tts")]
    catalog.set_active(engine, "C1", False, integration="tts")
    assert [c["id"] for c in catalog.list_courses(engine, integration="tts")] == ["C2", "C3"]


def test_protect_and_unprotect(engine: sa.Engine) -> None:
    assert catalog.protect(engine, "C3", ["title", "KEYWORDS"]) == ["Title", "Keywords"]
    assert catalog.protect(engine, "C3", ["Description"]) == ["Title", "Description", "Keywords"]
    assert catalog.protect(engine, "C3", ["Title"], protected=False) == [
        "Description",
        "Keywords",
    ]
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(db.courses.c.protected_fields).where(db.courses.c.vendor_id == "C3")
        ).scalar_one()
    assert stored == ["Description", "Keywords"]
    with pytest.raises(InvalidField, match="Subjects"):
        catalog.protect(engine, "C3", ["Subjects"])


def test_runs_newest_first_with_outcomes(engine: sa.Engine) -> None:
    runs = catalog.list_runs(engine)
    assert [r["status"] for r in runs] == ["partial", "succeeded"]
    assert catalog.list_runs(engine, limit=1)[0]["status"] == "partial"
    assert catalog.list_runs(engine, integration="acme") == []
    run = catalog.get_run(engine, runs[0]["run_id"])
    assert run["outcomes"] == [
        {
            "id": "C3",
            "outcome": "failed",
            "reason": "AICC: .au file missing",
            "rule_ids": ["AICC-003"],
        }
    ]
    with pytest.raises(RunNotFound):
        catalog.get_run(engine, 999)
    with pytest.raises(InvalidField):
        catalog.list_runs(engine, limit=0)
    last = catalog.last_runs(engine)
    assert [r["status"] for r in last.values()] == ["partial"]


# --- CLI ----------------------------------------------------------------------------


def test_cli_catalog_list_text_and_json(engine: sa.Engine) -> None:
    text = _cli("catalog", "list", "--integration", "tts")
    assert text.exit_code == 0
    assert "Fire safety" in text.output
    assert "Old course" not in text.output
    assert "Old course" in _cli("catalog", "list", "--inactive").output
    data = json.loads(_cli("catalog", "list", "--format", "json").output)
    assert {(d["integration"], d["id"]) for d in data} == {
        ("acme", "C1"),
        ("acme", "GONE"),
        ("tts", "C1"),
        ("tts", "C3"),
    }
    assert "missing" in _cli("catalog", "list", "--integration", "acme").output


def test_cli_catalog_show(engine: sa.Engine) -> None:
    result = _cli("catalog", "show", "C3")
    assert result.exit_code == 0, result.output
    assert f"Current package:       {SHA_NEW}" in result.output
    assert f"Content path:          /content/tts/C3/{SHA_NEW}" in result.output
    assert (
        "AICC course:           'Forklifts' (Course_ID FORK1, level 1, 3 AU(s), 1 block(s), "
        "0 objective(s))" in result.output
    )
    assert "AICC warnings:         2" in result.output
    assert "AICC valid:            yes" in result.output
    assert "Package versions:      2" in result.output
    data = json.loads(_cli("catalog", "show", "C3", "--format", "json").output)
    assert data["current_package"]["size"] == 2048

    ambiguous = _cli("catalog", "show", "C1")
    assert ambiguous.exit_code == 1
    assert "--integration" in ambiguous.output
    assert _cli("catalog", "show", "C1", "--integration", "acme").exit_code == 0
    missing = _cli("catalog", "show", "NOPE")
    assert missing.exit_code == 1
    assert "no course with ID 'NOPE'" in missing.output


def test_cli_catalog_activate_deactivate_protect(engine: sa.Engine) -> None:
    assert _cli("catalog", "deactivate", "C3").exit_code == 0
    assert "Forklifts" not in _cli("catalog", "list").output
    assert _cli("catalog", "activate", "C3").exit_code == 0
    assert "Forklifts" in _cli("catalog", "list").output

    result = _cli("catalog", "protect", "C3", "--field", "Title", "--field", "localization")
    assert result.exit_code == 0
    assert "Title, Localization" in result.output
    result = _cli("catalog", "protect", "C3", "--field", "Title", "--unprotect")
    assert "Protected fields of C3: Localization." in result.output
    bad = _cli("catalog", "protect", "C3", "--field", "Thumbnail")
    assert bad.exit_code == 2
    assert "--field" in bad.output
    assert "Title, Description, Keywords, Localization" in bad.output


def test_cli_runs_list_and_show(engine: sa.Engine) -> None:
    listed = _cli("runs", "list", "--integration", "tts")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert "partial" in lines[1]
    assert "succeeded" in lines[2]
    assert "failed=1" in lines[1]
    data = json.loads(_cli("runs", "list", "--limit", "1", "--format", "json").output)
    assert len(data) == 1
    run_id = data[0]["run_id"]

    shown = _cli("runs", "show", str(run_id))
    assert shown.exit_code == 0
    assert "partial" in shown.output
    assert "AICC-003" in shown.output
    assert "AICC: .au file missing" in shown.output
    record = json.loads(_cli("runs", "show", str(run_id), "--format", "json").output)
    assert record["outcomes"][0]["outcome"] == "failed"

    assert _cli("runs", "show", "4242").exit_code == 1
    assert _cli("runs", "list", "--limit", "0").exit_code == 2
