"""The distributed mode: syncs and package work as procrastinate jobs in PostgreSQL.

==================  ===============================================================
``app``             connection info, the worker's and the deferring app, the schema
``tasks``           ``cckit.sync`` and ``cckit.package``; the worker's shared context
``fanout``          the list job's side: one package job per course, deferred with
                    the page's catalog writes
``publish``         the package job's transaction: compare-and-set publish, counts,
                    closing the run
``queue``           enqueue a sync (a no-op that says so when one is pending), list jobs
``worker``          run a worker: jobs until SIGTERM, stalled-job recovery
==================  ===============================================================

Nothing here is imported by the single-machine path; import :mod:`connector.jobs.app`
(or the others) directly. procrastinate and psycopg come with the ``distributed`` extra.
"""
