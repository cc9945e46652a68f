"""Per-app state of the mock vendor: tenants, their catalogs, tokens, faults, journal.

One :class:`VendorState` lives on ``app.extensions["mock_vendor"]`` (:func:`get_state`).
The server is threaded, so every read-modify-write of the state happens under
:attr:`VendorState.lock` (a re-entrant lock); package bytes are built outside it, under a
per-package lock. The journal has a lock of its own so that recording a request never
waits for a list page being built.

The catalog objects (:class:`~mock_vendor.model.Tenant`, :class:`~mock_vendor.model.CourseRecord`,
:class:`~mock_vendor.model.Package`) live in :mod:`mock_vendor.model` and are re-exported here.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections import OrderedDict
from collections import deque
from collections.abc import Hashable
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import flask
import platformdirs

from mock_vendor.clock import MockClock
from mock_vendor.clock import format_instant
from mock_vendor.clock import parse_instant
from mock_vendor.config import FEATURE_KEYS
from mock_vendor.config import PACKAGE_ORIGIN_MODES
from mock_vendor.errors import ConfigError
from mock_vendor.faults import FaultSet
from mock_vendor.faults import make_fault
from mock_vendor.faults import parse_fault
from mock_vendor.model import COURSE_FIELDS
from mock_vendor.model import CourseRecord
from mock_vendor.model import Package
from mock_vendor.model import PackageInfo
from mock_vendor.model import Rebuild
from mock_vendor.model import Tenant
from mock_vendor.model import TokenRecord
from mock_vendor.sources import build_catalog

#: Key of the state in ``app.extensions``.
EXTENSION = "mock_vendor"

#: Serialised list pages kept (each at most a page of JSON; 512 pages of 50 courses are
#: about 15 MB).
PAGE_CACHE_SIZE = 512


def get_state(app: flask.Flask | None = None) -> VendorState:
    """The :class:`VendorState` of ``app`` (default: the current app)."""
    target = app if app is not None else flask.current_app
    state: VendorState = target.extensions[EXTENSION]
    return state


def note_fault(name: str) -> None:
    """Record that a fault shaped the current response (skips schema validation)."""
    applied: list[str] = flask.g.setdefault("faults_applied", [])
    if name not in applied:
        applied.append(name)


class PageCache:
    """Serialised list pages, keyed by everything a page depends on (LRU, bounded).

    The key holds the catalog :attr:`VendorState.version`, so any admin change or clock
    move makes every older entry unreachable; :meth:`clear` frees them.
    """

    def __init__(self, size: int = PAGE_CACHE_SIZE) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._pages: OrderedDict[Hashable, tuple[bytes, int | None]] = OrderedDict()

    def get(self, key: Hashable) -> tuple[bytes, int | None] | None:
        """The cached ``(body, last_seq_of_page_or_None)`` for ``key``, if any.

        Without the lock: every worker thread reads the same few pages, and a lock here
        made them queue (a convoy under the GIL). ``get`` and ``move_to_end`` of an
        ``OrderedDict`` are each atomic in CPython; a key evicted in between is a miss.
        """
        found = self._pages.get(key)
        if found is not None:
            with contextlib.suppress(KeyError):
                self._pages.move_to_end(key)
        return found

    def put(self, key: Hashable, value: tuple[bytes, int | None]) -> None:
        """Remember a page, dropping the least recently used one beyond the size."""
        with self._lock:
            self._pages[key] = value
            self._pages.move_to_end(key)
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        """Forget every page."""
        with self._lock:
            self._pages.clear()

    def __len__(self) -> int:
        return len(self._pages)


def default_cache_dir() -> Path:
    """Where generated packages are cached when ``CACHE_DIR`` is not set."""
    return Path(platformdirs.user_cache_dir("cckit")) / "mock_vendor"


class VendorState:
    """Everything the mock knows, built from the app config.

    Args:
        config: The Flask config (see :data:`mock_vendor.config.DEFAULTS`).
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.auth_mode = str(config["AUTH_MODE"])
        if self.auth_mode not in ("oauth2", "basic"):
            raise ConfigError(f"AUTH_MODE: {self.auth_mode!r} is not 'oauth2' or 'basic'")
        self.page_size = _positive_int(config, "PAGE_SIZE")
        self.token_ttl = _positive_int(config, "TOKEN_TTL")
        if self.token_ttl < 60:
            raise ConfigError(f"TOKEN_TTL: {self.token_ttl} is below the contract's 60 seconds")
        self.cache_dir = Path(config["CACHE_DIR"]) if config["CACHE_DIR"] else default_cache_dir()
        self.admin_token: str = config["ADMIN_TOKEN"] or secrets.token_urlsafe(24)
        self.admin_token_generated = not config["ADMIN_TOKEN"]
        #: The feature switches (``LIST_INACTIVE`` and the SHOULD features), by key.
        self.features: dict[str, bool] = {key: _flag(config, key) for key in FEATURE_KEYS}
        self.tenant_specs = _tenant_specs(config)
        self.journal: deque[dict[str, Any]] = deque(maxlen=_positive_int(config, "JOURNAL_SIZE"))
        #: Guards copying and clearing :attr:`journal` (appends need no lock).
        self.journal_lock = threading.Lock()
        #: Moves on every change that can alter a list page (admin calls, clock moves,
        #: resets); part of every :attr:`pages` key.
        self.version = 0
        self.pages = PageCache()
        self._token_purge_at = 1024
        #: Packages from a second origin: ``None``, ``"all"`` or ``"some"`` (see origin.py).
        self.package_origin_mode = origin_mode(config["PACKAGE_ORIGIN"])
        #: Base URL of the second origin's listener, set by whoever starts it.
        self.package_origin_url: str | None = config["PACKAGE_ORIGIN_URL"] or None
        self.package_url_ttl = _positive_int(config, "PACKAGE_URL_TTL")
        if self.package_url_ttl < 60:
            raise ConfigError(f"PACKAGE_URL_TTL: {self.package_url_ttl} is below 60 seconds")
        key = config["PACKAGE_SIGNING_KEY"]
        self.signing_key: bytes = str(key).encode() if key else secrets.token_bytes(32)
        self.problems: list[str] = []
        self.faults = FaultSet()
        self.tokens: dict[str, TokenRecord] = {}
        self.tenants: dict[str, Tenant] = {}
        start = config["CLOCK_START"]
        self.clock = MockClock(
            parse_instant(start, field="CLOCK_START") if start else None,
            frozen=bool(config["CLOCK_FROZEN"]),
        )
        self.reset(clock=False)

    # ------------------------------------------------------------------ lifecycle

    def reset(self, *, clock: bool = True) -> None:
        """Rebuild every catalog from the config; forget tokens, faults and the journal.

        Client secrets go back to their initial values (rotations are undone).
        """
        with self.lock:
            if clock:
                start = self.config["CLOCK_START"]
                self.clock = MockClock(
                    parse_instant(start, field="CLOCK_START") if start else None,
                    frozen=bool(self.config["CLOCK_FROZEN"]),
                )
            self.tokens.clear()
            self.package_origin_mode = origin_mode(self.config["PACKAGE_ORIGIN"])
            with self.journal_lock:
                self.journal.clear()
            self.problems.clear()
            self.faults.clear()
            for text in self.config["FAULTS"] or ():
                if isinstance(text, Mapping):
                    self.faults.add(
                        make_fault(str(text["name"]), text.get("arg"), text.get("scope"))
                    )
                else:
                    self.faults.add(parse_fault(str(text)))
            tenants: dict[str, Tenant] = {}
            for spec in self.tenant_specs:
                tenant = build_catalog(spec, self)
                # Encoded now, with the catalog, so that a first walk of a large list
                # costs about what the following ones do.
                for record in tenant.records:
                    record.encode_listing()
                tenants[tenant.client_id] = tenant
            self.tenants = tenants
            self.changed()

    def changed(self) -> None:
        """Note a change that can alter list pages: cached pages are dropped."""
        with self.lock:
            self.version += 1
            self.pages.clear()

    # ------------------------------------------------------------------ helpers

    @property
    def default_tenant(self) -> Tenant:
        """The first configured tenant."""
        return next(iter(self.tenants.values()))

    def tenant(self, client_id: str | None) -> Tenant:
        """The tenant with this client ID (the first one for ``None``).

        Raises:
            KeyError: Unknown client ID.
        """
        if client_id is None:
            return self.default_tenant
        return self.tenants[client_id]

    def stamp(self, previous: datetime | None = None) -> datetime:
        """Now on the mock clock, strictly after ``previous`` (stamps always move forward)."""
        now = self.clock.now()
        if previous is not None and now <= previous:
            now = previous + timedelta(milliseconds=1)
        return now

    def issue_token(self, tenant: Tenant, ttl: int) -> str:
        """Create an access token for ``tenant`` valid for ``ttl`` seconds of mock time."""
        token = secrets.token_urlsafe(32)
        with self.lock:
            now = self.clock.now()
            if len(self.tokens) >= self._token_purge_at:
                # Drop expired tokens so a long benchmark does not grow the table forever;
                # only when the table doubled since the last sweep, so issuing stays O(1)
                # amortised (a sweep on every issue made the token endpoint O(tokens)).
                for key in [k for k, v in self.tokens.items() if v.expires_at <= now]:
                    del self.tokens[key]
                self._token_purge_at = max(1024, 2 * len(self.tokens))
            self.tokens[token] = TokenRecord(tenant.client_id, now + timedelta(seconds=ttl))
        return token

    def origin_summary(self) -> dict[str, Any]:
        """The package origin switch: mode, listener URL and URL lifetime."""
        return {
            "mode": self.package_origin_mode,
            "url": self.package_origin_url,
            "url_ttl": self.package_url_ttl,
        }

    def record(self, entry: dict[str, Any]) -> None:
        """Append a journal entry."""
        # No lock: a deque's append is thread-safe (documented), and a lock taken by
        # every request thread is what convoys under the GIL (see MockClock.now).
        self.journal.append(entry)

    def journal_entries(self) -> list[dict[str, Any]]:
        """A copy of the journal, oldest first."""
        with self.journal_lock:
            return list(self.journal)

    def record_problem(self, message: str) -> None:
        """Remember a server-side problem (surfaced in the test thread by ``testing``)."""
        with self.lock:
            self.problems.append(message)

    def summary(self) -> dict[str, Any]:
        """JSON-ready overview for ``GET /_admin/``."""
        with self.lock:
            return {
                "auth_mode": self.auth_mode,
                "clock": format_instant(self.clock.now()),
                "clock_frozen": self.clock.frozen,
                "page_size": self.page_size,
                "token_ttl": self.token_ttl,
                "features": dict(self.features),
                "package_origin": self.origin_summary(),
                "tenants": [
                    {
                        "client_id": t.client_id,
                        "catalog": t.description,
                        "courses": len(t.records),
                        "active": sum(1 for r in t.records if r.is_active),
                    }
                    for t in self.tenants.values()
                ],
                "faults": self.faults.to_list(),
                "journal_size": len(self.journal_entries()),
            }


