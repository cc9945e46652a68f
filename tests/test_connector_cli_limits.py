"""`cckit integrations add/update --limit NAME=VALUE`: checked at input, used by the sync."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from cckit.cli import main

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("cckit_home")]


def _cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _add(vendor: Any, *extra: str) -> Any:
    return _cli(
        "integrations", "add", "--name", "mock", "--provider", "Mock",
        "--provider-url", vendor.course_list_url, "--auth-url", vendor.auth_url,
        "--client-id", vendor.client_id, "--client-secret-env", "MOCK_SECRET",
        "--sync-time", "03:00", *extra,
        env={"MOCK_SECRET": vendor.client_secret},
    )  # fmt: skip


def _limits() -> dict[str, Any]:
    shown = _cli("integrations", "show", "mock", "--format", "json")
    assert shown.exit_code == 0, shown.output
    limits: dict[str, Any] = json.loads(shown.stdout)["limits"]
    return limits


def test_limits_are_stored_merged_and_reset(live_vendor: Any) -> None:
    added = _add(live_vendor, "--limit", "read_timeout_s=60", "--limit", "attempts=2")
    assert added.exit_code == 0, added.output
    assert _limits() == {"read_timeout_s": 60.0, "attempts": 2}
    updated = _cli("integrations", "update", "mock", "--limit", "max_redirects=3")
    assert updated.exit_code == 0, updated.output
    assert _limits() == {"read_timeout_s": 60.0, "attempts": 2, "max_redirects": 3}
    reset = _cli(
        "integrations", "update", "mock", "--limit", "attempts=default",
        "--limit", "read_timeout_s=30",  # the default value: no override left
    )  # fmt: skip
    assert reset.exit_code == 0, reset.output
    assert _limits() == {"max_redirects": 3}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("max_page_size=5", "unknown limit 'max_page_size'"),
        ("attempts=0", "limit attempts: 0 must be above 0"),
        ("read_timeout_s=soon", "limit read_timeout_s: 'soon' is not a number"),
        ("attempts", "--limit wants NAME=VALUE"),
    ],
)
def test_bad_limits_are_refused_in_one_line(live_vendor: Any, option: str, message: str) -> None:
    result = _add(live_vendor, "--limit", option)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    listed = _cli("integrations", "list", "--format", "json")
    assert "mock" not in listed.output


def test_the_sync_uses_the_stored_limits(live_vendor: Any) -> None:
    assert _add(live_vendor, "--limit", "max_page_bytes=100").exit_code == 0
    result = _cli("sync", "mock", "--format", "json")
    run = json.loads(result.stdout)
    assert run["status"] == "failed"
    assert "limit max_page_bytes=100" in run["error"]
