"""Load benchmark of ``cckit vendor serve`` against a plain static server, in one run.

1. **Start**: the mock vendor starts as a subprocess with a generated catalog (1,000
   courses by default); prints how long it took until its first JSON line (target: under
   10 s). Every package is then built into the cache (``--prebuild``) and one snapshot of
   what a client sees (the list pages, every package) is taken over HTTP.
2. **Load**: N client threads (200 by default) loop for a while (20 s by default), each:
   fetch a token (and again every 25 rounds), read up to three list pages following
   ``Link: rel="next"``, download one package. They run first against a plain
   standard-library server (``http.server``, threaded, HTTP/1.1) sending the snapshot's
   bytes, then against the mock. Prints requests/s, p50/p99 latency per operation and
   overall, the error count (target: 0) and the mock's CPU time per request, side by side.
3. **Walk**: a 46,012-course catalog in pages of 1,000 is walked with ``requests`` from
   the static server and from the mock (the first walk from the mock builds its page
   cache; the following ones are served from it). Prints the times and the ratio
   mock/static (target: at most 2).

Usage::

    python benchmarks/mock_vendor_load.py [--duration 20] [--clients 200] [--courses 1000]
        [--threads 16] [--walk-courses 46012] [--skip-walk] [--cold]

``--cold`` skips the prebuild, so packages are built by the first download during the
load (the mock's first run on an empty cache).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import http.server
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]


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


# ----------------------------------------------------------------------------- servers


class Server:
    """A server subprocess that prints one JSON line with its URLs first."""

    def __init__(self, command: list[str]) -> None:
        started = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        self.start_seconds = time.perf_counter() - started
        if not first:
            raise SystemExit(f"the server did not start: {' '.join(command)}")
        self.info: dict[str, Any] = json.loads(first)
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        self._cpu_before = _children_cpu()

    def stop(self) -> float:
        """Stop the server; returns the CPU seconds it used since it printed its line."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return _children_cpu() - self._cpu_before


def _children_cpu() -> float:
    if resource is None:
        return float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_mock(args: argparse.Namespace, cache_dir: str, *extra: str) -> Server:
    command = [
        sys.executable, "-m", "cckit", "vendor", "serve", "--port", "0",
        "--cache-dir", cache_dir, "--threads", str(args.threads), *extra,
    ]  # fmt: skip
    return Server(command)


