"""Scale benchmark of the connector's sync against the mock vendor (the connector's targets).

Prints, in one run:

1. First sync of N courses (metadata only) vs a raw floor: the same pages fetched with a
   bare ``requests`` session, parsed and bulk-inserted into SQLite. Target ratio <= 2.
2. The no-op resync right after: time, requests (target: one list request per page,
   plus the token), downloads (target 0), time target <= 1 s.
3. P packages of S MB: a full sync with packages vs parallel raw downloads of the same
   files to disk (same worker count; the files are kept until the clock stops, as the
   sync keeps the content it extracts). Target throughput ratio (raw time / sync time)
   >= 0.8. A second floor adds the work the issue requires of every package and that no
   implementation can skip (sha256 and CRC-32 over every byte, as they stream in); the
   sync's ratio to it is its own overhead, and its ratio to raw says how much of the
   gap the requirements themselves explain.
   The CPU seconds of the benchmark process and of the mock vendor are printed for
   each, with the number of files and folders each created: on a 2-core machine the
   three processes share the cores.
4. Peak RSS of a sync process for S MB and 50 MB packages (target: flat).

The mock vendor runs in a separate process so that it does not share the GIL with the
code being measured. Usage::

    python benchmarks/sync_scale.py                  # the full sizes of the issue
    python benchmarks/sync_scale.py --quick          # reduced sizes, for a smoke run
    python benchmarks/sync_scale.py --json out.json  # also write the figures as JSON
    python benchmarks/sync_scale.py --only pkg       # only the package test (3)
    python benchmarks/sync_scale.py --workdir DIR    # temporary files in DIR, not /tmp
    python benchmarks/sync_scale.py --only pkg --link-mb 10  # packages paced at 10 MB/s

Where the files go matters for test 3: the sync creates a dozen files and folders per
package (the floors one), and on a file system where many files were deleted in the
last minutes (ext4 without a journal skips recently deleted inodes one by one), creating
a file can take over a millisecond. The benchmark deletes nothing until its last round
is over; every side of a ratio uses the same folder. On a virtual machine whose freed
memory goes back to the host, the first touch of a page is slow and varies from round
to round, which is why rounds alternate and the best of each side is compared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from connector import db
from connector import integrations
from connector.config import Settings
from connector.sync import SyncOptions
from connector.sync import sync

VENDOR_CHILD = """
import json, sys
from mock_vendor.testing import serve
config = json.loads(sys.argv[1])
with serve(config, check_problems=False) as v:
    print(json.dumps({"base_url": v.base_url, "auth_url": v.auth_url,
        "course_list_url": v.course_list_url, "client_id": v.client_id,
        "client_secret": v.client_secret, "admin_token": v.admin_token}), flush=True)
    sys.stdin.read()
"""

RSS_CHILD = """
import json, sys
from connector import db, integrations
from connector.config import Settings
from connector.sync import SyncOptions, sync
settings = Settings.resolve(home=sys.argv[1], db_url=sys.argv[2])
engine = db.connect(settings)
import aicc, jsonschema  # everything a run imports, so that the baseline is comparable
def hwm_kb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork+exec.
    with open("/proc/self/status") as status:
        return int(status.read().split("VmHWM:")[1].split()[0])
baseline = hwm_kb()
result = sync(engine, settings, integrations.get(engine, settings, "bench"),
              options=SyncOptions(workers=int(sys.argv[3]), backoff_factor=0.0))
print(json.dumps({"status": result.status, "downloads": result.downloads,
                  "baseline_kb": baseline,
                  "maxrss_kb": hwm_kb()}))
