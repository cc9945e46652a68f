"""One sync run of an integration: course list -> catalog -> published packages.

:func:`sync` is the whole run. The package has one module per phase:

==================  ===============================================================
``run``             the coordinator and the list loop (:func:`sync`)
``record``          open the run (full or incremental list), close it, tidy up
``classify``        each listed course against the catalog; the retry set
``batch``           metadata rows and outcomes, batched; the retry-set columns
``downloads``       download, check and extract packages on worker threads
``publish``         switch finished packages in by batches, one transaction each
``model``           options, outcomes, events, the run record
==================  ===============================================================

In order:

1. Take the integration's lock (:mod:`connector.lock`); a second concurrent run gets
   :class:`~connector.errors.SyncLockedError`. Runs left ``running`` by a killed process
   are closed as ``abandoned`` at their last heartbeat, and their orphaned temporary or
   unreferenced content folders are removed.
2. Decide the list request: a *full* list (no ``If-Modified-Since``) on request, on the
   first run, every ``full_every_days`` and while active courses still lack a package
   (after a metadata-only run); otherwise ``If-Modified-Since`` = start of the last
   *successful* run minus ``ims_margin`` (clock skew, vendor write latency).
3. Read the list page by page (:class:`connector.client.VendorClient`); each course is
   classified against the catalog:

   - *new*: not in the catalog (active ones are inserted together with their package);
   - *updated*: ``LastModifiedUTC`` newer (metadata), ``PackageLastModifiedUTC`` newer or
     no current package (package), or back after being flagged missing;
   - *deactivated*: ``IsActive`` false for a course we hold as active (content is kept);
   - *unchanged*: nothing newer: no write at all (a course an admin (de)activated
     locally keeps that state until the vendor changes it or a full list re-applies it);
   - *failed*: a bad course object, or its package could not be fetched or is invalid.

   Bad objects (JSON path + message, requirement IDs) and repeated IDs fail alone.
   Metadata writes are batched (``batch_size`` rows per statement); protected fields
   (Title, Description, Keywords, Localization, per course) are never overwritten and
   Subjects are only appended.
4. Packages are fetched by ``workers`` threads (:func:`connector.packages.fetch_package`)
   while the list is still being read. Good packages are switched in by the main
   thread in batches, each batch in one transaction (version rows + each course's
   current version and package timestamp, + the course row itself for a new course), so
   a course is never half-published; a failed package leaves the previous version live.
5. A full list also flags active courses the vendor no longer lists
   (``missing_from_vendor``; never deleted).
6. After a complete list, the retry set's due courses (failed before, not named by
   this list) are fetched again from their last good course object.
7. The run record gets counts and one outcome row per course that was not unchanged
   (both written with every batch). The watermark (``last_success_started_at``) moves
   when the whole list was read (``succeeded`` or ``partial``): failed courses are in
   the retry set, so one broken course never forces full lists forever.

Vendor failures never raise: they end in a ``failed`` (list unusable) or ``partial``
(some courses failed) run record.
"""

from __future__ import annotations

from connector.sync.batch import retry_delay
from connector.sync.model import COMPLETE_STATUSES
from connector.sync.model import COUNT_KEYS
from connector.sync.model import CourseOutcome
from connector.sync.model import SyncEvent
from connector.sync.model import SyncInterrupted
from connector.sync.model import SyncOptions
from connector.sync.model import SyncResult
from connector.sync.record import close_abandoned_runs
from connector.sync.run import sync

__all__ = [
    "COMPLETE_STATUSES",
    "COUNT_KEYS",
    "CourseOutcome",
    "SyncEvent",
    "SyncInterrupted",
    "SyncOptions",
    "SyncResult",
    "close_abandoned_runs",
    "retry_delay",
    "sync",
]
