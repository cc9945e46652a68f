"""`cckit sync` against the live mock vendor: exit codes, JSON run record, progress, secrets."""

from __future__ import annotations

import json
import logging
import os
import socket
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cckit.cli import main
from connector import db
from connector.config import Settings

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("cckit_home")]


def _cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _register(vendor: Any, name: str = "mock", *extra: str) -> None:
    result = _cli(
        "integrations",
        "add",
        "--name",
        name,
        "--provider",
        "Mock",
        "--provider-url",
        vendor.course_list_url,
        "--auth-url",
        vendor.auth_url,
        "--client-id",
        vendor.client_id,
        "--client-secret-env",
        "MOCK_SECRET",
        "--sync-time",
        "03:00",
        *extra,
        env={"MOCK_SECRET": vendor.client_secret},
    )
    assert result.exit_code == 0, result.output


def _listed() -> set[str]:
    return {c["id"] for c in json.loads(_cli("catalog", "list", "--format", "json").stdout)}


def _active_ids(vendor: Any) -> set[str]:
    return {c["ID"] for c in vendor.admin.courses() if c["IsActive"]}


def test_sync_needs_a_name_or_all() -> None:
    assert _cli("sync").exit_code == 2
    assert _cli("sync", "x", "--all").exit_code == 2
    assert _cli("db", "upgrade").exit_code == 0  # an empty catalog
    missing = _cli("sync", "nope")
    assert missing.exit_code == 1
    assert "no integration named 'nope'" in missing.output