"""

MB = 1024 * 1024
#: The parts of the benchmark (``--skip`` / ``--only``): metadata, packages, peak RSS.
PARTS = ("meta", "pkg", "rss")


@contextmanager
def vendor(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Run the mock vendor in a child process; yields its URLs and credentials."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", VENDOR_CHILD, json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise SystemExit("the mock vendor did not start")
        info: dict[str, Any] = json.loads(line)
        info["startup_s"] = time.perf_counter() - started
        info["pid"] = process.pid
        admin = requests.Session()
        admin.headers["Authorization"] = f"Bearer {info['admin_token']}"
        info["admin"] = admin
        yield info
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def journal(info: dict[str, Any]) -> list[dict[str, Any]]:
    response = info["admin"].get(f"{info['base_url']}/_admin/journal", timeout=60)
    response.raise_for_status()
    entries: list[dict[str, Any]] = response.json()
    return entries


def clear_journal(info: dict[str, Any]) -> None:
    info["admin"].delete(f"{info['base_url']}/_admin/journal", timeout=60).raise_for_status()


def token(session: requests.Session, info: dict[str, Any]) -> str:
    response = session.post(
        info["auth_url"],
        data={"grant_type": "client_credentials"},
        auth=(info["client_id"], info["client_secret"]),
        timeout=60,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def register(engine: Any, settings: Settings, info: dict[str, Any]) -> integrations.Integration:
    return integrations.add(
        engine,
        settings,
        name="bench",
        provider="Bench",
        provider_url=info["course_list_url"],
        auth_url=info["auth_url"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        sync_time="02:00",
    )


# -- 1 + 2: metadata ---------------------------------------------------------------------

RAW_DDL = """
CREATE TABLE courses (
    id INTEGER PRIMARY KEY, vendor_id TEXT UNIQUE NOT NULL, title TEXT, description TEXT,
    course_type TEXT, is_active INTEGER, languages TEXT, duration TEXT, thumbnail TEXT,
    subjects TEXT, keywords TEXT, version TEXT, localization TEXT,
    vendor_last_modified TEXT, vendor_package_last_modified TEXT, raw TEXT)
"""


def raw_floor(info: dict[str, Any], path: Path) -> tuple[float, int, int]:
    """Fetch every page, parse it and bulk-insert it into SQLite; (seconds, pages, rows)."""
    started = time.perf_counter()
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token(session, info)}", "Accept": "application/json"}
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(RAW_DDL)
    url: str | None = info["course_list_url"]
    pages = rows = 0
    while url:
        response = session.get(url, headers=headers, timeout=60)
        response.raise_for_status()
        body = response.json()
        pages += 1
        rows += len(body)
        conn.executemany(
            "INSERT INTO courses (vendor_id, title, description, course_type, is_active, "
            "languages, duration, thumbnail, subjects, keywords, version, localization, "
            "vendor_last_modified, vendor_package_last_modified, raw) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    c["ID"], c["Title"], c["Description"], c["CourseType"], c["IsActive"],
                    json.dumps(c["Languages"]), c.get("Duration"), c.get("Thumbnail"),
                    json.dumps(c.get("Subjects", [])), json.dumps(c.get("Keywords", [])),
                    c.get("Version"), json.dumps(c.get("Localization", [])),
                    c["LastModifiedUTC"], c.get("PackageLastModifiedUTC"), json.dumps(c),
                )
                for c in body
            ],
        )  # fmt: skip
        conn.commit()
        link = response.links.get("next")
        url = requests.compat.urljoin(url, link["url"]) if link else None
    conn.close()
    return time.perf_counter() - started, pages, rows


def bench_metadata(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    config = {
        "COURSES": args.courses,
        "SEED": 1,
        "PAGE_SIZE": args.page_size,
        "CACHE_DIR": str(work / "mock-cache"),
        "JOURNAL_SIZE": 100_000,
    }
    out: dict[str, Any] = {"courses": args.courses, "page_size": args.page_size}
    with vendor(config) as info:
        out["vendor_startup_s"] = round(info["startup_s"], 2)
        raw_s, pages, rows = raw_floor(info, work / "raw.sqlite3")
        home = work / "meta-home"
        settings = Settings(home=home, database_url=f"sqlite:///{home / 'catalog.sqlite3'}")
        engine = db.connect(settings)
        register(engine, settings, info)
        options = SyncOptions(download_packages=False, backoff_factor=0.0, timeout=120.0)
        started = time.perf_counter()
        first = sync(engine, settings, integrations.get(engine, settings, "bench"), options=options)
        sync_s = time.perf_counter() - started
        clear_journal(info)
        started = time.perf_counter()
        again = sync(engine, settings, integrations.get(engine, settings, "bench"), options=options)
        noop_s = time.perf_counter() - started
        entries = journal(info)
        engine.dispose()
    out.update(
        raw_floor_s=round(raw_s, 3),
        raw_pages=pages,
        raw_rows=rows,
        sync_s=round(sync_s, 3),
        sync_status=first.status,
        sync_counts=first.counts,
        sync_pages=first.pages,
        ratio=round(sync_s / raw_s, 2),
        noop_s=round(noop_s, 3),
        noop_status=again.status,
        noop_pages=again.pages,
        noop_requests=again.requests,
        noop_vendor_requests={
            op: sum(1 for e in entries if e["operation"] == op)
            for op in ("token", "list", "package")
        },
        noop_downloads=again.downloads,
    )
    return out


# -- 3 + 4: packages ---------------------------------------------------------------------


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of this process (all threads) or of process ``pid``."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    with open(f"/proc/{pid}/stat") as stat:
        # Fields after the command name (which may hold spaces): utime, stime are 14, 15.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_entries(folder: Path) -> int:
    """Files and folders below ``folder`` (each one an inode the run had to create)."""
    return sum(len(dirs) + len(files) for _, dirs, files in os.walk(folder))


def base_package(work: Path) -> bytes:
    """One valid AICC package from a small generated mock catalog (public HTTP only)."""
    config = {"COURSES": 1, "SEED": 7, "MAX_ASSET_BYTES": 2_000, "CACHE_DIR": str(work / "c")}
    with vendor(config) as info:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token(session, info)}"}
        courses = session.get(info["course_list_url"], headers=headers, timeout=60).json()
        url = next(c["DownloadPackageUrl"] for c in courses if c["IsActive"])
        return session.get(url, headers=headers, timeout=60).content


def sized_catalog(work: Path, name: str, base: bytes, size: int, count: int) -> Path:
    """``count`` packages of about ``size`` bytes (one file, hard-linked) with sidecar IDs."""
    folder = work / name
    folder.mkdir()
    master = folder / "master.bin"
    master.write_bytes(base)
    # Streamed into the file, so the benchmark process itself stays small.
    with zipfile.ZipFile(master, "a", zipfile.ZIP_STORED) as zf:
        padding = size - len(base)
        # Incompressible media, as real course videos are.
        with zf.open("media/video.bin", "w", force_zip64=True) as media:
            for _ in range(padding // MB):
                media.write(os.urandom(MB))
            media.write(os.urandom(padding % MB))
    for index in range(count):
        target = folder / f"p{index:04d}.zip"
        os.link(master, target)
        (folder / f"p{index:04d}.json").write_text(json.dumps({"ID": f"BIG-{index:04d}"}))
    return folder


def release_pages(folder: Path) -> None:
    """Truncate every file below ``folder`` to zero bytes (inodes kept; see below)."""
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            if not name.startswith("catalog.sqlite3"):
                os.truncate(os.path.join(parent, name), 0)


def package_urls(
    session: requests.Session, info: dict[str, Any], headers: dict[str, str]
) -> list[str]:
    """Every active course's package URL, from the whole list."""
    urls: list[str] = []
    url: str | None = info["course_list_url"]
    while url:
        response = session.get(url, headers=headers, timeout=60)
        urls += [c["DownloadPackageUrl"] for c in response.json() if c["IsActive"]]
        link = response.links.get("next")
        url = requests.compat.urljoin(url, link["url"]) if link else None
    return urls


