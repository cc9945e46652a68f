"""``cckit demo``: the whole story on one machine, against the mock vendor.

1. Start the mock vendor (``cckit vendor serve``) as a subprocess on 127.0.0.1, port 0,
   with a generated catalog; read its first stdout line (URLs and credentials).
2. Register an integration with the seven fields and sync: every active course is
   published.
3. Change the vendor through its admin API over HTTP (a new title, a deactivated course,
   a replaced package), sync again and print what changed.
4. When the conformance suite is installed (``cckit conformance``), run it against the
   mock and show its table.

The connector never imports ``mock_vendor`` or ``conformance``: both run as
subprocesses of ``python -m cckit``. The mock is stopped (SIGTERM) whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import requests
from sqlalchemy.engine import Engine

from connector import catalog
from connector import db
from connector import integrations
from connector.config import Settings
from connector.errors import ConnectorError
from connector.secrets import Secret

#: How long the mock may take to print its first line.
START_TIMEOUT = 60.0
DEMO_INTEGRATION = "demo-vendor"
#: Where ``cckit demo --keep`` leaves its results (relative to the current directory).
KEEP_DIR = "cckit-demo"

Echo = Callable[[str], None]


class DemoError(ConnectorError):
    """A demo step failed (the message says which)."""


@dataclass(frozen=True)
class VendorProcess:
    """The running mock vendor and what its first stdout line told us."""

    process: subprocess.Popen[str]
    info: dict[str, Any]

    @property
    def admin_url(self) -> str:
        """The admin API's base URL (``.../_admin``)."""
        return str(self.info["admin_url"]).rstrip("/")

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the mock's admin API; raises DemoError on a non-2xx answer."""
        token = self.info.get("admin_token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = f"{self.admin_url}/{path.lstrip('/')}"
        try:
            response = requests.request(method, url, headers=headers, timeout=60, **kwargs)
        except requests.RequestException as exc:
            raise DemoError(f"admin API {method} {url}: {type(exc).__name__}") from None
        if not response.ok:
            raise DemoError(f"admin API {method} {url} answered {response.status_code}")
        return response.json() if response.content else None


def _cckit(*args: str) -> list[str]:
    return [sys.executable, "-m", "cckit", *args]


def _read_first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """Read the mock's first stdout line without hanging if it never comes."""
    if process.stdout is None:  # pragma: no cover - we always pass stdout=PIPE
        raise DemoError("the mock vendor has no stdout")
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                return process.stdout.readline()
            if process.poll() is not None:
                break
    finally:
        selector.close()
    return ""


@contextlib.contextmanager
def start_vendor(workdir: Path, courses: int, seed: int) -> Iterator[VendorProcess]:
    """Run ``cckit vendor serve`` on a free loopback port until the block ends."""
    log_path = workdir / "mock-vendor.log"
    command = _cckit(
        "vendor",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--courses",
        str(courses),
        "--seed",
        str(seed),
        "--page-size",
        "5",
        "--cache-dir",
        str(workdir / "vendor-cache"),
    )
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            line = _read_first_line(process, START_TIMEOUT)
            try:
                info = json.loads(line)
            except json.JSONDecodeError:
                raise DemoError(
                    f"the mock vendor did not start (see {log_path}): {line.strip()[:200]!r}"
                ) from None
            if not isinstance(info, dict) or "course_list_url" not in info:
                raise DemoError("the mock vendor's first line lacks course_list_url")
            yield VendorProcess(process, info)
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
    if process.stdout is not None:
        process.stdout.close()


def _snapshot(engine: Any) -> dict[str, dict[str, Any]]:
    """Title, active flag and current package sha256 of every course."""
    rows = catalog.list_courses(engine, integration=DEMO_INTEGRATION, include_inactive=True)
    snapshot = {}
    for row in rows:
        detail = catalog.get_course(engine, row["id"], integration=DEMO_INTEGRATION)
        package = detail["current_package"]
        snapshot[row["id"]] = {
            "title": row["title"],
            "active": row["is_active"],
            "sha256": package["sha256"] if package else None,
        }
    return snapshot


def describe_changes(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> list[str]:
    """Lines saying what changed in the catalog between two snapshots."""
    lines = []
    for vendor_id in sorted(set(before) | set(after)):
        old, new = before.get(vendor_id), after.get(vendor_id)
        if old is None and new is not None:
            lines.append(f"new course      {vendor_id}: {new['title']!r}")
            continue
        if old is None or new is None:
            continue
        if old["title"] != new["title"]:
            lines.append(f"title changed   {vendor_id}: {old['title']!r} -> {new['title']!r}")
        if old["active"] and not new["active"]:
            lines.append(f"deactivated     {vendor_id} (content kept)")
        if not old["active"] and new["active"]:
            lines.append(f"reactivated     {vendor_id}")
        if old["sha256"] != new["sha256"]:
            was = (old["sha256"] or "none")[:12]
            now = (new["sha256"] or "none")[:12]
            lines.append(f"new package     {vendor_id}: {was} -> {now}")
    return lines


def _conformance_available() -> bool:
    try:
        probe = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            _cckit("conformance", "run", "--help"),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _run_conformance(vendor: VendorProcess, echo: Echo) -> int:
    """Run ``cckit conformance run`` against the mock; returns its exit status.

    The client secret goes through the suite's ``CCKIT_CLIENT_SECRET`` environment
    variable, which keeps it off the command line and out of the process list.
    """
    info = vendor.info
    secret = str(info.get("client_secret") or "")
    args = [
        "conformance",
        "run",
        "--course-list-url",
        str(info["course_list_url"]),
        "--client-id",
        str(info["client_id"]),
        "--auth-mode",
        str(info.get("auth_mode") or "oauth2"),
    ]
    if info.get("auth_url"):
        args += ["--auth-url", str(info["auth_url"])]
    completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        _cckit(*args),
        capture_output=True,
        text=True,
        env={**os.environ, "CCKIT_CLIENT_SECRET": secret},
        timeout=1800,
        check=False,
    )
    for stream in (completed.stdout, completed.stderr):
        text = stream.replace(secret, "***") if secret else stream
        for line in text.rstrip().splitlines():
            echo(f"   {line}")
    return completed.returncode


def run_demo(
    workdir: Path | None = None,
    *,
    echo: Echo = print,
    courses: int = 12,
    seed: int = 7,
    conformance: bool = True,
) -> int:
    """Run the demo; returns the exit status (0 when every step succeeded).

    Args:
        workdir: Where CCKIT_HOME (database, key, content) and the mock's files go; a
            temporary directory (removed afterwards) when ``None``.
        echo: Where to print.
        courses: Size of the mock's generated catalog.
        seed: Seed of the generated catalog.
        conformance: Run the conformance suite when it is installed.
    """
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="cckit-demo-") as tmp:
            status = _demo(Path(tmp), echo, courses, seed, conformance)
        echo("The temporary directory was removed; keep the results with --workdir DIR.")
        return status
    workdir.mkdir(parents=True, exist_ok=True)
    return _demo(workdir.absolute(), echo, courses, seed, conformance)


