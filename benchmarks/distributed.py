"""Benchmark of the distributed mode (issue 12): many integrations, 1, 2 and 4 workers.

Prints, in one run, against one mock vendor process (every integration lists the same
generated catalog, each into its own content folder, so the work is the same for all):

1. the single-process baseline: every integration synced one after the other in this
   process (download threads, ``cckit sync --all``), into a fresh PostgreSQL catalog;
2. for 1, 2 and 4 ``cckit worker`` processes (``--concurrency`` each): the same syncs
   enqueued at once (``cckit sync --all --enqueue``) into a fresh catalog, timed from the
   enqueue until every run is closed;

each with its wall time, packages per second, the speed-up over the baseline and the
CPU seconds of every process (this one, each worker, the mock vendor). On a machine with
fewer cores than processes the speed-up is bounded by the cores: the CPU seconds say how
much work each worker did, which is what the projection to N machines in
docs/connector.md ("Running on several machines") uses.

Usage::

    CCKIT_TEST_POSTGRES_URL=postgresql+psycopg://user@127.0.0.1/db \\
        python benchmarks/distributed.py                     # 20 x 2,000 (the issue)
    python benchmarks/distributed.py --courses 200 --workers 1 2 --db URL   # smaller

The database named by the URL is only used to create (and drop) one scratch database
per measurement. ``--package-kb`` scales the packages (the generated ones are a few KB).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from sync_scale import cpu_seconds
from sync_scale import vendor

from connector import db
from connector import integrations
from connector.config import Settings


def scratch_db(base: str) -> str:
    """A new empty database next to ``base``; returns its URL."""
    url = make_url(base)
    name = f"cckit_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_db(base: str, url: str) -> None:
    admin = sa.create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def setup(url: str, home: Path, info: dict[str, Any], count: int) -> tuple[sa.Engine, Settings]:
    """A catalog with ``count`` integrations of the vendor (and the job tables)."""
    from connector.jobs.app import ensure_schema

    settings = Settings.resolve(home=home, db_url=url)
    engine = db.connect(settings)
    ensure_schema(engine)
    for n in range(count):
        integrations.add(
            engine,
            settings,
            name=f"org{n:02d}",
            provider="Bench",
            provider_url=info["course_list_url"],
            auth_url=info["auth_url"],
            client_id=info["client_id"],
            client_secret=info["client_secret"],
            sync_time="02:00",
        )
    return engine, settings


def totals(engine: sa.Engine) -> tuple[int, list[str]]:
    with engine.connect() as conn:
        versions = conn.execute(
            sa.select(sa.func.count()).select_from(db.package_versions)
        ).scalar_one()
        statuses = conn.execute(sa.select(db.sync_runs.c.status)).scalars().all()
    return int(versions), list(statuses)


def baseline(args: argparse.Namespace, info: dict[str, Any], work: Path) -> dict[str, Any]:
    """Every integration synced in turn by this process (download threads)."""
    from connector.sync import SyncOptions
    from connector.sync import sync

    url = scratch_db(args.db)
    try:
        engine, settings = setup(url, work / "single", info, args.integrations)
        options = SyncOptions(workers=args.concurrency, backoff_factor=0.0, timeout=120.0)
        own, vendor_cpu = cpu_seconds(), cpu_seconds(info["pid"])
        started = time.perf_counter()
        for item in integrations.list_all(engine, settings):
            sync(engine, settings, item, options=options)
        elapsed = time.perf_counter() - started
        versions, statuses = totals(engine)
        engine.dispose()
    finally:
        drop_db(args.db, url)
    return {
        "wall_s": elapsed,
        "packages": versions,
        "statuses": statuses,
        "cpu_s": {
            "this process": cpu_seconds() - own,
            "vendor": cpu_seconds(info["pid"]) - vendor_cpu,
        },
    }


def distributed(
    args: argparse.Namespace, info: dict[str, Any], work: Path, workers: int
) -> dict[str, Any]:
    """The same syncs on ``workers`` worker processes."""
    from connector.jobs import queue
    from connector.jobs.app import defer_app

    url = scratch_db(args.db)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        engine, settings = setup(url, work / f"dist{workers}", info, args.integrations)
        env = {
            **os.environ,
            "CCKIT_DATABASE_URL": url,
            "CCKIT_SECRET_KEY": os.environ["CCKIT_SECRET_KEY"],
            "CCKIT_CONTENT_DIR": str(work / f"dist{workers}-content"),
        }
        for n in range(workers):
            with (work / f"worker{workers}-{n}.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "cckit",
                            "worker",
                            "--concurrency",
                            str(args.concurrency),
                            "--heartbeat",
                            "2",
                            "--stalled-after",
                            "60",
                        ],
                        env={**env, "CCKIT_HOME": str(work / f"machine{n}")},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        # The clock starts when every worker is up (registered with its heartbeat).
        up_by = time.monotonic() + 120
        while time.monotonic() < up_by:
            with engine.connect() as conn:
                up = conn.execute(sa.text("SELECT count(*) FROM procrastinate_workers")).scalar()
            if up == workers:
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker did not start; see {work}/worker{workers}-*.log")
            time.sleep(0.2)
        start_cpu = {p.pid: cpu_seconds(p.pid) for p in procs}
        own, vendor_cpu = cpu_seconds(), cpu_seconds(info["pid"])
        started = time.perf_counter()
        app = defer_app(url)
        for item in integrations.list_all(engine, settings):
            queue.enqueue_sync(engine, app, item)
        deadline = time.monotonic() + args.timeout
        while True:
            versions, statuses = totals(engine)
            if len(statuses) >= args.integrations and "running" not in statuses:
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker stopped; see {work}/worker{workers}-*.log")
            if time.monotonic() > deadline:
                raise SystemExit(f"{workers} worker(s): not done after {args.timeout} s")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        cpu = {f"worker {n}": cpu_seconds(p.pid) - start_cpu[p.pid] for n, p in enumerate(procs)}
        cpu["this process"] = cpu_seconds() - own
        cpu["vendor"] = cpu_seconds(info["pid"]) - vendor_cpu
        engine.dispose()
    finally:
        for process in procs:
            process.send_signal(signal.SIGTERM)
        for process in procs:
            process.wait(timeout=60)
        drop_db(args.db, url)
    return {"wall_s": elapsed, "packages": versions, "statuses": statuses, "cpu_s": cpu}


def line(label: str, figures: dict[str, Any], base_s: float | None) -> str:
    rate = figures["packages"] / figures["wall_s"]
    speed = f", speed-up x{base_s / figures['wall_s']:.2f} over single" if base_s else ""
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in figures["cpu_s"].items())
    bad = [s for s in figures["statuses"] if s != "succeeded"]
    runs = f"{len(figures['statuses'])} runs" + (f" ({len(bad)} not succeeded)" if bad else "")
    return (
        f"{label}: {figures['wall_s']:.1f} s, {figures['packages']} packages, {rate:.0f} "
        f"packages/s{speed}; {runs}; CPU s: {cpu}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=os.environ.get("CCKIT_TEST_POSTGRES_URL"))
    parser.add_argument("--integrations", type=int, default=20)
    parser.add_argument("--courses", type=int, default=2000)
    parser.add_argument("--package-kb", type=int, default=4, help="asset bytes per package (KB)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=4, help="jobs per worker / threads")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    if not args.db:
        parser.error("give --db URL or set CCKIT_TEST_POSTGRES_URL (a PostgreSQL server)")
    os.environ.setdefault("CCKIT_SECRET_KEY", Fernet.generate_key().decode())
    print(
        f"{args.integrations} integrations x {args.courses} courses, packages of about "
        f"{args.package_kb} KB of assets, {os.cpu_count()} CPU(s), concurrency {args.concurrency}"
    )
    with tempfile.TemporaryDirectory(prefix="cckit-dist-bench-") as tmp:
        work = Path(tmp)
        config = {
            "COURSES": args.courses,
            "SEED": 1,
            "PAGE_SIZE": 500,
            "MAX_ASSET_BYTES": args.package_kb * 1024,
            "CACHE_DIR": str(work / "cache"),
        }
        with vendor(config) as info:
            single = baseline(args, info, work)
            print(line("single process (threads)", single, None), flush=True)
            for count in args.workers:
                figures = distributed(args, info, work, count)
                print(line(f"{count} worker process(es)", figures, single["wall_s"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