def raw_downloads(
    info: dict[str, Any], workers: int, target: Path, *, mandatory: bool = False
) -> tuple[float, int]:
    """Parallel raw downloads of every package of the list to files; (seconds, bytes).

    The floor of the package phase (the issue's): the same requests with the same worker
    count, each body written once to one file. With ``mandatory`` each body is also
    hashed with sha256 and run through CRC-32 as it streams: the work the issue itself
    requires of every package (a sha256 of the zip, the zip's CRC checks) and that no
    implementation can skip, still with one file per package and no zip, AICC or
    catalog work. The sync's ratio against that second floor is its own overhead.
    """
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=workers + 2)
    session.mount("http://", adapter)
    headers = {"Authorization": f"Bearer {token(session, info)}"}
    urls = package_urls(session, info, headers)
    target.mkdir()

    def fetch(index_url: tuple[int, str]) -> int:
        index, package_url = index_url
        total = crc = 0
        digest = hashlib.sha256()
        path = target / f"{index}.zip"
        with session.get(package_url, headers=headers, stream=True, timeout=60) as r:
            r.raise_for_status()
            with open(path, "wb") as sink:
                for chunk in r.iter_content(256 * 1024):
                    total += len(chunk)
                    if mandatory:
                        digest.update(chunk)
                        crc = zlib.crc32(chunk, crc)
                    sink.write(chunk)
        return total

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        total = sum(pool.map(fetch, enumerate(urls)))
    return time.perf_counter() - started, total


