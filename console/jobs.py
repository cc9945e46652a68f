"""The "Sync now" button: runs of :func:`connector.sync.sync` in background threads.

One job per integration at a time. A job counts what the sync reports through its
progress callback, so a page can poll :meth:`SyncJobs.status` and show progress; the run
record itself is written by the sync as always. A sync held by another process (the
scheduler, a CLI run) ends the job as ``locked`` with the sync's own message.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from sqlalchemy.engine import Engine

from connector import integrations
from connector.config import Settings
from connector.errors import ConnectorError
from connector.errors import SyncLockedError
from connector.sync import SyncEvent
from connector.sync import sync

log = logging.getLogger(__name__)


@dataclass
class SyncJob:
    """What one background sync has done so far."""

    integration: str
    state: str = "running"  # running | finished | locked | error
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None
    pages: int = 0
    listed: int = 0
    courses: int = 0
    queued: int = 0
    downloads: int = 0
    failed: int = 0
    last: str = ""
    run_id: int | None = None
    status: str | None = None
    message: str | None = None

    def on_event(self, event: SyncEvent) -> None:
        """Progress callback given to :func:`connector.sync.sync`."""
        if event.kind == "page":
            self.pages += 1
            self.listed += event.courses or 0
        elif event.kind == "queued":
            self.queued += 1
        elif event.kind == "download":
            self.downloads += 1 if event.ok else 0
        elif event.kind == "course":
            self.courses += 1
            self.failed += 1 if event.outcome == "failed" else 0
        self.last = event.message()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready status for the progress endpoint."""
        return {
            "integration": self.integration,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "pages": self.pages,
            "listed": self.listed,
            "courses": self.courses,
            "queued": self.queued,
            "downloads": self.downloads,
            "failed": self.failed,
            "last": self.last,
            "run_id": self.run_id,
            "status": self.status,
            "message": self.message,
        }


class SyncJobs:
    """The console's background syncs (on ``app.extensions``)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._jobs: dict[str, SyncJob] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, name: str) -> SyncJob:
        """Start a sync of integration ``name`` unless one is running in this console.

        Raises:
            IntegrationNotFound: No such integration.
        """
        item = integrations.get(self.engine, self.settings, name)
        with self._lock:
            current = self._jobs.get(name)
            if current is not None and current.state == "running":
                return current
            job = SyncJob(integration=name)
            self._jobs[name] = job
            thread = threading.Thread(
                target=self._run, args=(job, item), name=f"console-sync-{name}", daemon=True
            )
            self._threads[name] = thread
        thread.start()
        return job

    def _run(self, job: SyncJob, item: integrations.Integration) -> None:
        try:
            result = sync(self.engine, self.settings, item, progress=job.on_event)
        except SyncLockedError as exc:
            job.state, job.message = "locked", str(exc)
        except ConnectorError as exc:
            job.state, job.message = "error", str(exc)
        except Exception as exc:  # a bug must not kill the console silently
            log.exception("background sync of %s crashed", job.integration)
            job.state, job.message = "error", f"the sync crashed: {type(exc).__name__}"
        else:
            job.state, job.run_id, job.status = "finished", result.run_id, result.status
            job.message = result.error
        finally:
            job.finished_at = dt.datetime.now(dt.UTC)

    def status(self, name: str) -> SyncJob | None:
        """The latest job of integration ``name`` in this console, if any."""
        with self._lock:
            return self._jobs.get(name)

    def wait_all(self, timeout: float | None = None) -> None:
        """Wait for every job started by this console (for tests and shutdown)."""
        with self._lock:
            names = list(self._threads)
        for name in names:
            self.wait(name, timeout)

    def wait(self, name: str, timeout: float | None = None) -> None:
        """Wait for the job of ``name`` to end (for tests and shutdown)."""
        with self._lock:
            thread = self._threads.get(name)
        if thread is not None:
            thread.join(timeout)


__all__ = ["SyncJob", "SyncJobs"]