def _token(info: dict[str, Any]) -> dict[str, str]:
    response = requests.post(
        info["auth_url"],
        data={"grant_type": "client_credentials"},
        auth=(info["client_id"], info["client_secret"]),
        timeout=60,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def snapshot(info: dict[str, Any], folder: Path, *, packages: bool) -> None:
    """Save the list pages (and packages) a client sees, for the static server.

    ``index.json`` maps each request path (with query) to a file and, for list pages, the
    path of the next page. The mock's base URL in the bodies becomes ``{BASE}``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    session.headers.update(_token(info))
    base = info["base_url"]
    index: dict[str, dict[str, Any]] = {}
    url: str | None = info["course_list_url"]
    number = 0
    package_urls: list[str] = []
    while url:
        response = session.get(url, timeout=120)
        response.raise_for_status()
        number += 1
        name = f"page-{number:05d}.json"
        (folder / name).write_bytes(response.content.replace(base.encode(), b"{BASE}"))
        next_url = response.links.get("next", {}).get("url")
        index[_local(url)] = {
            "file": name,
            "type": "application/json",
            "next": _local(next_url) if next_url else None,
        }
        package_urls.extend(c["DownloadPackageUrl"] for c in response.json() if c["IsActive"])
        url = next_url
    if packages:
        for number, package_url in enumerate(package_urls):
            name = f"package-{number:05d}.zip"
            with session.get(package_url, timeout=120, stream=True) as response:
                response.raise_for_status()
                with (folder / name).open("wb") as handle:
                    shutil.copyfileobj(response.raw, handle)
            index[_local(package_url)] = {"file": name, "type": "application/zip"}
    (folder / "index.json").write_text(json.dumps(index))
    session.close()


def _local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def static_serve(folder: Path) -> None:
    """Serve a snapshot with ``http.server`` (the baseline); prints its JSON line first."""
    index: dict[str, dict[str, Any]] = json.loads((folder / "index.json").read_text())
    bodies: dict[str, bytes] = {}
    token_body = json.dumps(
        {"access_token": "static-token", "token_type": "Bearer", "expires_in": 3600}
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(200, "application/json", token_body)

        def do_GET(self) -> None:
            entry = index.get(self.path)
            if entry is None:
                self._send(404, "application/json", b'{"error":"not_found"}')
                return
            path = folder / entry["file"]
            if entry["type"] == "application/zip":
                size = path.stat().st_size
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                with path.open("rb") as handle:
                    self.wfile.flush()
                    self.connection.sendfile(handle)
                return
            body = bodies.get(entry["file"])
            if body is None:
                body = path.read_bytes().replace(b"{BASE}", base.encode())
                bodies[entry["file"]] = body
            link = f'<{base}{entry["next"]}>; rel="next"' if entry["next"] else None
            self._send(200, "application/json", body, link)

        def _send(self, status: int, kind: str, body: bytes, link: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(body)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # the listen() backlog: 200 clients connect at once

    server = Server(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(
        json.dumps(
            {
                "base_url": base,
                "auth_url": f"{base}/oauth/token",
                "course_list_url": f"{base}/api/v1/courses",
                "client_id": "static",
                "client_secret": "static",
            }
        ),
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.serve_forever()


# ------------------------------------------------------------------------------- load


class Client:
    """One load client: keep-alive HTTP/1.1 connections with ``http.client``.

    The load generator shares the machine with the server under test, so it uses the
    leanest standard-library client (``requests`` costs several times more CPU per
    request); the walk below uses ``requests``, as an LMS would.
    """

    def __init__(self) -> None:
        self.connections: dict[str, http.client.HTTPConnection] = {}

    def request(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        parts = urlsplit(url)
        connection = self.connections.pop(parts.netloc, None) or http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=60
        )
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self.connections[parts.netloc] = connection
        return response.status, response.headers, data

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()


_NEXT = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')


def client_loop(info: dict[str, Any], stats: Stats, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    client = Client()
    basic = base64.b64encode(f"{info['client_id']}:{info['client_secret']}".encode()).decode()
    token_headers = {
        "Authorization": f"Basic {basic}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    headers: dict[str, str] = {}
    rounds = 0

    def timed(
        operation: str, method: str, url: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes] | None:
        started = time.perf_counter()
        try:
            answer = client.request(method, url, headers, body)
        except (OSError, http.client.HTTPException) as exc:
            stats.record(operation, time.perf_counter() - started, False, repr(exc))
            return None
        stats.record(operation, time.perf_counter() - started, answer[0] < 400, str(answer[0]))
        return answer

    while time.monotonic() < deadline:
        if not headers or rounds % 25 == 0:
            answer = timed(
                "token", "POST", info["auth_url"], token_headers, b"grant_type=client_credentials"
            )
            if answer is None or answer[0] != 200:
                time.sleep(0.2)
                continue
            headers = {"Authorization": f"Bearer {json.loads(answer[2])['access_token']}"}
        rounds += 1
        url: str | None = info["course_list_url"]
        courses: list[dict[str, Any]] = []
        for _ in range(3):
            if url is None or time.monotonic() >= deadline:
                break
            answer = timed("list", "GET", url, headers)
            if answer is None or answer[0] != 200:
                break
            courses.extend(json.loads(answer[2]))
            found = _NEXT.search(answer[1].get("Link") or "")
            url = found.group(1) if found else None
        active = [c for c in courses if c.get("DownloadPackageUrl")]
        if active and time.monotonic() < deadline:
            course = rng.choice(active)
            timed("package", "GET", course["DownloadPackageUrl"], headers)
    client.close()


def _client_process(
    info: dict[str, Any], first: int, count: int, deadline: float, queue: Any
) -> None:
    stats = Stats()
    workers = [
        threading.Thread(target=client_loop, args=(info, stats, deadline, n), daemon=True)
        for n in range(first, first + count)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((dict(stats.latencies), dict(stats.errors), stats.error_samples))


def run_load(
    info: dict[str, Any], clients: int, duration: float, processes: int
) -> tuple[Stats, float]:
    """Run ``clients`` client threads spread over ``processes`` processes (no shared GIL)."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    deadline = time.monotonic() + duration  # CLOCK_MONOTONIC: the same in every process
    started = time.perf_counter()
    share = [clients // processes + (1 if n < clients % processes else 0) for n in range(processes)]
    children = []
    first = 0
    for count in share:
        child = context.Process(
            target=_client_process, args=(info, first, count, deadline, queue), daemon=True
        )
        child.start()
        children.append(child)
        first += count
    stats = Stats()
    for _ in children:
        latencies, errors, samples = queue.get(timeout=duration + 300)
        for operation, values in latencies.items():
            stats.latencies[operation].extend(values)
        for operation, number in errors.items():
            stats.errors[operation] += number
        stats.error_samples.extend(samples[: 10 - len(stats.error_samples)])
    for child in children:
        child.join(timeout=30)
    return stats, time.perf_counter() - started


def summary(stats: Stats, elapsed: float) -> dict[str, Any]:
    everything = [value for values in stats.latencies.values() for value in values]
    result: dict[str, Any] = {
        "requests": len(everything),
        "rate": len(everything) / elapsed,
        "p50": percentile(everything, 0.5) * 1000,
        "p99": percentile(everything, 0.99) * 1000,
        "mean": statistics.fmean(everything) * 1000 if everything else 0.0,
        "errors": sum(stats.errors.values()),
    }
    for operation in ("token", "list", "package"):
        values = stats.latencies.get(operation, [])
        result[operation] = (
            len(values),
            percentile(values, 0.5) * 1000,
            percentile(values, 0.99) * 1000,
            stats.errors.get(operation, 0),
        )
    return result


def print_load(static: dict[str, Any], mock: dict[str, Any]) -> None:
    print(f"  {'':9s}{'static (http.server)':>44s}   {'mock vendor':>44s}")
    for operation in ("token", "list", "package"):
        cells = []
        for figures in (static, mock):
            count, p50, p99, errors = figures[operation]
            cells.append(f"{count:7d} req p50 {p50:7.1f} p99 {p99:7.1f} ms err {errors}")
        print(f"  {operation:9s}{cells[0]:>44s}   {cells[1]:>44s}")
    cells = [
        f"{f['rate']:7.1f} req/s p50 {f['p50']:7.1f} p99 {f['p99']:7.1f} ms" for f in (static, mock)
    ]
    print(f"  {'total':9s}{cells[0]:>44s}   {cells[1]:>44s}")
    print(
        f"  {'requests':9s}{static['requests']:>44d}   {mock['requests']:>44d}\n"
        f"  {'errors':9s}{static['errors']:>44d}   {mock['errors']:>44d}"
    )
    if static["rate"]:
        print(f"  throughput mock/static: {mock['rate'] / static['rate']:.2f}")


# ------------------------------------------------------------------------------- walk


def walk(info: dict[str, Any], headers: dict[str, str]) -> tuple[float, int]:
    """Seconds to walk the whole list with one ``requests`` session; and the course count."""
    session = requests.Session()
    session.headers.update(headers)
    started = time.perf_counter()
    url: str | None = info["course_list_url"]
    count = 0
    while url:
        response = session.get(url, timeout=120)
        response.raise_for_status()
        count += len(response.json())
        url = response.links.get("next", {}).get("url")
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed, count


def run_walk(args: argparse.Namespace, work: Path) -> None:
    cache = str(work / "walk-cache")
    mock = start_mock(
        args, cache, "--courses", str(args.walk_courses), "--page-size", str(args.walk_page)
    )
    print(
        f"\nwalk: {args.walk_courses} generated courses, pages of {args.walk_page}; "
        f"mock started in {mock.start_seconds:.2f} s"
    )
    headers = _token(mock.info)
    cold, count = walk(mock.info, headers)
    warm = [walk(mock.info, headers)[0] for _ in range(args.walk_repeat)]
    snapshot(mock.info, work / "walk-snapshot", packages=False)
    mock.stop()
    static = Server([sys.executable, __file__, "--static-serve", str(work / "walk-snapshot")])
    static_times = [walk(static.info, {})[0] for _ in range(args.walk_repeat)]
    static.stop()
    best_static = statistics.median(static_times)
    print(f"  courses walked: {count}")
    print(f"  static server          median {best_static:.3f} s  ({_times(static_times)})")
    print(f"  mock, first walk       {cold:.3f} s  (builds the page cache)")
    print(f"  mock, following walks  median {statistics.median(warm):.3f} s  ({_times(warm)})")
    print(
        f"  ratio mock/static: first walk {cold / best_static:.2f}, "
        f"following walks {statistics.median(warm) / best_static:.2f} (target <= 2)"
    )


def _times(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


# ------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load, each")
    parser.add_argument("--clients", type=int, default=200, help="concurrent client threads")
    parser.add_argument("--courses", type=int, default=1000, help="generated catalog size")
    parser.add_argument("--threads", type=int, default=16, help="waitress worker threads")
    parser.add_argument(
        "--client-processes", type=int, default=4, help="processes the clients are spread over"
    )
    parser.add_argument("--cold", action="store_true", help="no prebuild: cold package cache")
    parser.add_argument("--skip-walk", action="store_true", help="no 46k-course walk")
    parser.add_argument("--skip-static", action="store_true", help="no static baseline load")
    parser.add_argument("--walk-courses", type=int, default=46_012)
    parser.add_argument("--walk-page", type=int, default=1000)
    parser.add_argument("--walk-repeat", type=int, default=5)
    parser.add_argument("--static-serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.static_serve:
        static_serve(args.static_serve)
        return 0

    work = Path(tempfile.mkdtemp(prefix="cckit-bench-"))
    try:
        return _benchmark(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _benchmark(args: argparse.Namespace, work: Path) -> int:
    cache = str(work / "cache")
    mock = start_mock(args, cache, "--courses", str(args.courses))
    print(
        f"start: {args.courses} generated courses, first JSON line after {mock.start_seconds:.2f} s"
    )
    started = time.perf_counter()
    snapshot(mock.info, work / "snapshot", packages=True)
    mock.stop()
    seconds = time.perf_counter() - started
    print(f"snapshot: list pages and packages built and saved in {seconds:.1f} s")
    if args.cold:
        shutil.rmtree(cache)

    if args.skip_static:
        static_figures = summary(Stats(), 1.0)
    else:
        static = Server([sys.executable, __file__, "--static-serve", str(work / "snapshot")])
        stats, elapsed = run_load(static.info, args.clients, args.duration, args.client_processes)
        static_cpu = static.stop()
        static_figures = summary(stats, elapsed)
        static_figures["cpu"] = static_cpu

    mock = start_mock(args, cache, "--courses", str(args.courses))
    stats, elapsed = run_load(mock.info, args.clients, args.duration, args.client_processes)
    cpu = mock.stop()
    mock_figures = summary(stats, elapsed)
    cache_state = "cold package cache" if args.cold else "packages cached on disk"
    print(
        f"\nload: {args.clients} clients in {args.client_processes} processes for "
        f"{args.duration:.0f} s against each server; "
        f"mock with {args.threads} threads, {cache_state}"
    )
    print_load(static_figures, mock_figures)
    per_request = cpu / mock_figures["requests"] * 1000 if mock_figures["requests"] else 0.0
    print(
        f"  mock server CPU: {cpu:.1f} s for {mock_figures['requests']} requests "
        f"({per_request:.1f} ms per request, {cpu / elapsed:.0%} of one core)"
    )
    if static_figures.get("cpu") and static_figures["requests"]:
        cpu = static_figures["cpu"]
        print(
            f"  static server CPU: {cpu:.1f} s for {static_figures['requests']} requests "
            f"({cpu / static_figures['requests'] * 1000:.1f} ms per request)"
        )
    for sample in stats.error_samples:
        print(f"  {sample}")
    if not args.skip_walk:
        run_walk(args, work)
    if os.cpu_count():
        print(f"\nmachine: {os.cpu_count()} CPUs, load average {_loadavg()}")
    return 0 if mock_figures["errors"] == 0 else 1


def _loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
