"""The scheduler: next-run computation across time zones and DST, jobs, reloads, CLI."""

from __future__ import annotations

import datetime as dt
import json
import logging
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cckit.cli import main
from connector import integrations
from connector import scheduler
from connector.config import Settings
from connector.errors import SyncLockedError
from connector.errors import VendorError
from connector.integrations import Integration

pytestmark = pytest.mark.usefixtures("cckit_home")

UTC = dt.UTC
PARIS = "Europe/Paris"


def _add(engine: sa.Engine, settings: Settings, name: str, at: str, tz: str) -> Integration:
    return integrations.add(
        engine,
        settings,
        name=name,
        provider="P",
        provider_url="https://vendor.example/courses",
        auth_url="https://vendor.example/token",
        client_id="id",
        client_secret="s3cret-value",
        sync_time=at,
        timezone=tz,
    )


# --- next-run computation -------------------------------------------------------------


def test_next_run_later_today_and_tomorrow() -> None:
    now = dt.datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # 12:00 in Paris (CEST)
    today = scheduler.next_daily_run(dt.time(14, 0), PARIS, now)
    assert today == dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert today.utcoffset() == dt.timedelta(hours=2)
    tomorrow = scheduler.next_daily_run(dt.time(11, 0), PARIS, now)
    assert tomorrow == dt.datetime(2026, 6, 2, 9, 0, tzinfo=UTC)


def test_next_run_at_exactly_the_time_is_now() -> None:
    now = dt.datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
    assert scheduler.next_daily_run(dt.time(3, 0), "UTC", now) == now


def test_time_zones_east_and_west_of_utc() -> None:
    now = dt.datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    tokyo = scheduler.next_daily_run(dt.time(2, 0), "Asia/Tokyo", now)
    assert tokyo.astimezone(UTC) == dt.datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
    la = scheduler.next_daily_run(dt.time(2, 0), "America/Los_Angeles", now)
    assert la.astimezone(UTC) == dt.datetime(2026, 1, 16, 10, 0, tzinfo=UTC)


def test_dst_spring_forward_gap_runs_once_shifted_forward() -> None:
    # 2026-03-29 in Paris: 02:00 -> 03:00; 02:30 does not exist that day.
    now = dt.datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    first = scheduler.next_daily_run(dt.time(2, 30), PARIS, now)
    assert first.astimezone(UTC) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (first.hour, first.minute) == (3, 30)  # normalised wall time
    following = scheduler.next_daily_run(dt.time(2, 30), PARIS, first, previous=first)
    assert following.astimezone(UTC) == dt.datetime(2026, 3, 30, 0, 30, tzinfo=UTC)


def test_dst_fall_back_runs_once_not_twice() -> None:
    # 2026-10-25 in Paris: 03:00 -> 02:00; 02:30 happens twice that night.
    now = dt.datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    first = scheduler.next_daily_run(dt.time(2, 30), PARIS, now)
    assert first.astimezone(UTC) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    after = first + dt.timedelta(seconds=1)
    following = scheduler.next_daily_run(dt.time(2, 30), PARIS, after, previous=first)
    assert following.astimezone(UTC) == dt.datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


@hsettings(max_examples=60)
@given(
    now=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2037, 12, 31),
        timezones=st.just(UTC),
    ),
    at=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    tz=st.sampled_from(["UTC", PARIS, "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
)
def test_next_run_is_soon_after_now_and_at_most_once_per_day(
    now: dt.datetime, at: dt.time, tz: str
) -> None:
    first = scheduler.next_daily_run(at, tz, now)
    assert now <= first < now + dt.timedelta(days=1, hours=1)
    second = scheduler.next_daily_run(at, tz, first + dt.timedelta(seconds=1), previous=first)
    zone = zoneinfo.ZoneInfo(tz)
    assert second.astimezone(zone).date() == first.astimezone(zone).date() + dt.timedelta(days=1)
    assert dt.timedelta(hours=22) <= second - first <= dt.timedelta(hours=26)


def test_trigger_wraps_next_daily_run() -> None:
    trigger = scheduler.DailyTrigger(dt.time(5, 45), "Asia/Kolkata")
    now = dt.datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, now) == dt.datetime(2026, 5, 1, 0, 15, tzinfo=UTC)
    assert trigger == scheduler.DailyTrigger(dt.time(5, 45), "Asia/Kolkata")
    assert trigger != scheduler.DailyTrigger(dt.time(5, 46), "Asia/Kolkata")
    assert "05:45 Asia/Kolkata" in str(trigger)