def origin_mode(value: object) -> str | None:
    """Check a ``PACKAGE_ORIGIN`` value: ``None`` (or ``"off"``), ``"all"`` or ``"some"``.

    Raises:
        ConfigError: Any other value.
    """
    if value is None or value is False or value == "off":
        return None
    if value not in PACKAGE_ORIGIN_MODES:
        raise ConfigError(f"PACKAGE_ORIGIN: {value!r} is not one of off, all, some")
    return str(value)


def _positive_int(config: Mapping[str, Any], key: str) -> int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{key}: {value!r} is not an integer")
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {value!r} is not an integer") from exc
    if number < 1:
        raise ConfigError(f"{key}: {number} must be at least 1")
    return number


def _flag(config: Mapping[str, Any], key: str) -> bool:
    value = config[key]
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: {value!r} is not a boolean (true or false)")
    return value


def _tenant_specs(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Normalise ``TENANTS`` (or the single-tenant keys) into a list of tenant specs.

    A generated client secret is made here, once, so that a reset keeps it.
    """
    raw = config["TENANTS"]
    if raw is None:
        raw = [
            {
                "client_id": config["CLIENT_ID"],
                "client_secret": config["CLIENT_SECRET"],
                "courses": config["COURSES"],
                "seed": config["SEED"],
                "catalog": config["CATALOG"],
            }
        ]
    if not isinstance(raw, list) or not raw:
        raise ConfigError("TENANTS: expected a non-empty list of tenant objects")
    specs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise ConfigError(f"TENANTS[{number}]: expected an object, got {item!r}")
        client_id = str(item.get("client_id") or "")
        if not client_id:
            raise ConfigError(f"TENANTS[{number}].client_id: missing")
        if client_id in seen:
            raise ConfigError(f"TENANTS[{number}].client_id: {client_id!r} is used twice")
        seen.add(client_id)
        secret = item.get("client_secret")
        spec = {
            "client_id": client_id,
            "client_secret": str(secret) if secret else secrets.token_urlsafe(24),
            "secret_generated": not secret,
            "courses": item.get("courses", config["COURSES"]),
            "seed": item.get("seed", config["SEED"] + number),
            "catalog": item.get("catalog"),
        }
        specs.append(spec)
    return specs


__all__ = [
    "COURSE_FIELDS",
    "EXTENSION",
    "CourseRecord",
    "Package",
    "PackageInfo",
    "PageCache",
    "Rebuild",
    "Tenant",
    "TokenRecord",
    "VendorState",
    "default_cache_dir",
    "get_state",
    "note_fault",
    "origin_mode",
]