def bench_packages(args: argparse.Namespace, work: Path, base: bytes) -> dict[str, Any]:
    folder = sized_catalog(work, "pkg-catalog", base, args.package_mb * MB, args.packages)
    out: dict[str, Any] = {"packages": args.packages, "package_mb": args.package_mb}
    kinds: tuple[str, ...] = ("raw", "mandatory", "sync")
    if args.dist_db:
        kinds += ("dist",)
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    # CPU seconds (client process, mock vendor process) of each measurement: on a small
    # machine both share the cores, so these say whether a phase is CPU-bound.
    cpu: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
    sync_entries = 0
    # Each round writes into new folders and nothing is deleted until every round is
    # over: deleting thousands of files just before a measured round made the next file
    # creations slow on ext4 without a journal (the inode allocator skips inodes deleted
    # in the last minutes, checking each one), which taxed the sync, which creates a
    # dozen files per package, far more than the floors (one each). Once a round is
    # timed, its files are truncated to zero instead: that frees their memory for the
    # next round (whichever kind it is) without deleting an inode, and keeps gigabytes
    # of stale data from being written back while the next round runs.
    outputs = work / "pkg-outputs"
    outputs.mkdir()
    config: dict[str, Any] = {
        "CATALOG": str(folder),
        "PAGE_SIZE": 100,
        "CACHE_DIR": str(work / "c2"),
    }
    if args.link_mb:
        # A vendor reached over a real link: each package response is paced at this
        # rate (the mock's slow_download fault), as a CDN's per-connection rate would be.
        config["FAULTS"] = [f"slow_download:{int(args.link_mb * MB)}"]
        out["link_mb_per_s_per_connection"] = args.link_mb
    with vendor(config) as info:
        # Alternating rounds, best of each: the machine's disk and CPUs are shared.
        for round_ in range(args.repeat):
            for kind in kinds:
                own, vendor_cpu = cpu_seconds(), cpu_seconds(info["pid"])
                if kind == "dist":
                    elapsed = dist_sync(args, info, outputs / f"dist-{round_}")
                elif kind != "sync":
                    elapsed, raw_bytes = raw_downloads(
                        info, args.workers, outputs / f"{kind}-{round_}",
                        mandatory=kind == "mandatory",
                    )  # fmt: skip
                else:
                    home = outputs / f"sync-{round_}"
                    settings = Settings(
                        home=home, database_url=f"sqlite:///{home / 'catalog.sqlite3'}"
                    )
                    engine = db.connect(settings)
                    register(engine, settings, info)
                    options = SyncOptions(workers=args.workers, backoff_factor=0.0, timeout=120.0)
                    own, vendor_cpu = cpu_seconds(), cpu_seconds(info["pid"])
                    started = time.perf_counter()
                    result = sync(
                        engine, settings, integrations.get(engine, settings, "bench"),
                        options=options,
                    )  # fmt: skip
                    elapsed = time.perf_counter() - started
                    engine.dispose()
                    sync_entries = tree_entries(home / "content")
                times[kind].append(elapsed)
                cpu[kind].append((cpu_seconds() - own, cpu_seconds(info["pid"]) - vendor_cpu))
                if kind == "dist":  # the work was done by the worker processes
                    cpu[kind][-1] = (args.dist_cpu_s, cpu[kind][-1][1])
                release_pages(outputs)
    shutil.rmtree(outputs, ignore_errors=True)
    best = {kind: min(times[kind]) for kind in kinds}
    best_cpu = {kind: cpu[kind][times[kind].index(best[kind])] for kind in kinds}
    out.update(
        rounds=args.repeat,
        workers=args.workers,
        cpus=os.cpu_count(),
        raw_mb=round(raw_bytes / MB, 1),
        raw_files=args.packages,
        sync_status=result.status,
        sync_downloads=result.downloads,
        sync_files=sync_entries,
        throughput_ratio=round(best["raw"] / best["sync"], 2),
        mandatory_ratio=round(best["mandatory"] / best["sync"], 2),
        floor_ratio=round(best["raw"] / best["mandatory"], 2),
    )
    if "dist" in kinds:
        out["dist_workers"] = args.dist_workers
        out["dist_mandatory_ratio"] = round(best["mandatory"] / best["dist"], 2)
        out["dist_throughput_ratio"] = round(best["raw"] / best["dist"], 2)
    for kind in kinds:
        out[f"{kind}_s"] = round(best[kind], 3)
        out[f"{kind}_times_s"] = [round(t, 3) for t in times[kind]]
        out[f"{kind}_mb_per_s"] = round(raw_bytes / MB / best[kind], 1)
        out[f"{kind}_cpu_s"] = round(best_cpu[kind][0], 2)
        out[f"{kind}_vendor_cpu_s"] = round(best_cpu[kind][1], 2)
    return out


