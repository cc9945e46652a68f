"""Shared test configuration: hypothesis profiles, connector store and mock vendor fixtures.

Property tests run the deterministic, bounded ``ci`` profile by default, so that
``python -m pytest`` runs the same examples as CI (``.ci/run``) on every machine. The
``explore`` profile (random examples, more of them, failures kept in the local
hypothesis database) is opt-in: ``HYPOTHESIS_PROFILE=explore python -m pytest``; see
CONTRIBUTING.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

hypothesis_settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile("explore", max_examples=300, deadline=None)
#: The former name of ``explore``.
hypothesis_settings.register_profile("dev", max_examples=300, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "ci")


# ---------------------------------------------------------------------------------------
# Connector store fixtures. A module that needs another store (PostgreSQL, a home under
# tmp_path without the environment) overrides ``settings`` or ``engine`` locally.


@pytest.fixture
def cckit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``CCKIT_HOME``; no database URL or secret key leaks in from the shell."""
    home = tmp_path / "home"
    monkeypatch.setenv("CCKIT_HOME", str(home))
    monkeypatch.delenv("CCKIT_DATABASE_URL", raising=False)
    monkeypatch.delenv("CCKIT_SECRET_KEY", raising=False)
    return home


@pytest.fixture
def settings(cckit_home: Path) -> Any:
    """Connector settings resolved from the isolated environment (SQLite in the home)."""
    from connector.config import Settings

    return Settings.resolve()


@pytest.fixture
def engine(settings: Any) -> Iterator[Any]:
    """The catalog store of ``settings``, schema created, disposed after the test."""
    from connector import db

    eng = db.connect(settings)
    yield eng
    eng.dispose()


# ---------------------------------------------------------------------------------------
# Mock vendor fixtures (owned by the mock_vendor wing). mock_vendor is imported inside
# the fixtures so that tests of other wings do not pay for Flask when they do not use it.

#: Config of the ``live_vendor`` fixture: 12 generated courses, 5 per page, small
#: packages, every JSON response checked against schemas/ (VALIDATE_RESPONSES).
LIVE_VENDOR_DEFAULTS = {
    "COURSES": 12,
    "SEED": 1,
    "PAGE_SIZE": 5,
    "MAX_ASSET_BYTES": 20_000,
    "VALIDATE_RESPONSES": True,
}


@pytest.fixture(scope="session")
def mock_vendor_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One package cache for the session, so generated zips are built once."""
    return tmp_path_factory.mktemp("mock-vendor-cache")


@pytest.fixture
def live_vendor_factory(mock_vendor_cache_dir: Path) -> Iterator[Callable[..., Any]]:
    """Start live mock vendors on 127.0.0.1 (free ports); all stop after the test.

    Call it with config overrides: ``vendor = live_vendor_factory(COURSES=3,
    FAULTS=["latency:10"])``. Keys default to :data:`LIVE_VENDOR_DEFAULTS` plus a
    session-wide ``CACHE_DIR``. Returns a :class:`mock_vendor.testing.LiveVendor`.
    """
    from contextlib import ExitStack

    from mock_vendor.testing import serve

    with ExitStack() as stack:

        def start(**config: Any) -> Any:
            merged = {**LIVE_VENDOR_DEFAULTS, "CACHE_DIR": str(mock_vendor_cache_dir), **config}
            return stack.enter_context(serve(merged))

        yield start


@pytest.fixture
def live_vendor(live_vendor_factory: Callable[..., Any]) -> Any:
    """A live mock vendor with a small generated catalog (see LIVE_VENDOR_DEFAULTS).

    Attributes: ``base_url``, ``auth_url``, ``course_list_url``, ``client_id``,
    ``client_secret``, ``admin_token``, ``app`` and ``admin`` (admin API client).
    """
    return live_vendor_factory()
