"""`cckit demo` end to end: a subprocess against the real mock vendor (also a subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cckit.demo import describe_changes
from connector import db
from connector import integrations
from connector.config import Settings

pytestmark = [pytest.mark.live, pytest.mark.slow]


def test_describe_changes_lines() -> None:
    before = {
        "A": {"title": "Old", "active": True, "sha256": "1" * 64},
        "B": {"title": "B", "active": True, "sha256": "2" * 64},
        "C": {"title": "C", "active": True, "sha256": "3" * 64},
        "D": {"title": "D", "active": True, "sha256": "4" * 64},
    }
    after = {
        "A": {"title": "New", "active": True, "sha256": "1" * 64},
        "B": {"title": "B", "active": False, "sha256": "2" * 64},
        "C": {"title": "C", "active": True, "sha256": "5" * 64},
        "D": {"title": "D", "active": True, "sha256": "4" * 64},
        "E": {"title": "E", "active": True, "sha256": "6" * 64},
    }
    assert describe_changes(before, after) == [
        "title changed   A: 'Old' -> 'New'",
        "deactivated     B (content kept)",
        "new package     C: 333333333333 -> 555555555555",
        "new course      E: 'E'",
    ]
    assert describe_changes(before, before) == []


def test_demo_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCKIT_SECRET_KEY", raising=False)  # the demo used its key file
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCKIT_")}
    env["CCKIT_HOME"] = str(tmp_path / "must-not-be-used")
    completed = subprocess.run(
        [sys.executable, "-m", "cckit", "demo", "--workdir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
        check=False,
    )
    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr
    assert "1. Mock vendor running at http://127.0.0.1:" in out
    assert "2. Registered integration demo-vendor" in out
    assert re.search(r"3\. First sync: run 1 succeeded: new \d+", out)
    assert re.search(r"5\. Second sync: run 2 succeeded", out)
    changed = out.split("What changed:", 1)[1]
    assert re.search(r"title changed\s+CRS-\d+: '.*' -> '.* \(revised\)'", changed)
    assert re.search(r"deactivated\s+CRS-\d+ \(content kept\)", changed)
    assert re.search(r"new package\s+CRS-\d+: [0-9a-f]{12} -> [0-9a-f]{12}", changed)
    assert "Mock vendor stopped." in out
    assert "6. Conformance suite" in out
    # The demo's state lives in --workdir, never in $CCKIT_HOME.
    assert (tmp_path / "demo" / "home" / "catalog.sqlite3").is_file()
    assert any((tmp_path / "demo" / "home" / "content").iterdir())
    assert not (tmp_path / "must-not-be-used").exists()
    assert "Traceback" not in out + completed.stderr
    # The vendor's client secret (stored encrypted in the demo's home) is never printed.
    settings = Settings.resolve(home=tmp_path / "demo" / "home", environ={})
    engine = db.connect(settings)
    secret = integrations.get(engine, settings, "demo-vendor").client_secret.reveal()
    engine.dispose()
    assert secret
    assert secret not in out + completed.stderr