def test_next_runs_skips_disabled_and_sorts(engine: sa.Engine, settings: Settings) -> None:
    _add(engine, settings, "paris", "04:00", PARIS)
    _add(engine, settings, "tokyo", "04:00", "Asia/Tokyo")
    _add(engine, settings, "off", "01:00", "UTC")
    integrations.disable(engine, settings, "off")
    now = dt.datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    upcoming = scheduler.next_runs(integrations.list_all(engine, settings), now)
    assert [n.name for n in upcoming] == ["paris", "tokyo"]
    assert upcoming[0].utc == dt.datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    assert upcoming[1].utc == dt.datetime(2026, 7, 1, 19, 0, tzinfo=UTC)
    assert upcoming[1].to_dict()["next_run_local"] == "2026-07-02T04:00:00+09:00"


# --- the job function -------------------------------------------------------------------


class _Result:
    def __init__(self, status: str) -> None:
        self.status = status
        self.run_id = 7
        self.counts = {"new": 2, "failed": 0}
        self.error = None


def test_job_syncs_and_logs_the_result(
    engine: sa.Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    _add(engine, settings, "tts", "03:00", "UTC")
    calls: list[Any] = []

    def fake_sync(eng: sa.Engine, sett: Settings, item: Integration) -> _Result:
        calls.append(item)
        return _Result("succeeded")

    caplog.set_level(logging.INFO, logger="connector.scheduler")
    result = scheduler.run_integration(engine, settings, "tts", sync_fn=fake_sync)
    assert isinstance(result, _Result)
    assert [c.name for c in calls] == ["tts"]
    assert "sync tts: run 7 succeeded (failed=0, new=2)" in caplog.text
    assert "s3cret-value" not in caplog.text


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SyncLockedError("integration 1 is locked"), "another run holds the lock"),
        (VendorError("https://vendor.example/courses", 503, "unavailable"), "failed"),
        (RuntimeError("bug"), "crashed"),
    ],
)
def test_job_never_raises(
    engine: sa.Engine,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    expected: str,
) -> None:
    _add(engine, settings, "tts", "03:00", "UTC")

    def failing(eng: sa.Engine, sett: Settings, item: Integration) -> Any:
        raise error

    caplog.set_level(logging.INFO, logger="connector.scheduler")
    assert scheduler.run_integration(engine, settings, "tts", sync_fn=failing) is None
    assert expected in caplog.text


def test_job_skips_removed_and_disabled(
    engine: sa.Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="connector.scheduler")

    def never(eng: sa.Engine, sett: Settings, item: Integration) -> Any:
        raise AssertionError("must not sync")

    assert scheduler.run_integration(engine, settings, "gone", sync_fn=never) is None
    assert "no longer exists" in caplog.text
    _add(engine, settings, "off", "03:00", "UTC")
    integrations.disable(engine, settings, "off")
    assert scheduler.run_integration(engine, settings, "off", sync_fn=never) is None
    assert "disabled" in caplog.text


# --- jobs and reloads -----------------------------------------------------------------


def _jobs(sched: BackgroundScheduler) -> dict[str, Any]:
    return {j.id: j for j in sched.get_jobs()}


def test_scheduler_has_one_job_per_enabled_integration(
    engine: sa.Engine, settings: Settings
) -> None:
    _add(engine, settings, "paris", "02:30", PARIS)
    _add(engine, settings, "off", "01:00", "UTC")
    integrations.disable(engine, settings, "off")
    sched = scheduler.build_scheduler(
        engine, settings, scheduler=BackgroundScheduler(timezone=UTC), misfire_grace_seconds=900
    )
    jobs = _jobs(sched)
    assert set(jobs) == {"sync:paris", "reload-integrations"}
    job = jobs["sync:paris"]
    assert job.trigger == scheduler.DailyTrigger(dt.time(2, 30), PARIS)
    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.misfire_grace_time == 900


