"""Benchmark: a full conformance run against a 1,000-course mock with 50 sampled packages.

Target: under 30 s of wall time for the run. The mock builds generated packages
lazily and caches them, so the first run also pays for building the 50 sampled packages;
both figures are printed.

Usage::

    python benchmarks/conformance_run.py [--courses 1000] [--max-packages 50] [--page-size 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import conformance
from mock_vendor.testing import serve


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=1000)
    parser.add_argument("--max-packages", type=int, default=50)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        config = {
            "COURSES": args.courses,
            "PAGE_SIZE": args.page_size,
            "SEED": 1,
            "CACHE_DIR": cache,
        }
        with serve(config) as vendor:
            figures = []
            for label in ("cold package cache", "warm package cache"):
                started = time.perf_counter()
                result = conformance.check_vendor(
                    vendor.course_list_url,
                    auth_url=vendor.auth_url,
                    client_id=vendor.client_id,
                    client_secret=vendor.client_secret,
                    max_packages=args.max_packages,
                    seed=args.seed,
                )
                elapsed = time.perf_counter() - started
                figures.append((label, elapsed, result))
    for label, elapsed, result in figures:
        s = result.summary
        print(
            f"conformance run, {args.courses} courses, page size {args.page_size}, "
            f"{args.max_packages} packages ({label}): {elapsed:.1f} s wall "
            f"[{s['passed']} passed, {s['failed']} failed, {s['warnings']} warnings, "
            f"{s['skipped']} skipped]"
        )
    worst = max(elapsed for _, elapsed, _ in figures)
    print(f"target < 30 s: {'met' if worst < 30 else 'MISSED'} (worst {worst:.1f} s)")


if __name__ == "__main__":
    main()