def dist_sync(args: argparse.Namespace, info: dict[str, Any], home: Path) -> float:
    """The package sync spread over ``--dist-workers`` ``cckit worker`` processes.

    Timed from the enqueue until the run is closed (the workers are up before); the
    workers share ``--workers`` concurrent jobs between them, as many as the threads of
    the single-process sync. The workers' CPU seconds (summed, from the enqueue on) are
    left in ``args.dist_cpu_s`` for the CPU line.
    """
    from cryptography.fernet import Fernet
    from distributed import drop_db  # the sibling benchmark's scratch databases
    from distributed import scratch_db

    from connector.jobs import queue
    from connector.jobs.app import defer_app
    from connector.jobs.app import ensure_schema

    # Every worker machine shares the key that encrypted the client secret.
    os.environ.setdefault("CCKIT_SECRET_KEY", Fernet.generate_key().decode())
    url = scratch_db(args.dist_db)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        settings = Settings.resolve(home=home, db_url=url)
        engine = db.connect(settings)
        ensure_schema(engine)
        register(engine, settings, info)
        env = {**os.environ, "CCKIT_DATABASE_URL": url, "CCKIT_CONTENT_DIR": str(home / "content")}
        per_worker = max(1, args.workers // args.dist_workers)
        for n in range(args.dist_workers):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cckit", "worker", "--concurrency", str(per_worker),
                     "--heartbeat", "2", "--stalled-after", "120"],
                    env={**env, "CCKIT_HOME": str(home / f"w{n}")},
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        while True:
            with engine.connect() as conn:
                up = conn.execute(sa.text("SELECT count(*) FROM procrastinate_workers")).scalar()
            if up == args.dist_workers:
                break
            time.sleep(0.1)
        # CPU from here on: the sync's work, not the workers' imports and start-up
        # (about 0.45 s each), as for the in-process sync.
        idle_cpu = sum(cpu_seconds(p.pid) for p in procs)
        started = time.perf_counter()
        queue.enqueue_sync(engine, defer_app(url), integrations.get(engine, settings, "bench"))
        while True:
            with engine.connect() as conn:
                status = conn.execute(sa.select(db.sync_runs.c.status)).scalar()
            if status not in (None, "running"):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        if status != "succeeded":
            raise SystemExit(f"the distributed run ended {status}: see the workers' logs")
        args.dist_cpu_s = sum(cpu_seconds(p.pid) for p in procs) - idle_cpu
        engine.dispose()
    finally:
        for process in procs:
            process.send_signal(signal.SIGTERM)
        for process in procs:
            process.wait(timeout=60)
        drop_db(args.dist_db, url)
    return elapsed