def test_first_sync_publishes_then_noop_resync(
    live_vendor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _register(live_vendor)
    active = _active_ids(live_vendor)

    first = _cli("sync", "mock", "--format", "json")
    assert first.exit_code == 0, first.output + first.stderr
    record = json.loads(first.stdout)
    assert record["status"] == "succeeded"
    assert record["full"] is True
    assert record["counts"]["new"] == len(active)
    assert record["downloads"] == len(active)
    # Not a TTY: one progress line per page on stderr, stdout stays pure JSON.
    assert "page 1:" in first.stderr

    listed = json.loads(_cli("catalog", "list", "--format", "json").stdout)
    assert {c["id"] for c in listed} == active
    assert all(c["has_package"] for c in listed)

    live_vendor.admin.clear_journal()
    second = _cli("sync", "mock", "--format", "json")
    assert second.exit_code == 0
    again = json.loads(second.stdout)
    assert again["full"] is False
    assert again["downloads"] == 0
    assert again["counts"]["new"] == 0
    journal = live_vendor.admin.journal()
    assert [e for e in journal if e["operation"] == "package"] == []
    assert any(e["operation"] == "list" and e["if_modified_since"] for e in journal)
    shown = _cli("integrations", "show", "mock").stdout
    assert "Last successful sync: never" not in shown

    text = _cli("sync", "mock")
    assert text.exit_code == 0
    assert "mock: run 3 succeeded (incremental)" in text.stdout

    runs = json.loads(_cli("runs", "list", "--format", "json").stdout)
    assert [r["status"] for r in runs] == ["succeeded"] * 3

    for output in (first.output, second.output, text.output, caplog.text, shown):
        assert live_vendor.client_secret not in output
    home = Settings.resolve().home
    stored = b"".join(p.read_bytes() for p in home.glob("catalog.sqlite3*"))
    assert live_vendor.client_secret.encode() not in stored


def test_a_failed_course_exits_1_and_is_reported(live_vendor: Any) -> None:
    _register(live_vendor)
    victim = sorted(_active_ids(live_vendor))[0]
    live_vendor.admin.set_fault(f"corrupt_zip@course:{victim}")
    result = _cli("sync", "mock")
    assert result.exit_code == 1
    assert "partial" in result.stdout
    assert f"failed {victim}" in result.stdout

    record = json.loads(_cli("runs", "show", "1", "--format", "json").stdout)
    failed = [o for o in record["outcomes"] if o["outcome"] == "failed"]
    assert [o["id"] for o in failed] == [victim]
    assert failed[0]["reason"]

    live_vendor.admin.clear_fault()
    assert _cli("sync", "mock").exit_code == 0


def test_sync_all_runs_enabled_integrations_only(live_vendor: Any) -> None:
    _register(live_vendor, "one")
    _register(live_vendor, "two")
    _register(live_vendor, "off", "--disabled")
    result = _cli("sync", "--all", "--format", "json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["integration"] for r in records] == ["one", "two"]
    assert all(r["status"] == "succeeded" for r in records)


def test_locked_integration_is_reported(live_vendor: Any) -> None:
    _register(live_vendor)
    engine = db.connect(Settings.resolve())
    now = db.utcnow()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(db.sync_locks).values(
                integration_id=1,
                owner=f"{socket.gethostname()}:{os.getpid()}:other",
                acquired_at=now,
                heartbeat_at=now,
            )
        )
    engine.dispose()
    result = _cli("sync", "mock")
    assert result.exit_code == 1
    assert "mock" in result.stderr


def test_wrong_credentials_end_in_a_failed_run(live_vendor: Any) -> None:
    _register(live_vendor)
    assert _cli("integrations", "update", "mock", "--client-secret", "wrong").exit_code == 0
    result = _cli("sync", "mock", "--format", "json")
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record["status"] == "failed"
    assert record["error"]
    assert "wrong" not in record["error"]
    assert live_vendor.client_secret not in result.output


def test_changed_secret_key_stops_sync_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cryptography.fernet import Fernet

    added = _cli(
        "integrations", "add", "--name", "tts", "--provider", "TTS",
        "--provider-url", "https://vendor.example/courses",
        "--auth-url", "https://vendor.example/token", "--client-id", "id",
        "--client-secret", "the-old-secret", "--sync-time", "03:00",
    )  # fmt: skip
    assert added.exit_code == 0
    monkeypatch.setenv("CCKIT_SECRET_KEY", Fernet.generate_key().decode())
    assert _cli("integrations", "list").exit_code == 0  # listing needs no key
    result = _cli("sync", "tts")
    assert result.exit_code == 1
    assert "the secret key changed" in result.stderr
    assert "the-old-secret" not in result.output


def test_live_progress_shows_pages_packages_bytes_and_a_total_once_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from connector.cli.sync import _LiveProgress
    from connector.sync import SyncEvent

    progress = _LiveProgress("tts\x1b[2J")
    progress(SyncEvent("page", "tts", page=1, courses=2))
    progress(SyncEvent("queued", "tts", vendor_id="A"))
    progress(SyncEvent("queued", "tts", vendor_id="B"))
    assert progress.display.tasks[0].total is None  # no total before the list is read
    progress(SyncEvent("download", "tts", vendor_id="A", size=2_000_000))
    progress(SyncEvent("course", "tts", vendor_id="A", outcome="new"))
    progress(SyncEvent("course", "tts", vendor_id="B", outcome="failed", reason="bad zip"))
    progress(SyncEvent("listed", "tts", page=1))
    task = progress.display.tasks[0]
    assert (task.completed, task.total) == (1, 2)
    progress.close()
    err = capsys.readouterr().err
    assert "tts\\x1b[2J: page 1, 2 course(s), 2.0 MB at" in err
    assert "1 failed" in err
    assert "packages 1/2" in err
    assert "\x1b[2J" not in err  # the vendor-supplied name cannot clear the screen


def test_line_progress_logs_one_line_per_page_otherwise(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from connector.cli.sync import _LineProgress
    from connector.sync import SyncEvent

    progress = _LineProgress()
    progress(SyncEvent("page", "tts", page=1, courses=5))
    progress(SyncEvent("course", "tts", vendor_id="A", outcome="new"))
    progress(SyncEvent("page", "tts", page=2, courses=1))
    progress(SyncEvent("listed", "tts", page=2))
    progress.close()
    assert capsys.readouterr().err.splitlines() == [
        "tts: page 1: 5 course(s)",
        "tts: page 2: 1 course(s)",
        "tts: list read (2 page(s))",
    ]


def test_protected_title_survives_and_local_deactivation_lasts_until_vendor_lists_it(
    live_vendor: Any,
) -> None:
    _register(live_vendor)
    assert _cli("sync", "mock").exit_code == 0
    first, second = sorted(_active_ids(live_vendor))[:2]
    local_title = json.loads(_cli("catalog", "show", first, "--format", "json").stdout)["title"]

    assert _cli("catalog", "protect", first, "--field", "Title").exit_code == 0
    live_vendor.admin.update_course(first, Title="Vendor renamed it")
    assert _cli("catalog", "deactivate", second).exit_code == 0
    assert second not in _listed()

    assert _cli("sync", "mock").exit_code == 0  # incremental: only `first` changed
    shown = json.loads(_cli("catalog", "show", first, "--format", "json").stdout)
    assert shown["title"] == local_title
    assert shown["protected_fields"] == ["Title"]
    assert second not in _listed()

    assert _cli("sync", "mock", "--full").exit_code == 0  # the vendor lists it as active
    assert second in _listed()
