"""The ``cckit`` face: version, help, and that every registered wing command loads."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

import cckit
from cckit.cli import WING_COMMANDS
from cckit.cli import main


def test_version_matches_package() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"cckit, version {cckit.__version__}"


def test_help_lists_every_wing_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in WING_COMMANDS:
        assert name in result.output


def test_every_wing_command_imports_and_has_help() -> None:
    for name in WING_COMMANDS:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_python_dash_m_runs_the_same_cli() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "cckit", "--version"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0
    assert cckit.__version__ in completed.stdout
