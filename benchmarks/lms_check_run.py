"""Benchmark: a full ``cckit lms-check run`` of cckit's connector (target: under 3 minutes).

The baseline, measured in the same run, is the same scenarios played against
``tests/lms_clients/reference_client.py`` (a small requests client that starts in a
fraction of the connector's start-up time): the ratio shows what the connector itself
costs on top of the scenarios' own waits (Retry-After, the stalled download).

Usage::

    python benchmarks/lms_check_run.py [--jobs 4] [--scenario NAME ...]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

import lms_check

ROOT = Path(__file__).resolve().parent.parent


def _timed(sync: str, catalog: str, jobs: int, names: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    result = lms_check.run_check(sync, catalog_cmd=catalog, jobs=jobs, scenarios=names)
    failed = ", ".join(r.id for r in result.failed) or "none"
    return time.monotonic() - started, failed


def main() -> None:
    """Run both clients and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--scenario", action="append", default=[])
    args = parser.parse_args()
    python = shlex.quote(sys.executable)
    reference = (
        f"{python} {shlex.quote(str(ROOT / 'tests' / 'lms_clients' / 'reference_client.py'))}"
    )
    adapter = f"{python} -m lms_check.adapters.cckit"
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    base, base_failed = _timed(
        f"{reference} sync", f"{reference} catalog", args.jobs, args.scenario
    )
    print(f"reference client: {base:6.1f} s (failed: {base_failed})")
    took, failed = _timed(f"{adapter} sync", f"{adapter} catalog", args.jobs, args.scenario)
    print(f"cckit connector:  {took:6.1f} s (failed: {failed})")
    print(f"ratio connector/reference: {took / base:.2f}; target: connector under 180 s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