def _demo(workdir: Path, echo: Echo, courses: int, seed: int, conformance: bool) -> int:
    home = workdir / "home"
    # An explicit database URL: the demo must never write into $CCKIT_DATABASE_URL.
    settings = Settings.resolve(home=home, db_url=f"sqlite:///{home / 'catalog.sqlite3'}")
    settings.ensure_home()
    engine = db.connect(settings)
    echo(f"cckit demo: working in {workdir} (CCKIT_HOME={settings.home})")
    try:
        status = _steps(workdir, settings, engine, echo, courses, seed, conformance)
    finally:
        engine.dispose()
    echo("Mock vendor stopped.")
    echo(
        f"Done: catalog database {settings.safe_database_url}, content under {settings.content_dir}"
    )
    return status


def _steps(
    workdir: Path,
    settings: Settings,
    engine: Engine,
    echo: Echo,
    courses: int,
    seed: int,
    conformance: bool,
) -> int:
    from connector.cli.catalog import format_catalog
    from connector.sync import sync

    status = 0
    with start_vendor(workdir, courses, seed) as vendor:
        info = vendor.info
        echo(f"1. Mock vendor running at {info['base_url']} ({courses} generated courses)")
        secret = info.get("client_secret")
        if not secret:
            raise DemoError("the mock vendor did not print a generated client secret")
        with contextlib.suppress(ConnectorError):
            integrations.remove(engine, settings, DEMO_INTEGRATION)  # a re-run in --workdir
        item = integrations.add(
            engine,
            settings,
            name=DEMO_INTEGRATION,
            provider="cckit mock vendor",
            provider_url=str(info["course_list_url"]),
            auth_url=info.get("auth_url"),
            client_id=str(info["client_id"]),
            client_secret=Secret(str(secret)),
            sync_time="02:00",
            timezone="UTC",
            auth_mode=str(info.get("auth_mode") or "oauth2"),
        )
        echo(
            f"2. Registered integration {item.name}: Provider URL {item.provider_url}, "
            f"Authentication URL {item.auth_url}, Client ID {item.client_id}, "
            f"Client Secret ***, Sync Time {item.sync_time_text} {item.timezone}"
        )

        first = sync(engine, settings, item)
        echo(
            f"3. First sync: run {first.run_id} {first.status}: {_counts(first.counts)}; "
            f"{first.downloads} package(s) downloaded"
        )
        _echo_failures(first.to_dict(), echo)
        if not first.ok:
            status = 1
        published = catalog.list_courses(engine, integration=DEMO_INTEGRATION)
        echo("")
        echo(format_catalog(published) if published else "The catalog is empty.")
        echo("")

        before = _snapshot(engine)
        active = [vid for vid, row in sorted(before.items()) if row["active"] and row["sha256"]]
        if len(active) < 3:
            echo("Stopping: the first sync did not publish the 3 courses the next steps change.")
            return 1
        retitled, withdrawn, repackaged = active[0], active[1], active[2]
        new_title = f"{before[retitled]['title']} (revised)"
        vendor.admin("PATCH", f"courses/{retitled}", json={"Title": new_title})
        vendor.admin("POST", f"courses/{withdrawn}/deactivate")
        vendor.admin("PUT", f"courses/{repackaged}/package", data=b"")
        echo(
            f"4. Changed the vendor through its admin API: new title for {retitled}, "
            f"deactivated {withdrawn}, replaced the package of {repackaged}"
        )

        second = sync(engine, settings, integrations.get(engine, settings, DEMO_INTEGRATION))
        echo(
            f"5. Second sync: run {second.run_id} {second.status}: {_counts(second.counts)}; "
            f"{second.downloads} package(s) downloaded, {second.requests} request(s)"
        )
        _echo_failures(second.to_dict(), echo)
        if not second.ok:
            status = 1
        echo("What changed:")
        changes = describe_changes(before, _snapshot(engine))
        for line in changes or ["nothing"]:
            echo(f"  {line}")
        echo("")

        if not conformance:
            echo("6. Conformance suite: skipped (--no-conformance)")
        elif _conformance_available():
            echo("6. Conformance suite against the mock vendor:")
            code = _run_conformance(vendor, echo)
            if code != 0:
                echo(f"   the conformance run exited with {code}")
                status = 1
        else:
            echo(
                "6. Conformance suite: not installed in this build (`cckit conformance` is "
                "missing); skipped"
            )
    return status


