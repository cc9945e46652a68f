"""Load benchmark of ``cckit vendor serve``: start time, then many concurrent LMS clients.

Starts the mock vendor as a subprocess with a generated catalog (1,000 courses by
default), prints how long it took until its first JSON line (target: under 10 s), then
runs N client threads (200 by default) for a while (60 s by default). Each client loops:
fetch a token (and again every 25 rounds), read up to three list pages following
``Link: rel="next"``, download one package. Prints requests/s, p50/p99 latency per
operation and overall, and the error count (target: 0).

Usage::

    python benchmarks/mock_vendor_load.py [--duration 60] [--clients 200] [--courses 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from typing import Any

import requests

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]
from requests.adapters import HTTPAdapter


class Stats:
    """Thread-safe collection of latencies and errors per operation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []

    def record(self, operation: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latencies[operation].append(seconds)
            if not ok:
                self.errors[operation] += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{operation}: {detail}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def client_loop(info: dict[str, Any], stats: Stats, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=1))
    headers: dict[str, str] = {}
    rounds = 0

    def timed(operation: str, method: str, url: str, **kwargs: Any) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=60, **kwargs)
            body = response.content  # read the whole body inside the timing
        except requests.RequestException as exc:
            stats.record(operation, time.perf_counter() - started, False, repr(exc))
            return None
        ok = response.status_code < 400 and body is not None
        stats.record(operation, time.perf_counter() - started, ok, str(response.status_code))
        return response

    while time.monotonic() < deadline:
        if not headers or rounds % 25 == 0:
            response = timed(
                "token",
                "POST",
                info["auth_url"],
                data={"grant_type": "client_credentials"},
                auth=(info["client_id"], info["client_secret"]),
            )
            if response is None or response.status_code != 200:
                time.sleep(0.2)
                continue
            headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        rounds += 1
        url: str | None = info["course_list_url"]
        courses: list[dict[str, Any]] = []
        for _ in range(3):
            if url is None or time.monotonic() >= deadline:
                break
            response = timed("list", "GET", url, headers=headers)
            if response is None or response.status_code != 200:
                break
            courses.extend(response.json())
            url = response.links.get("next", {}).get("url")
        if courses and time.monotonic() < deadline:
            course = rng.choice(courses)
            timed("package", "GET", course["DownloadPackageUrl"], headers=headers)
    session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--clients", type=int, default=200, help="concurrent client threads")
    parser.add_argument("--courses", type=int, default=1000, help="generated catalog size")
    parser.add_argument("--threads", type=int, default=16, help="waitress worker threads")
    parser.add_argument("--cache-dir", help="package cache (default: a fresh temp dir)")
    args = parser.parse_args()

    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="cckit-bench-")
    command = [
        sys.executable, "-m", "cckit", "vendor", "serve", "--port", "0",
        "--courses", str(args.courses), "--cache-dir", cache_dir,
        "--threads", str(args.threads),
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    start_seconds = time.perf_counter() - started
    if not first:
        print("the mock vendor did not start", file=sys.stderr)
        return 1
    info = json.loads(first)
    # Keep draining stdout so the server never blocks on a full pipe.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    print(f"start: {args.courses} generated courses, first JSON line after {start_seconds:.2f} s")

    stats = Stats()
    deadline = time.monotonic() + args.duration
    load_started = time.perf_counter()
    workers = [
        threading.Thread(target=client_loop, args=(info, stats, deadline, n), daemon=True)
        for n in range(args.clients)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - load_started

    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()

    everything = [value for values in stats.latencies.values() for value in values]
    total_errors = sum(stats.errors.values())
    print(f"load: {args.clients} clients for {elapsed:.1f} s, {args.threads} server threads")
    for operation in ("token", "list", "package"):
        values = stats.latencies.get(operation, [])
        print(
            f"  {operation:8s} {len(values):7d} requests  "
            f"p50 {percentile(values, 0.5) * 1000:8.1f} ms  "
            f"p99 {percentile(values, 0.99) * 1000:8.1f} ms  "
            f"errors {stats.errors.get(operation, 0)}"
        )
    mean = statistics.fmean(everything) * 1000 if everything else 0.0
    print(
        f"  total    {len(everything):7d} requests  {len(everything) / elapsed:8.1f} req/s  "
        f"p50 {percentile(everything, 0.5) * 1000:.1f} ms  "
        f"p99 {percentile(everything, 0.99) * 1000:.1f} ms  mean {mean:.1f} ms"
    )
    print(f"errors: {total_errors}")
    for sample in stats.error_samples:
        print(f"  {sample}")
    print(f"server exit code: {process.returncode}")
    if resource is not None:
        # The server is this script's only child: its CPU time says whether it was the
        # bottleneck (close to one core per second of load) or the clients were.
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime
        print(f"server CPU: {cpu:.1f} s ({cpu / elapsed:.0%} of one core during the load)")
    return 0 if total_errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