def bench_rss(args: argparse.Namespace, work: Path, base: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"packages_per_run": args.rss_packages}
    for size_mb in (args.package_mb, args.big_mb):
        folder = sized_catalog(work, f"rss-{size_mb}", base, size_mb * MB, args.rss_packages)
        with vendor({"CATALOG": str(folder), "CACHE_DIR": str(work / f"c-{size_mb}")}) as info:
            home = work / f"rss-home-{size_mb}"
            settings = Settings(home=home, database_url=f"sqlite:///{home / 'catalog.sqlite3'}")
            engine = db.connect(settings)
            register(engine, settings, info)
            engine.dispose()
            child = subprocess.run(
                [
                    sys.executable, "-c", RSS_CHILD, str(home), settings.database_url,
                    str(args.workers),
                ],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        out[f"{size_mb}mb"] = {
            "status": figures["status"],
            "downloads": figures["downloads"],
            "peak_rss_mb": round(figures["maxrss_kb"] / 1024, 1),
            "after_imports_rss_mb": round(figures["baseline_kb"] / 1024, 1),
        }
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--packages", type=int, default=200)
    parser.add_argument("--package-mb", type=int, default=5)
    parser.add_argument("--big-mb", type=int, default=50)
    parser.add_argument("--rss-packages", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the package test")
    parser.add_argument(
        "--link-mb",
        type=float,
        default=0.0,
        help="pace every package response at this many MB/s (a real link, not loopback)",
    )
    parser.add_argument(
        "--dist-db",
        help="PostgreSQL URL: also run the package sync spread over worker processes "
        "(the distributed mode); scratch databases are created next to it",
    )
    parser.add_argument("--dist-workers", type=int, default=2, help="worker processes")
    parser.add_argument("--quick", action="store_true", help="reduced sizes (smoke run)")
    parser.add_argument("--skip", action="append", default=[], choices=PARTS)
    parser.add_argument(
        "--only", action="append", default=[], choices=PARTS, help="run only these parts"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="folder for the benchmark's temporary files (default: the system's temp folder)",
    )
    args = parser.parse_args(argv)
    if args.link_mb < 0 or 0 < args.link_mb * MB < 1:
        parser.error(f"--link-mb {args.link_mb:g}: give a rate above zero (MB per second)")
    if args.quick:
        args.courses, args.packages, args.big_mb = 5_000, 40, 20
    if args.only:
        args.skip += [part for part in PARTS if part not in args.only]
    figures: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cckit-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        if "meta" not in args.skip:
            meta = figures["metadata"] = bench_metadata(args, work)
            print(
                f"[1] first sync, {meta['courses']} courses metadata-only, "
                f"{meta['raw_pages']} pages: sync {meta['sync_s']:.2f} s vs raw floor "
                f"{meta['raw_floor_s']:.2f} s -> ratio {meta['ratio']:.2f} (target <= 2)"
            )
            print(
                f"[2] no-op resync: {meta['noop_s']:.3f} s (target <= 1 s), "
                f"{meta['noop_pages']} page(s), {meta['noop_requests']} request(s) "
                f"(vendor saw {meta['noop_vendor_requests']}), "
                f"{meta['noop_downloads']} download(s) (target 0)"
            )
        if "pkg" not in args.skip or "rss" not in args.skip:
            base = base_package(work)
        if "pkg" not in args.skip:
            pkg = figures["packages"] = bench_packages(args, work, base)
            link = f" over a {args.link_mb:g} MB/s link per connection" if args.link_mb else ""
            print(
                f"[3] {pkg['packages']} packages of {pkg['package_mb']} MB{link}, {pkg['workers']} "
                f"workers: sync {pkg['sync_s']:.2f} s ({pkg['sync_mb_per_s']} MB/s) vs raw "
                f"{pkg['raw_s']:.2f} s ({pkg['raw_mb_per_s']} MB/s) -> throughput ratio "
                f"{pkg['throughput_ratio']:.2f} (target >= 0.8; best of {pkg['rounds']})"
            )
            print(
                f"    mandatory-work floor (raw + sha256 + CRC-32 while streaming) "
                f"{pkg['mandatory_s']:.2f} s: its own ratio to raw {pkg['floor_ratio']:.2f}; "
                f"sync vs it {pkg['mandatory_ratio']:.2f} (the sync's own overhead)"
            )
            print(
                f"    CPU seconds (client + mock vendor) on {pkg['cpus']} cores: sync "
                f"{pkg['sync_cpu_s']} + {pkg['sync_vendor_cpu_s']}, mandatory "
                f"{pkg['mandatory_cpu_s']} + {pkg['mandatory_vendor_cpu_s']}, raw "
                f"{pkg['raw_cpu_s']} + {pkg['raw_vendor_cpu_s']}; files and folders "
                f"created: sync {pkg['sync_files']}, floors {pkg['raw_files']} each"
            )
            if "dist_s" in pkg:
                print(
                    f"    spread over {pkg['dist_workers']} worker processes: "
                    f"{pkg['dist_s']:.2f} s "
                    f"({pkg['dist_mb_per_s']} MB/s) -> vs mandatory-work floor "
                    f"{pkg['dist_mandatory_ratio']:.2f} (target >= 0.8), vs raw "
                    f"{pkg['dist_throughput_ratio']:.2f}; CPU s workers {pkg['dist_cpu_s']} + "
                    f"vendor {pkg['dist_vendor_cpu_s']}; rounds {pkg['dist_times_s']}"
                )
            print(
                f"    rounds (s): sync {pkg['sync_times_s']}, mandatory "
                f"{pkg['mandatory_times_s']}, raw {pkg['raw_times_s']}"
            )
        if "rss" not in args.skip:
            rss = figures["rss"] = bench_rss(args, work, base)
            small, big = rss[f"{args.package_mb}mb"], rss[f"{args.big_mb}mb"]
            print(
                f"[4] peak RSS of a sync process ({args.rss_packages} packages each): "
                f"{args.package_mb} MB packages {small['peak_rss_mb']} MB, "
                f"{args.big_mb} MB packages {big['peak_rss_mb']} MB (target: flat; "
                f"{small['after_imports_rss_mb']} MB after imports)"
            )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures["benchmark_process_peak_rss_mb"] = round(own / 1024, 1)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
