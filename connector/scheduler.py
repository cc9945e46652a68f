"""Run every enabled integration once a day at its Sync Time, in its time zone.

``cckit scheduler run`` is a long-running process (APScheduler 3.x ``BlockingScheduler``);
``cckit sync --all`` from cron or a systemd timer is the one-shot alternative. Each
integration gets one job with a :class:`DailyTrigger`; jobs coalesce missed runs, accept a
late start within the misfire grace time and never overlap (``max_instances=1``; the
sync's own database lock also guards against a second process). The job list is reloaded
from the database periodically, so integrations added, changed, disabled or removed are
picked up without a restart.

Everything that computes times takes ``now`` as an argument so tests never sleep.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import zoneinfo
from dataclasses import dataclass
from types import FrameType
from typing import Any
from typing import Protocol

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from connector import integrations
from connector.config import Settings
from connector.errors import ConnectorError
from connector.errors import IntegrationNotFound
from connector.errors import SyncLockedError
from connector.integrations import Integration

log = logging.getLogger(__name__)

#: Seconds between two reloads of the integration list.
DEFAULT_RELOAD_SECONDS = 60
#: A run that could not start on time still starts if it is at most this late.
DEFAULT_MISFIRE_GRACE_SECONDS = 3600
_JOB_PREFIX = "sync:"
_RELOAD_JOB = "reload-integrations"


def _combine(day: dt.date, at: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """``day`` at ``at`` in ``zone`` as an aware datetime normalised through UTC.

    When the wall time does not exist (the spring-forward gap) the result is the same
    instant shifted forward by the gap (02:30 -> 03:30); when it exists twice (fall-back)
    the first occurrence is taken (``fold=0``).
    """
    naive = dt.datetime.combine(day, at).replace(tzinfo=zone, fold=0)
    return naive.astimezone(dt.UTC).astimezone(zone)


def next_daily_run(
    at: dt.time,
    timezone: str,
    now: dt.datetime,
    previous: dt.datetime | None = None,
) -> dt.datetime:
    """Return the next daily run at ``at`` local time in ``timezone``.

    Args:
        at: Time of day (local wall clock).
        timezone: IANA time zone name.
        now: The current time (aware).
        previous: The previous run, if any: the result is on a later local day, so a
            day whose wall time occurs twice (DST fall-back) still runs only once.

    Returns:
        An aware datetime in ``timezone``, at or after ``now``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = zoneinfo.ZoneInfo(timezone)
    start = now.astimezone(zone)
    day = start.date()
    if previous is not None:
        day = max(day, previous.astimezone(zone).date() + dt.timedelta(days=1))
    while True:
        candidate = _combine(day, at, zone)
        if candidate >= start:
            return candidate
        day += dt.timedelta(days=1)


class DailyTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler trigger firing once per local day at a wall-clock time.

    Unlike ``CronTrigger(hour=.., minute=..)`` it never fires twice on a DST fall-back
    day and always returns a normalised instant.
    """

    def __init__(self, at: dt.time, timezone: str) -> None:
        self.at = at.replace(second=0, microsecond=0, tzinfo=None)
        self.timezone = timezone
        zoneinfo.ZoneInfo(timezone)  # fail now, not at the first fire

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime:
        return next_daily_run(self.at, self.timezone, now, previous_fire_time)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DailyTrigger)
            and other.at == self.at
            and other.timezone == self.timezone
        )

    def __hash__(self) -> int:
        return hash((self.at, self.timezone))

    def __str__(self) -> str:
        return f"daily at {self.at.strftime('%H:%M')} {self.timezone}"

    def __repr__(self) -> str:
        return f"DailyTrigger({self.at.strftime('%H:%M')!r}, {self.timezone!r})"


@dataclass(frozen=True)
class NextRun:
    """When an integration runs next."""

    name: str
    sync_time: str
    timezone: str
    local: dt.datetime
    utc: dt.datetime

    def to_dict(self) -> dict[str, str]:
        """JSON-ready view."""
        return {
            "name": self.name,
            "sync_time": self.sync_time,
            "timezone": self.timezone,
            "next_run_local": self.local.isoformat(),
            "next_run_utc": self.utc.isoformat().replace("+00:00", "Z"),
        }


def next_runs(items: list[Integration], now: dt.datetime) -> list[NextRun]:
    """Next run of each enabled integration, soonest first.

    Args:
        items: Integrations (disabled ones are skipped).
        now: The current time (aware).
    """
    result = []
    for item in items:
        if not item.enabled:
            continue
        local = next_daily_run(item.sync_time, item.timezone, now)
        result.append(
            NextRun(item.name, item.sync_time_text, item.timezone, local, local.astimezone(dt.UTC))
        )
    return sorted(result, key=lambda r: (r.utc, r.name))


class SyncFunction(Protocol):
    """The shape of ``connector.sync.sync`` the scheduler needs."""

    def __call__(self, engine: Engine, settings: Settings, integration: Integration) -> Any: ...


def _default_sync(engine: Engine, settings: Settings, integration: Integration) -> Any:
    from connector.sync import sync  # imported late: requests and aicc load only for a run

    return sync(engine, settings, integration)


def run_integration(
    engine: Engine,
    settings: Settings,
    name: str,
    *,
    sync_fn: SyncFunction | None = None,
) -> Any:
    """The scheduled job: sync one integration and log the outcome; never raises.

    The integration is re-read from the database, so a change since the job was
    scheduled (disabled, removed, new secret) is honoured.

    Args:
        engine: Catalog database.
        settings: Resolved settings.
        name: The integration.
        sync_fn: The sync function (``connector.sync.sync`` unless injected).

    Returns:
        The sync result, or ``None`` when the run was skipped or raised.
    """
    run = sync_fn or _default_sync
    try:
        integration = integrations.get(engine, settings, name)
    except IntegrationNotFound:
        log.warning("sync %s: skipped, the integration no longer exists", name)
        return None
    except ConnectorError as exc:
        log.error("sync %s: cannot load the integration: %s", name, exc)
        return None
    if not integration.enabled:
        log.info("sync %s: skipped, the integration is disabled", name)
        return None
    log.info("sync %s: starting", name)
    try:
        result = run(engine, settings, integration)
    except SyncLockedError as exc:
        log.warning("sync %s: skipped, another run holds the lock (%s)", name, exc)
        return None
    except ConnectorError as exc:
        log.error("sync %s: failed: %s", name, exc)
        return None
    except Exception:
        # A bug in one run must not stop the scheduler from running tomorrow's.
        log.exception("sync %s: crashed", name)
        return None
    log.info("sync %s: %s", name, describe_result(result))
    return result


def describe_result(result: Any) -> str:
    """A one-line summary of a sync result for logs: status, run ID and counts."""
    status = getattr(result, "status", "?")
    run_id = getattr(result, "run_id", "?")
    counts = getattr(result, "counts", {}) or {}
    text = f"run {run_id} {status}"
    if counts:
        text += " (" + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) + ")"
    error = getattr(result, "error", None)
    if error:
        text += f": {error}"
    return text


def reload_jobs(
    scheduler: BaseScheduler,
    engine: Engine,
    settings: Settings,
    *,
    sync_fn: SyncFunction | None = None,
    misfire_grace_seconds: int = DEFAULT_MISFIRE_GRACE_SECONDS,
) -> set[str]:
    """Make the scheduler's sync jobs match the enabled integrations.

    Adds a job per new enabled integration, replaces a job whose Sync Time or time zone
    changed, and removes jobs of disabled or removed integrations.

    Returns:
        The names of the integrations now scheduled.
    """
    try:
        wanted = {i.name: i for i in integrations.list_all(engine, settings, enabled_only=True)}
    except ConnectorError as exc:
        log.error("cannot reload integrations: %s", exc)
        return {
            j.id.removeprefix(_JOB_PREFIX)
            for j in scheduler.get_jobs()
            if j.id.startswith(_JOB_PREFIX)
        }
    existing = {j.id: j for j in scheduler.get_jobs() if j.id.startswith(_JOB_PREFIX)}
    for job_id, job in existing.items():
        name = job_id.removeprefix(_JOB_PREFIX)
        item = wanted.get(name)
        if item is None:
            scheduler.remove_job(job_id)
            log.info("unscheduled %s", name)
        elif job.trigger != DailyTrigger(item.sync_time, item.timezone):
            scheduler.remove_job(job_id)
    current = {j.id for j in scheduler.get_jobs()}
    for name, item in wanted.items():
        job_id = _JOB_PREFIX + name
        if job_id in current:
            continue
        scheduler.add_job(
            run_integration,
            trigger=DailyTrigger(item.sync_time, item.timezone),
            args=(engine, settings, name),
            kwargs={"sync_fn": sync_fn},
            id=job_id,
            name=f"sync {name}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=misfire_grace_seconds,
            replace_existing=True,
        )
        log.info("scheduled %s daily at %s %s", name, item.sync_time_text, item.timezone)
    return set(wanted)


def build_scheduler(
    engine: Engine,
    settings: Settings,
    *,
    scheduler: BaseScheduler | None = None,
    sync_fn: SyncFunction | None = None,
    reload_seconds: int = DEFAULT_RELOAD_SECONDS,
    misfire_grace_seconds: int = DEFAULT_MISFIRE_GRACE_SECONDS,
) -> BaseScheduler:
    """Create (or fill) a scheduler with one job per enabled integration and a reload job.

    Args:
        engine: Catalog database.
        settings: Resolved settings.
        scheduler: The scheduler to fill (a new ``BlockingScheduler`` by default).
        sync_fn: Injected sync function (tests).
        reload_seconds: How often the integration list is re-read.
        misfire_grace_seconds: How late a run may start after its time.
    """
    sched = scheduler or BlockingScheduler(timezone=dt.UTC)
    reload_jobs(
        sched, engine, settings, sync_fn=sync_fn, misfire_grace_seconds=misfire_grace_seconds
    )
    sched.add_job(
        reload_jobs,
        trigger=IntervalTrigger(seconds=reload_seconds, timezone=dt.UTC),
        args=(sched, engine, settings),
        kwargs={"sync_fn": sync_fn, "misfire_grace_seconds": misfire_grace_seconds},
        id=_RELOAD_JOB,
        name="reload integrations",
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    return sched


def run_forever(
    engine: Engine,
    settings: Settings,
    *,
    reload_seconds: int = DEFAULT_RELOAD_SECONDS,
    misfire_grace_seconds: int = DEFAULT_MISFIRE_GRACE_SECONDS,
    sync_fn: SyncFunction | None = None,
) -> None:
    """Run the scheduler until SIGINT or SIGTERM, then stop cleanly.

    ``sync_fn`` replaces the in-process sync (``cckit scheduler run --enqueue`` passes
    one that puts the sync on the job queue).

    A running sync is allowed to finish (its lock and run record stay consistent);
    a second signal gets the default behaviour (immediate stop).
    """
    sched = build_scheduler(
        engine,
        settings,
        sync_fn=sync_fn,
        reload_seconds=reload_seconds,
        misfire_grace_seconds=misfire_grace_seconds,
    )
    previous: dict[signal.Signals, Any] = {}

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping after running syncs finish", signal.Signals(signum).name)
        for restored, handler in previous.items():
            signal.signal(restored, handler)
        # shutdown() from the handler ends BlockingScheduler.start(); wait=False because
        # waiting for a sync inside a signal handler would block the main loop.
        sched.shutdown(wait=False)

    if threading.current_thread() is threading.main_thread():
        for caught in (signal.SIGINT, signal.SIGTERM):
            previous[caught] = signal.signal(caught, _stop)
    jobs = len(sched.get_jobs()) - 1  # without the reload job

    def _started(_event: Any) -> None:
        # Logged once the scheduler runs, so a signal after this line stops it cleanly.
        log.info(
            "scheduler started: %d integration(s) scheduled, reloading every %d s",
            jobs,
            reload_seconds,
        )

    sched.add_listener(_started, EVENT_SCHEDULER_STARTED)
    try:
        sched.start()
    finally:
        for restored, handler in previous.items():
            signal.signal(restored, handler)
    log.info("scheduler stopped")


__all__ = [
    "DEFAULT_MISFIRE_GRACE_SECONDS",
    "DEFAULT_RELOAD_SECONDS",
    "DailyTrigger",
    "NextRun",
    "SyncFunction",
    "build_scheduler",
    "describe_result",
    "next_daily_run",
    "next_runs",
    "reload_jobs",
    "run_forever",
    "run_integration",
]
