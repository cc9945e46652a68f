"""Connector CLI errors a person can act on (issue 14, item 5): one line, no library noise."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cckit.cli import main

ADD = [
    "integrations",
    "add",
    "--name",
    "acme",
    "--provider",
    "Acme",
    "--provider-url",
    "https://vendor.example/courses",
    "--auth-url",
    "https://vendor.example/token",
    "--client-id",
    "id",
    "--sync-time",
    "02:00",
]


def _cckit(
    home: Path, *args: str, stdin: Any = subprocess.DEVNULL, input: str | None = None
) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCKIT_")}
    env["CCKIT_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "cckit", *args],
        env=env,
        stdin=None if input is not None else stdin,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_non_interactive_add_without_a_secret_is_one_clear_line(tmp_path: Path) -> None:
    result = _cckit(tmp_path / "home", *ADD)  # stdin is /dev/null: no terminal, no secret
    assert result.returncode == 2
    assert "Warning" not in result.stderr  # getpass's GetPassWarning
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no Client Secret" in lines[0]
    assert "--client-secret-env" in lines[0]
    listed = _cckit(tmp_path / "home", "integrations", "list", "--format", "json")
    assert json.loads(listed.stdout or "[]") == []  # nothing registered


def test_a_secret_piped_on_stdin_is_read_without_warning(tmp_path: Path) -> None:
    result = _cckit(tmp_path / "home", *ADD, input="piped-secret\n")
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    assert "piped-secret" not in result.stdout + result.stderr


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CCKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CCKIT_DATABASE_URL", raising=False)
    monkeypatch.delenv("CCKIT_SECRET_KEY", raising=False)
    return tmp_path / "home"


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.mark.usefixtures("home")
def test_update_without_an_option_says_nothing_changed() -> None:
    assert _cli(*ADD, "--client-secret", "s").exit_code == 0
    before = json.loads(_cli("integrations", "show", "acme", "--format", "json").output)
    result = _cli("integrations", "update", "acme")
    assert result.exit_code == 2
    assert "Updated" not in result.output
    assert "nothing to change" in result.output
    after = json.loads(_cli("integrations", "show", "acme", "--format", "json").output)
    assert after == before
    changed = _cli("integrations", "update", "acme", "--sync-time", "03:00")
    assert changed.exit_code == 0
    assert "Updated integration acme." in changed.output


def test_library_info_lines_only_with_verbose() -> None:
    from connector.cli._common import setup_logging

    try:
        setup_logging(verbose=False)
        for name in ("apscheduler.scheduler", "apscheduler.executors.default", "alembic"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger("connector.scheduler").isEnabledFor(logging.INFO)
        setup_logging(verbose=True)
        assert logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.INFO)
    finally:
        for name in ("apscheduler", "alembic"):
            logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger().setLevel(logging.WARNING)


@pytest.mark.live
def test_a_sync_publishes_content_a_web_server_in_the_group_can_serve(
    live_vendor: Any, home: Path
) -> None:
    """Home 0750, content folders 0750, files 0640, catalog 0600: whatever the umask."""
    previous = os.umask(0o002)
    try:
        added = CliRunner().invoke(
            main,
            [
                *ADD[:6],
                "--provider-url",
                live_vendor.course_list_url,
                "--auth-url",
                live_vendor.auth_url,
                "--client-id",
                live_vendor.client_id,
                "--client-secret-env",
                "MOCK_SECRET",
                "--sync-time",
                "02:00",
            ],
            env={"MOCK_SECRET": live_vendor.client_secret},
        )
        assert added.exit_code == 0, added.output
        synced = _cli("sync", "acme")
    finally:
        os.umask(previous)
    assert synced.exit_code == 0, synced.output
    content = home / "content"
    folders = [content, *[p for p in content.rglob("*") if p.is_dir()]]
    files = [p for p in content.rglob("*") if p.is_file()]
    assert len(files) > 10
    assert {oct(p.stat().st_mode & 0o777) for p in folders} == {"0o750"}
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o640"}
    assert oct(home.stat().st_mode & 0o777) == "0o750"
    assert oct((home / "catalog.sqlite3").stat().st_mode & 0o777) == "0o600"
    assert oct((home / "secret.key").stat().st_mode & 0o777) == "0o600"
