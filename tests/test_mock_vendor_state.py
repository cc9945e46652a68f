"""The mock clock, state building, prebuilding and running an existing app live."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

import mock_vendor
from mock_vendor.app import prebuild
from mock_vendor.clock import MockClock
from mock_vendor.clock import format_instant
from mock_vendor.clock import parse_instant
from mock_vendor.testing import serve


def test_frozen_clock_moves_only_when_advanced() -> None:
    clock = MockClock(parse_instant("2026-11-26T10:00:00Z"), frozen=True)
    assert format_instant(clock.now()) == "2026-11-26T10:00:00Z"
    assert format_instant(clock.advance(1.25)) == "2026-11-26T10:00:01.250Z"
    with pytest.raises(mock_vendor.ConfigError, match="non-negative"):
        clock.advance(-1)
    assert "2026-11-26T10:00:01.250Z" in repr(clock)


def test_running_clock_follows_real_time_plus_offset() -> None:
    clock = MockClock(datetime(2030, 1, 1, tzinfo=UTC))
    first = clock.now()
    clock.advance(3600)
    assert (clock.now() - first).total_seconds() >= 3600
    assert clock.now().year == 2030


@pytest.mark.parametrize("text", ["2026-11-26T10:00:00", "soon", ""])
def test_parse_instant_needs_a_zoned_rfc3339_value(text: str) -> None:
    with pytest.raises(mock_vendor.ConfigError):
        parse_instant(text, field="X")


def test_parse_instant_converts_offsets_to_utc() -> None:
    assert format_instant(parse_instant("2026-11-26T12:00:00+02:00")) == "2026-11-26T10:00:00Z"


def test_stamps_always_move_forward(tmp_path: Path) -> None:
    app = mock_vendor.create_app({"COURSES": 0, "CACHE_DIR": str(tmp_path), "CLOCK_FROZEN": True})
    state = mock_vendor.get_state(app)
    first = state.stamp()
    assert state.stamp(first) > first
    assert state.stamp() == first  # the frozen clock itself did not move


def test_prebuild_builds_every_package(tmp_path: Path) -> None:
    app = mock_vendor.create_app(
        {"COURSES": 4, "CACHE_DIR": str(tmp_path), "MAX_ASSET_BYTES": 3_000}
    )
    state = mock_vendor.get_state(app)
    assert list(tmp_path.glob("generated/*.zip")) == []  # lazy by default
    prebuild(state)
    assert len(list(tmp_path.glob("generated/*.zip"))) == 4
    assert state.problems == []


def test_prebuild_config_starts_a_background_build(tmp_path: Path) -> None:
    mock_vendor.create_app(
        {"COURSES": 3, "CACHE_DIR": str(tmp_path), "MAX_ASSET_BYTES": 3_000, "PREBUILD": True}
    )
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("generated/*.zip"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(list(tmp_path.glob("generated/*.zip"))) == 3


def test_missing_package_file_is_a_500_json_and_a_recorded_problem(tmp_path: Path) -> None:
    folder = tmp_path / "zips"
    folder.mkdir()
    import random

    import aicc
    from mock_vendor._generate import build_course_model

    course = build_course_model("GONE", "Gone", "", "1", 1, random.Random(0))
    (folder / "gone.zip").write_bytes(aicc.write_zip(course))
    app = mock_vendor.create_app(
        {"CATALOG": str(folder), "CLIENT_SECRET": "s", "CACHE_DIR": str(tmp_path / "c")}
    )
    (folder / "gone.zip").unlink()
    client = app.test_client()
    token = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("cckit-demo", "s")
    ).json["access_token"]  # type: ignore[index]
    response = client.get(
        "/api/v1/courses/GONE/package.zip", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 500
    assert response.json["error"] == "internal_error"  # type: ignore[index]
    assert mock_vendor.get_state(app).problems


@pytest.mark.live
def test_serve_accepts_an_existing_app(tmp_path: Path) -> None:
    app = mock_vendor.create_app(
        {
            "COURSES": 2,
            "CACHE_DIR": str(tmp_path),
            "AUTH_MODE": "basic",
            "CLIENT_SECRET": "s3cr3t-b",
        }
    )
    with serve(app) as vendor:
        assert vendor.app is app
        assert vendor.auth_mode == "basic"
        response = requests.get(vendor.course_list_url, auth=("cckit-demo", "s3cr3t-b"), timeout=10)
        assert response.status_code == 200
        assert "s3cr3t-b" not in repr(vendor)
    with pytest.raises(requests.ConnectionError):
        requests.get(vendor.course_list_url, timeout=2)


def _returns_while_held(lock: Any, call: Callable[[], object]) -> bool:
    """Whether ``call`` completes in another thread while ``lock`` is held here."""
    done = threading.Event()

    def run() -> None:
        call()
        done.set()

    with lock:
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        finished = done.wait(timeout=10)
    thread.join()
    return finished


def test_reading_the_clock_and_journalling_never_wait_for_a_lock(tmp_path: Path) -> None:
    """Every request reads the clock twice and journals once: with a lock on those paths,
    16 request threads convoyed under the GIL and stalled for seconds at a time."""
    clock = MockClock(datetime(2026, 1, 1, tzinfo=UTC), frozen=True)
    assert _returns_while_held(clock._lock, clock.now)
    assert clock.advance(5) == datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)
    running = MockClock(datetime(2026, 1, 1, tzinfo=UTC))
    running.advance(3600)
    assert running.now() >= datetime(2026, 1, 1, 1, tzinfo=UTC)
    app = mock_vendor.create_app({"COURSES": 1, "CACHE_DIR": str(tmp_path)})
    state = mock_vendor.get_state(app)
    assert _returns_while_held(state.journal_lock, lambda: state.record({"path": "/x"}))
    assert state.journal_entries()[-1] == {"path": "/x"}
