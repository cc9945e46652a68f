"""Server time of the admin console's pages on a large catalog (issue 13, item 5).

(Not named console.py: run as a script, that name would shadow the console package.)

Builds, in SQLite under a temporary CCKIT_HOME:

* a catalog of N courses (default 50,000) in one integration, with every status present
  (inactive, pending, failing, protected) and a few runs with outcomes;
* one course whose published package has A AUs (default 10,000), extracted on disk as
  the sync would leave it;

then times requests through the console's WSGI app (Flask's test client: the whole
server side, routing to rendered HTML, without a network or a browser) and prints the
median and p95 of each, in wall time and in the server thread's CPU time (on a shared
machine the wall time also holds the time other processes had the cores; the load
average is printed before and after). Target: p95 under 150 ms.

Baselines measured in the same run, with ratios printed: the same catalog requests on a
catalog of 1,000 courses, and the course page of a 10-AU course.

Usage::

    python benchmarks/console_pages.py                 # 50,000 courses, a 10,000-AU course
    python benchmarks/console_pages.py --quick         # 5,000 courses, 1,000 AUs (smoke run)
    python benchmarks/console_pages.py --json out.json # also write the figures as JSON
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from aicc.model import AssignableUnit
from aicc.model import Block
from aicc.model import Course
from aicc.model import Descriptor
from aicc.writer import write
from connector import db
from connector import integrations
from connector.config import Settings
from console import create_app

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
#: The issue's target for the p95 server time of a page.
TARGET_MS = 150.0
WORDS = ("Safety", "Leadership", "Excel", "Privacy", "Onboarding", "Finance", "Agile", "Sales")

#: (label, path) of the catalog requests; ``{last}`` is the last page number.
CATALOG_REQUESTS = (
    ("catalog, first page (50 rows + counts)", "/catalog"),
    ("catalog, search 'privacy'", "/catalog?q=privacy"),
    ("catalog, search by course ID", "/catalog?q=CRS-0042"),
    ("catalog, filter failing", "/catalog?status=failing"),
    ("catalog, filter protected", "/catalog?status=protected"),
    ("catalog, sort by ID desc, 200 rows", "/catalog?sort=id&dir=desc&per_page=200"),
    ("catalog, last page", "/catalog?page={last}"),
    ("catalog, search + filter + sort", "/catalog?q=safety&status=active&sort=updated&dir=desc"),
)


def _course_rows(integration_id: int, count: int, offset: int = 0) -> list[dict[str, Any]]:
    rows = []
    for n in range(offset, offset + count):
        rows.append(
            {
                "integration_id": integration_id,
                "vendor_id": f"CRS-{n:06d}",
                "title": f"{WORDS[n % len(WORDS)]} {n}: course number {n}",
                "description": "A generated course for the console benchmark.",
                "is_active": n % 20 != 0,
                "languages": ["en-US"],
                "subjects": ["Benchmark"],
                "keywords": ["bench"],
                "localization": [],
                "protected_fields": ["Title"] if n % 97 == 0 else [],
                "failing_since": T0 if n % 101 == 0 else None,
                "failure_reason": "AICC validation failed" if n % 101 == 0 else None,
                "failure_rules": ["AICC-001"] if n % 101 == 0 else [],
                "created_at": T0,
                "updated_at": T0 + dt.timedelta(seconds=n),
                "vendor_last_modified": T0,
            }
        )
    return rows


def build_catalog(home: Path, courses: int) -> tuple[Settings, Any, int]:
    """A catalog of ``courses`` courses (every 50th pending) and three runs."""
    settings = Settings.resolve(home=home, db_url=f"sqlite:///{home / 'catalog.sqlite3'}")
    settings.ensure_home()
    engine = db.connect(settings)
    item = integrations.add(
        engine,
        settings,
        name="bench",
        provider="Bench Learning",
        provider_url="https://lcms.example.com/api/v1/courses",
        auth_url="https://lcms.example.com/oauth/token",
        client_id="bench",
        client_secret="bench-secret",
        sync_time="02:00",
    )
    with engine.begin() as conn:
        for start in range(0, courses, 5000):
            conn.execute(
                sa.insert(db.courses),
                _course_rows(item.id, min(5000, courses - start), start),
            )
        ids = [r[0] for r in conn.execute(sa.select(db.courses.c.id).order_by(db.courses.c.id))]
        versions = [
            {
                "course_id": cid,
                "sha256": f"{cid:064x}",
                "size": 1000,
                "stored_path": "/nowhere",
                "downloaded_at": T0,
            }
            for n, cid in enumerate(ids)
            if n % 50 != 1
        ]
        for start in range(0, len(versions), 5000):
            conn.execute(sa.insert(db.package_versions), versions[start : start + 5000])
        conn.execute(
            sa.update(db.courses).values(
                current_package_id=sa.select(db.package_versions.c.id)
                .where(db.package_versions.c.course_id == db.courses.c.id)
                .scalar_subquery()
            )
        )
        for run in range(3):
            run_id = conn.execute(
                sa.insert(db.sync_runs).values(
                    integration_id=item.id,
                    started_at=T0 + dt.timedelta(days=run),
                    finished_at=T0 + dt.timedelta(days=run, minutes=3),
                    status="partial",
                    counts={"new": courses},
                )
            ).inserted_primary_key[0]
            conn.execute(
                sa.insert(db.course_outcomes),
                [
                    {
                        "run_id": run_id,
                        "vendor_id": f"CRS-{n:06d}",
                        "outcome": "failed" if n % 101 == 0 else "updated",
                        "reason": None,
                        "rule_ids": [],
                    }
                    for n in range(0, courses, 7)
                ],
            )
    return settings, engine, item.id


def add_big_course(settings: Settings, engine: Any, integration_id: int, aus: int) -> int:
    """A course whose current package has ``aus`` AUs in 100 blocks, extracted on disk."""
    per_block = max(1, aus // 100)
    blocks = [f"B{b}" for b in range(-(-aus // per_block))]
    course = Course(
        base_name="course",
        course_id="BIG",
        course_title=f"A course of {aus} AUs",
        aus=[AssignableUnit(f"A{n}", file_name=f"au{n}/index.html") for n in range(aus)],
        descriptors=[Descriptor(f"A{n}", title=f"Lesson {n}") for n in range(aus)]
        + [Descriptor(b, title=f"Module {b}") for b in blocks],
        blocks=[Block("root", members=blocks)]
        + [
            Block(b, members=[f"A{n}" for n in range(i * per_block, min(aus, (i + 1) * per_block))])
            for i, b in enumerate(blocks)
        ],
    ).with_computed_totals()
    sha = "f" * 64
    folder = settings.content_dir / "bench" / "BIG" / sha
    folder.mkdir(parents=True)
    for name, data in write(course).items():
        (folder / name).write_bytes(data)
    for n in range(0, aus, max(1, aus // 10)):
        (folder / f"au{n}").mkdir()
        (folder / f"au{n}" / "index.html").write_text(f"<p>Lesson {n}</p>")
    with engine.begin() as conn:
        (row,) = _course_rows(integration_id, 1, 10_000_000)
        row.update(vendor_id="BIG", title=course.course_title)
        course_id = conn.execute(sa.insert(db.courses).values(**row)).inserted_primary_key[0]
        version = conn.execute(
            sa.insert(db.package_versions).values(
                course_id=course_id,
                sha256=sha,
                size=sum(len(d) for d in write(course).values()),
                stored_path=str(folder),
                downloaded_at=T0,
                aicc_summary={"valid": True, "warnings": 0, "diagnostics": []},
            )
        ).inserted_primary_key[0]
        conn.execute(
            sa.update(db.courses)
            .where(db.courses.c.id == course_id)
            .values(current_package_id=version)
        )
    return int(course_id)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def time_requests(client: Any, path: str, rounds: int) -> dict[str, float]:
    """Median and p95 server time of ``rounds`` GETs of ``path`` (after a first one).

    Two clocks: wall time, and the CPU time of this thread (the test client runs the
    whole server side, SQLite included, in it). On a shared machine the wall time also
    counts the time other processes held the cores; the CPU time does not.
    """
    first_start = time.perf_counter()
    response = client.get(path)
    first = time.perf_counter() - first_start
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}")
    wall, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.thread_time()
        response = client.get(path)
        response.get_data()
        cpu.append(time.thread_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return {
        "first_ms": first * 1000,
        "median_ms": statistics.median(wall) * 1000,
        "p95_ms": _p95(wall) * 1000,
        "cpu_median_ms": statistics.median(cpu) * 1000,
        "cpu_p95_ms": _p95(cpu) * 1000,
        "bytes": len(response.get_data()),
    }


def bench_catalog(home: Path, courses: int, rounds: int) -> dict[str, dict[str, float]]:
    settings, engine, _ = build_catalog(home, courses)
    client = create_app({"CCKIT_SETTINGS": settings, "CCKIT_ENGINE": engine}).test_client()
    last = -(-courses // 50)
    results = {
        label: time_requests(client, path.format(last=last), rounds)
        for label, path in CATALOG_REQUESTS
    }
    engine.dispose()
    return results


def bench_course(home: Path, aus: int, rounds: int) -> dict[str, float]:
    settings, engine, integration_id = build_catalog(home, 100)
    pk = add_big_course(settings, engine, integration_id, aus)
    client = create_app({"CCKIT_SETTINGS": settings, "CCKIT_ENGINE": engine}).test_client()
    result = time_requests(client, f"/courses/{pk}", rounds)
    engine.dispose()
    return result


def _line(label: str, figures: dict[str, float], base: dict[str, float] | None) -> str:
    ratio = f" x{figures['cpu_p95_ms'] / base['cpu_p95_ms']:.1f}" if base else ""
    verdict = "ok" if figures["p95_ms"] < TARGET_MS else "over"
    cpu_verdict = "ok" if figures["cpu_p95_ms"] < TARGET_MS else "over"
    return (
        f"  {label:<40} wall {figures['median_ms']:6.1f} / {figures['p95_ms']:6.1f} ms {verdict:<4}"
        f" cpu {figures['cpu_median_ms']:6.1f} / {figures['cpu_p95_ms']:6.1f} ms {cpu_verdict:<4}"
        f" first {figures['first_ms']:6.1f} ms {figures['bytes'] / 1024:5.0f} KiB{ratio}"
    )


def _load() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=50_000)
    parser.add_argument("--aus", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="5,000 courses, 1,000 AUs")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.courses, args.aus, args.rounds = 5_000, 1_000, 15
    figures: dict[str, Any] = {"courses": args.courses, "aus": args.aus, "rounds": args.rounds}
    print(f"Load average before: {_load()} on {os.cpu_count()} CPU(s)")
    print("Each line: median / p95 of wall time and of server CPU time; ratio = CPU p95 / baseline")
    with tempfile.TemporaryDirectory(prefix="cckit-console-bench-") as tmp:
        work = Path(tmp)
        print(f"Baseline: the same requests on 1,000 courses ({args.rounds} rounds each)")
        figures["baseline_catalog"] = bench_catalog(work / "small", 1_000, args.rounds)
        for label, values in figures["baseline_catalog"].items():
            print(_line(label, values, None))
        print(f"Catalog of {args.courses:,} courses in SQLite ({args.rounds} rounds each)")
        figures["catalog"] = bench_catalog(work / "big", args.courses, args.rounds)
        for label, values in figures["catalog"].items():
            print(_line(label, values, figures["baseline_catalog"][label]))
        figures["baseline_course"] = bench_course(work / "c10", 10, args.rounds)
        print(_line("course page, 10 AUs (baseline)", figures["baseline_course"], None))
        figures["course"] = bench_course(work / "cbig", args.aus, args.rounds)
        label = f"course page, {args.aus:,} AUs"
        print(_line(label, figures["course"], figures["baseline_course"]))
        print("  ('first' of the course page includes reading the package's structure once.)")
    every = [*figures["catalog"].values(), figures["course"]]
    worst_wall = max(v["p95_ms"] for v in every)
    worst_cpu = max(v["cpu_p95_ms"] for v in every)
    print(f"Load average after: {_load()}")
    print(
        f"Worst p95: wall {worst_wall:.1f} ms, server CPU {worst_cpu:.1f} ms "
        f"(target < {TARGET_MS:.0f} ms: wall {'met' if worst_wall < TARGET_MS else 'NOT met'}, "
        f"CPU {'met' if worst_cpu < TARGET_MS else 'NOT met'})"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
