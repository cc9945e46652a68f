"""Helpers of the distributed-mode tests: a fresh PostgreSQL database, worker processes.

The PostgreSQL tests need ``CCKIT_TEST_POSTGRES_URL`` (``.ci/run`` installs and starts a
server and sets it). Without it they skip, except when ``CCKIT_REQUIRE_POSTGRES=1``
(set by CI): then a missing server fails the run instead of hiding the tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url


def postgres_base_url() -> str:
    """The test server's URL, or skip (fail under CI) when there is none."""
    url = os.environ.get("CCKIT_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CCKIT_REQUIRE_POSTGRES") == "1":
            pytest.fail("CCKIT_REQUIRE_POSTGRES=1 but CCKIT_TEST_POSTGRES_URL is not set")
        pytest.skip("set CCKIT_TEST_POSTGRES_URL to run the distributed-mode tests")
    pytest.importorskip("procrastinate", reason="install the 'distributed' extra")
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty database on the test server (dropped afterwards)."""
    base = make_url(postgres_base_url())
    name = f"cckit_t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``predicate`` (bounded); fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


class Processes:
    """``cckit`` subprocesses (workers, the scheduler) stopped at the end of the test."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def cckit(self, *args: str, home: Path) -> subprocess.Popen[bytes]:
        with (self.logs / f"{args[0]}-{len(self.started)}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "cckit", *args],
                env={**self.env, "CCKIT_HOME": str(home)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started.append(process)
        return process

    def check(self, *, spare: tuple[subprocess.Popen[bytes], ...] = ()) -> None:
        """Fail at once when a process ended that should still run (its log says why)."""
        for process in self.started:
            if process not in spare and process.poll() is not None:
                pytest.fail(f"{process.args[3:5]} ended with {process.returncode}; see {self.logs}")

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class OwnCluster:
    """A throw-away PostgreSQL cluster in a temp dir (run as the ``postgres`` user)."""

    def __init__(self, root: Path) -> None:
        import glob
        import shutil
        import socket

        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins or shutil.which("runuser") is None:
            if os.environ.get("CCKIT_REQUIRE_POSTGRES") == "1":
                pytest.fail("no PostgreSQL server binaries for the restart test")
            pytest.skip("PostgreSQL server binaries are needed for the restart test")
        self.bin = Path(bins[-1])
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        shutil.chown(root, user="postgres")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._pg("initdb", "-D", str(root / "data"), "-A", "trust", "-U", "cckit")
        self.start()
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "cckit", "cat")
        self.url = f"postgresql+psycopg://cckit@127.0.0.1:{self.port}/cat"

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.root}"
        self._pg(
            "pg_ctl",
            "-D",
            str(self.root / "data"),
            "-l",
            str(self.root / "log"),
            "-w",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