def test_reload_picks_up_added_changed_disabled_and_removed(
    engine: sa.Engine, settings: Settings
) -> None:
    sched = BackgroundScheduler(timezone=UTC)
    _add(engine, settings, "a", "01:00", "UTC")
    _add(engine, settings, "b", "02:00", "UTC")
    assert scheduler.reload_jobs(sched, engine, settings) == {"a", "b"}

    _add(engine, settings, "c", "03:00", PARIS)
    integrations.update(engine, settings, "a", sync_time="05:15")
    integrations.disable(engine, settings, "b")
    assert scheduler.reload_jobs(sched, engine, settings) == {"a", "c"}
    jobs = _jobs(sched)
    assert set(jobs) == {"sync:a", "sync:c"}
    assert jobs["sync:a"].trigger == scheduler.DailyTrigger(dt.time(5, 15), "UTC")

    integrations.remove(engine, settings, "c")
    assert scheduler.reload_jobs(sched, engine, settings) == {"a"}
    assert set(_jobs(sched)) == {"sync:a"}


# --- CLI ------------------------------------------------------------------------------


def test_cli_scheduler_next(engine: sa.Engine, settings: Settings) -> None:
    _add(engine, settings, "paris", "02:30", PARIS)
    runner = CliRunner()
    text = runner.invoke(main, ["scheduler", "next"])
    assert text.exit_code == 0, text.output
    assert "paris" in text.output
    assert "02:30 Europe/Paris" in text.output
    assert "UTC" in text.output
    data = json.loads(runner.invoke(main, ["scheduler", "next", "--format", "json"]).output)
    assert data[0]["name"] == "paris"
    local = dt.datetime.fromisoformat(data[0]["next_run_local"])
    utc = dt.datetime.fromisoformat(data[0]["next_run_utc"].replace("Z", "+00:00"))
    assert local == utc
    assert (local.hour, local.minute) in {(2, 30), (3, 30)}


def test_cli_scheduler_next_without_integrations() -> None:
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0  # an empty catalog
    result = CliRunner().invoke(main, ["scheduler", "next"])
    assert result.exit_code == 0
    assert "No enabled integrations." in result.output


def test_scheduler_run_stops_cleanly_on_sigterm(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    _add(engine, settings, "paris", "02:30", PARIS)
    env = {**os.environ, "CCKIT_HOME": str(settings.home), "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "cckit", "scheduler", "run"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stderr is not None
            seen = []
            for line in proc.stderr:
                seen.append(line)
                if "scheduler started" in line:
                    break
            assert any("scheduled paris daily at 02:30 Europe/Paris" in s for s in seen), seen
            proc.send_signal(signal.SIGTERM)
            rest = proc.stderr.read()
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    assert "received SIGTERM" in rest
    assert "scheduler stopped" in rest
    assert "Traceback" not in rest
    # Our lines only: no APScheduler ("Added job", "Scheduler started") or Alembic chatter.
    assert [line for line in [*seen, rest] if "apscheduler" in line or "alembic" in line] == []


@pytest.mark.live
def test_job_runs_a_real_sync_against_the_mock(
    live_vendor: Any, settings: Settings, engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    integrations.add(
        engine,
        settings,
        name="mock",
        provider="Mock",
        provider_url=live_vendor.course_list_url,
        auth_url=live_vendor.auth_url,
        client_id=live_vendor.client_id,
        client_secret=live_vendor.client_secret,
        sync_time="03:00",
    )
    caplog.set_level(logging.INFO)
    result = scheduler.run_integration(engine, settings, "mock")
    assert result is not None
    assert result.status == "succeeded"
    assert result.counts["new"] == len([c for c in live_vendor.admin.courses() if c["IsActive"]])
    assert f"sync mock: run {result.run_id} succeeded" in caplog.text
    assert live_vendor.client_secret not in caplog.text