def _counts(counts: dict[str, int]) -> str:
    shown = [f"{k} {v}" for k, v in counts.items() if v]
    return ", ".join(shown) or "nothing to do"


def _echo_failures(record: dict[str, Any], echo: Echo) -> None:
    if record.get("error"):
        echo(f"   error: {record['error']}")
    for outcome in record.get("outcomes", []):
        if outcome["outcome"] == "failed":
            echo(f"   failed {outcome['id']}: {outcome['reason']}")


__all__ = ["DemoError", "describe_changes", "run_demo", "start_vendor"]


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's home (database, key, content) here; default: a temporary directory.",
)
@click.option("--courses", type=click.IntRange(3, 500), default=12, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--no-conformance", is_flag=True, help="Skip the conformance suite step.")
@click.option(
    "--keep",
    is_flag=True,
    help=f"Keep the results in ./{KEEP_DIR} (when no --workdir) to open with cckit console.",
)
def demo(workdir: Path | None, courses: int, seed: int, no_conformance: bool, keep: bool) -> None:
    """Start the mock vendor, register it, sync, change it, sync again, check conformance."""
    from connector.cli._common import errors
    from connector.cli._common import setup_logging

    setup_logging(verbose=False, level=logging.WARNING)
    with errors():
        if keep and workdir is None:
            workdir = Path(KEEP_DIR)
        status = run_demo(
            workdir, echo=click.echo, courses=courses, seed=seed, conformance=not no_conformance
        )
    if workdir is not None:
        home = workdir.absolute() / "home"
        click.echo(f"Manage this catalog in a browser: cckit console --home {home}")
    sys.exit(status)
