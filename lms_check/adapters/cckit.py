"""The LMS check adapter of cckit's own connector (and the example for other LMSs).

Usage (what ``cckit lms-check run`` calls)::

    cckit lms-check run \
        --sync-cmd "python -m lms_check.adapters.cckit sync" \
        --catalog-cmd "python -m lms_check.adapters.cckit catalog"

An adapter is a small program between the grader and a client. It reads the adapter
protocol's environment (``CCKIT_LMS_PROVIDER_URL``, ``CCKIT_LMS_AUTH_URL``,
``CCKIT_LMS_CLIENT_ID``, ``CCKIT_LMS_CLIENT_SECRET``, ``CCKIT_LMS_AUTH_MODE``,
``CCKIT_LMS_STATE_DIR``, ``CCKIT_LMS_SCENARIO``) and

- ``sync``: registers the vendor with the client on first use (the client keeps its
  state in ``CCKIT_LMS_STATE_DIR``), then runs one sync; its exit status is recorded;
- ``catalog``: prints the client's catalog as a JSON array of
  ``{"id", "active", "title", "package_sha256"}``.

This one drives the connector only through the ``cckit`` command line, in a subprocess,
with ``CCKIT_HOME`` inside the state folder; it never imports the connector.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

NAME = "lms-check"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["CCKIT_HOME"] = str(Path(os.environ["CCKIT_LMS_STATE_DIR"]) / "cckit-home")
    env.pop("CCKIT_DATABASE_URL", None)  # the state folder's SQLite, never a shared DB
    return env


def _cckit(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, arguments from the protocol
        [sys.executable, "-m", "cckit", *args],
        env=_env(),
        text=True,
        capture_output=capture,
        check=False,
    )


def register() -> int:
    """Register the scenario's vendor as integration ``lms-check`` (once per state folder)."""
    marker = Path(os.environ["CCKIT_LMS_STATE_DIR"]) / "cckit-registered"
    if marker.exists():
        return 0
    args = [
        "integrations", "add", "--name", NAME, "--provider", "LMS check",
        "--provider-url", os.environ["CCKIT_LMS_PROVIDER_URL"],
        "--client-id", os.environ["CCKIT_LMS_CLIENT_ID"],
        "--client-secret-env", "CCKIT_LMS_CLIENT_SECRET",
        "--auth-mode", os.environ.get("CCKIT_LMS_AUTH_MODE", "oauth2"),
        "--sync-time", "03:00",
    ]  # fmt: skip
    if os.environ.get("CCKIT_LMS_AUTH_URL"):
        args += ["--auth-url", os.environ["CCKIT_LMS_AUTH_URL"]]
    done = _cckit(*args, capture=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return done.returncode
    marker.touch()
    return 0


def sync() -> int:
    """One sync of the connector."""
    code = register()
    return code or _cckit("sync", NAME).returncode


def catalog() -> int:
    """Print the connector's catalog in the adapter protocol's shape."""
    done = _cckit("catalog", "list", "--inactive", "--format", "json", capture=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return done.returncode
    rows = json.loads(done.stdout or "[]")
    out = [
        {
            "id": row["id"],
            "active": bool(row["is_active"]),
            "title": row["title"],
            "package_sha256": row.get("package_sha256"),
        }
        for row in rows
    ]
    print(json.dumps(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m lms_check.adapters.cckit sync|catalog``."""
    args = sys.argv[1:] if argv is None else argv
    commands = {"sync": sync, "catalog": catalog}
    if len(args) != 1 or args[0] not in commands:
        sys.stderr.write("usage: python -m lms_check.adapters.cckit sync|catalog\n")
        return 2
    if "CCKIT_LMS_STATE_DIR" not in os.environ:
        sys.stderr.write("CCKIT_LMS_STATE_DIR is not set: run me from 'cckit lms-check run'\n")
        return 2
    return commands[args[0]]()


if __name__ == "__main__":
    raise SystemExit(main())
