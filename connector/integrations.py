"""Integrations: one registered vendor each, with the seven fields of the seed.

An integration holds the Integration Name, Provider Name, Provider URL (the course list
URL), Authentication URL (the token URL), Client ID, Client Secret and Sync Time, plus the
time zone of the Sync Time, the authentication mode (``oauth2`` or ``basic``) and how
often a full list is requested. Every function validates its input and raises
:class:`~connector.errors.InvalidField` naming the field; the client secret is stored
encrypted (:mod:`connector.secrets`) and never appears in messages.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
import zoneinfo
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from connector import db
from connector import lock as locking
from connector.config import Settings
from connector.errors import IntegrationExists
from connector.errors import IntegrationNotFound
from connector.errors import InvalidField
from connector.fields import AUTH_MODES
from connector.fields import DEFAULT_FULL_EVERY_DAYS
from connector.fields import check_auth_url
from connector.fields import parse_sync_time
from connector.fields import validate_allowed_hosts
from connector.fields import validate_auth_mode
from connector.fields import validate_full_every_days
from connector.fields import validate_limits
from connector.fields import validate_name
from connector.fields import validate_secret
from connector.fields import validate_text
from connector.fields import validate_timezone
from connector.fields import validate_url
from connector.secrets import Secret
from connector.secrets import decrypt
from connector.secrets import encrypt


@dataclass(frozen=True)
class Integration:
    """A registered vendor.

    ``client_secret`` is a :class:`~connector.secrets.Secret`: printing the integration
    shows ``***``.
    """

    id: int
    name: str
    provider: str
    provider_url: str
    auth_url: str | None
    client_id: str
    client_secret: Secret = field(repr=False)
    auth_mode: str
    sync_time: dt.time
    timezone: str
    enabled: bool
    full_every_days: int
    last_success_started_at: dt.datetime | None
    last_full_sync_at: dt.datetime | None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    #: Immutable identity (content folders are keyed by it, never by the name).
    uid: str = ""
    #: Hosts a package URL on another origin than the Provider URL may name.
    allowed_package_hosts: tuple[str, ...] = ()
    #: Overrides of the network and size limits, by limit name.
    limit_overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sync_time_text(self) -> str:
        """The Sync Time as ``HH:MM``."""
        return self.sync_time.strftime("%H:%M")

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The Sync Time's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view; the client secret is shown as ``***``."""
        return {
            "id": self.id,
            "name": self.name,
            "provider": self.provider,
            "provider_url": self.provider_url,
            "auth_url": self.auth_url,
            "client_id": self.client_id,
            "client_secret": str(self.client_secret),
            "auth_mode": self.auth_mode,
            "sync_time": self.sync_time_text,
            "timezone": self.timezone,
            "enabled": self.enabled,
            "full_every_days": self.full_every_days,
            "allowed_package_hosts": list(self.allowed_package_hosts),
            "limits": dict(self.limit_overrides),
            "uid": self.uid,
            "last_success_started_at": _iso(self.last_success_started_at),
            "last_full_sync_at": _iso(self.last_full_sync_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


# --- rows <-> objects -----------------------------------------------------------------


def _from_row(settings: Settings, row: RowMapping) -> Integration:
    token = row["client_secret_encrypted"]
    what = f"the client secret of integration {row['name']!r}"
    return Integration(
        id=row["id"],
        name=row["name"],
        provider=row["provider"],
        provider_url=row["provider_url"],
        auth_url=row["auth_url"],
        client_id=row["client_id"],
        client_secret=Secret.lazy(lambda: decrypt(settings, token, what=what).reveal()),
        auth_mode=row["auth_mode"],
        sync_time=parse_sync_time(row["sync_time"]),
        timezone=row["timezone"],
        enabled=bool(row["enabled"]),
        full_every_days=row["full_every_days"],
        last_success_started_at=row["last_success_started_at"],
        last_full_sync_at=row["last_full_sync_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        uid=row["uid"],
        allowed_package_hosts=tuple(row["allowed_package_hosts"] or ()),
        limit_overrides=dict(row["limits"] or {}),
    )


def content_root(settings: Settings, integration: Integration) -> Path:
    """The folder holding ``integration``'s published content (keyed by its uid)."""
    return settings.content_dir / integration.uid


def _select_by_name(conn: Connection, name: str) -> RowMapping:
    # Names are unique case-insensitively, so "MOCK" finds "mock".
    row = (
        conn.execute(
            sa.select(db.integrations).where(db.integrations.c.name_key == name.casefold())
        )
        .mappings()
        .first()
    )
    if row is None:
        raise IntegrationNotFound(name)
    return row


# --- public API -------------------------------------------------------------------------


def add(
    engine: Engine,
    settings: Settings,
    *,
    name: str,
    provider: str,
    provider_url: str,
    auth_url: str | None,
    client_id: str,
    client_secret: Secret | str,
    sync_time: str | dt.time,
    timezone: str = "UTC",
    auth_mode: str = "oauth2",
    full_every_days: int = DEFAULT_FULL_EVERY_DAYS,
    enabled: bool = True,
    allowed_package_hosts: Iterable[str] = (),
    limits: Mapping[str, Any] | None = None,
) -> Integration:
    """Register a vendor.

    Args:
        engine: Catalog database.
        settings: Resolved settings (secret key location).
        name: Integration Name (unique).
        provider: Provider Name.
        provider_url: Provider URL: the vendor's course list URL.
        auth_url: Authentication URL: the token URL (optional in ``basic`` mode).
        client_id: Client ID.
        client_secret: Client Secret (encrypted before storage).
        sync_time: Daily Sync Time ``HH:MM`` in ``timezone``.
        timezone: IANA time zone of the Sync Time.
        auth_mode: ``oauth2`` (client credentials) or ``basic``.
        full_every_days: Request a full list (no ``If-Modified-Since``) every N days.
        enabled: Whether the scheduler runs it.
        allowed_package_hosts: Hosts other than the Provider URL's that package URLs
            may name (fetched without credentials, https only).
        limits: Overrides of the network and size limits (see docs/connector.md).

    Returns:
        The stored integration.

    Raises:
        InvalidField: A field is invalid (the message names it).
        IntegrationExists: The name is taken.
    """
    mode = validate_auth_mode(auth_mode)
    values: dict[str, Any] = {
        "name": validate_name(name),
        "provider": validate_text("provider", provider, 200),
        "provider_url": validate_url("provider_url", provider_url),
        "auth_url": check_auth_url(mode, auth_url),
        "client_id": validate_text("client_id", client_id, 500),
        "auth_mode": mode,
        "sync_time": parse_sync_time(sync_time).strftime("%H:%M"),
        "timezone": validate_timezone(timezone),
        "enabled": bool(enabled),
        "full_every_days": validate_full_every_days(full_every_days),
        "allowed_package_hosts": list(validate_allowed_hosts(allowed_package_hosts)),
        "limits": validate_limits(limits or {}),
        "uid": uuid.uuid4().hex,
    }
    values["name_key"] = values["name"].casefold()
    secret = validate_secret(client_secret)
    values["client_secret_encrypted"] = encrypt(settings, secret)
    now = db.utcnow()
    values["created_at"] = values["updated_at"] = now
    try:
        with engine.begin() as conn:
            exists = conn.execute(
                sa.select(db.integrations.c.name).where(
                    db.integrations.c.name_key == values["name_key"]
                )
            ).first()
            if exists is not None:
                raise IntegrationExists(exists.name)
            conn.execute(sa.insert(db.integrations).values(**values))
    except IntegrityError:
        # Lost a race with another process registering the same name.
        raise IntegrationExists(values["name"]) from None
    return get(engine, settings, values["name"])


def get(engine: Engine, settings: Settings, name: str) -> Integration:
    """Return the integration called ``name``.

    Raises:
        IntegrationNotFound: No such integration.
    """
    with engine.connect() as conn:
        return _from_row(settings, _select_by_name(conn, name))


def get_by_id(engine: Engine, settings: Settings, integration_id: int) -> Integration:
    """Return the integration with database ID ``integration_id``.

    Raises:
        IntegrationNotFound: No such integration.
    """
    with engine.connect() as conn:
        row = (
            conn.execute(sa.select(db.integrations).where(db.integrations.c.id == integration_id))
            .mappings()
            .first()
        )
    if row is None:
        raise IntegrationNotFound(f"#{integration_id}")
    return _from_row(settings, row)


def list_all(
    engine: Engine, settings: Settings, *, enabled_only: bool = False
) -> list[Integration]:
    """Return every integration, ordered by name.

    Args:
        engine: Catalog database.
        settings: Resolved settings.
        enabled_only: Only the enabled ones (what the scheduler runs).
    """
    stmt = sa.select(db.integrations).order_by(db.integrations.c.name)
    if enabled_only:
        stmt = stmt.where(db.integrations.c.enabled.is_(True))
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [_from_row(settings, row) for row in rows]


#: Fields :func:`update` accepts, besides ``client_secret``.
UPDATABLE = (
    "new_name",
    "provider",
    "provider_url",
    "auth_url",
    "client_id",
    "sync_time",
    "timezone",
    "auth_mode",
    "full_every_days",
    "enabled",
    "allowed_package_hosts",
    "limits",
)


def update(
    engine: Engine,
    settings: Settings,
    name: str,
    *,
    client_secret: Secret | str | None = None,
    **changes: Any,
) -> Integration:
    """Change fields of an integration; omitted (``None``) fields keep their value.

    Args:
        engine: Catalog database.
        settings: Resolved settings.
        name: The integration to change.
        client_secret: A new Client Secret.
        **changes: Any of :data:`UPDATABLE` (``new_name`` renames).

    Returns:
        The updated integration.

    Raises:
        InvalidField: A field is invalid or unknown.
        IntegrationNotFound: No such integration.
        IntegrationExists: ``new_name`` is taken.
    """
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise InvalidField(unknown[0], "is not a field of an integration")
    given = {k: v for k, v in changes.items() if v is not None}
    with engine.begin() as conn:
        row = _select_by_name(conn, name)
        values = _checked_changes(given, row)
        if "name" in values:
            _refuse_name_clash(conn, values["name"], row["id"])
        if client_secret is not None:
            values["client_secret_encrypted"] = encrypt(settings, validate_secret(client_secret))
        if values:
            values["updated_at"] = db.utcnow()
            conn.execute(
                sa.update(db.integrations).where(db.integrations.c.id == row["id"]).values(**values)
            )
        final_name = values.get("name", row["name"])
    return get(engine, settings, final_name)


#: Updatable field -> its check, for the fields whose check needs nothing else.
_CHECKS: dict[str, Any] = {
    "provider": lambda v: validate_text("provider", v, 200),
    "provider_url": lambda v: validate_url("provider_url", v),
    "client_id": lambda v: validate_text("client_id", v, 500),
    "sync_time": lambda v: parse_sync_time(v).strftime("%H:%M"),
    "timezone": validate_timezone,
    "full_every_days": validate_full_every_days,
    "enabled": bool,
    "allowed_package_hosts": lambda v: list(validate_allowed_hosts(v)),
    "limits": validate_limits,
}


def _checked_changes(given: Mapping[str, Any], row: RowMapping) -> dict[str, Any]:
    """The column values of ``given`` changes, each checked (InvalidField names the field)."""
    values = {
        column: _CHECKS[column](value) for column, value in given.items() if column in _CHECKS
    }
    mode = validate_auth_mode(given.get("auth_mode", row["auth_mode"]))
    if "auth_mode" in given:
        values["auth_mode"] = mode
    if "auth_url" in given or "auth_mode" in given:
        values["auth_url"] = check_auth_url(mode, given.get("auth_url", row["auth_url"]))
    if "new_name" in given:
        new_name = validate_name(given["new_name"])
        if new_name != row["name"]:
            values["name"] = new_name
            values["name_key"] = new_name.casefold()
    return values


def _refuse_name_clash(conn: Connection, new_name: str, integration_id: int) -> None:
    clash = conn.execute(
        sa.select(db.integrations.c.name).where(
            db.integrations.c.name_key == new_name.casefold(),
            db.integrations.c.id != integration_id,
        )
    ).first()
    if clash is not None:
        raise IntegrationExists(clash.name)


def enable(engine: Engine, settings: Settings, name: str) -> Integration:
    """Enable an integration (the scheduler runs it). Raises IntegrationNotFound."""
    return update(engine, settings, name, enabled=True)


def disable(engine: Engine, settings: Settings, name: str) -> Integration:
    """Disable an integration (the scheduler skips it). Raises IntegrationNotFound."""
    return update(engine, settings, name, enabled=False)


def remove(engine: Engine, settings: Settings, name: str, *, purge: bool = False) -> list[Path]:
    """Delete an integration with its catalog rows, runs and outcomes.

    Without ``purge`` the published content files stay on disk (they may still be
    served). With ``purge`` they are deleted too, after the rows are gone: the
    integration's own folder (keyed by its uid) and any older folder its versions
    recorded that no other integration's version points at.

    Args:
        engine: Catalog database.
        settings: Resolved settings (content folder).
        name: The integration (case-insensitive).
        purge: Also delete its published content.

    Returns:
        The folders deleted (empty without ``purge``).

    Raises:
        IntegrationNotFound: No such integration.
        SyncLockedError: A sync of the integration is running.
    """
    with engine.connect() as conn:
        row = _select_by_name(conn, name)
    integration_id, uid = row["id"], row["uid"]
    # Hold the sync's lock while deleting, so a removal never races a running sync.
    held = locking.acquire(engine, integration_id, name=row["name"], heartbeat=False)
    try:
        with engine.begin() as conn:
            _select_by_name(conn, name)
            paths = _stored_paths(conn, integration_id)
            _delete_rows(conn, integration_id)
            shared = _paths_in_use(conn, paths)
    except BaseException:
        held.release()
        raise
    if not purge:
        return []
    return _purge_content(settings, uid, [p for p in paths if p not in shared])


def _stored_paths(conn: Connection, integration_id: int) -> list[str]:
    rows = conn.execute(
        sa.select(db.package_versions.c.stored_path)
        .join(db.courses, db.courses.c.id == db.package_versions.c.course_id)
        .where(db.courses.c.integration_id == integration_id)
    ).scalars()
    return sorted(set(rows))


def _paths_in_use(conn: Connection, paths: list[str]) -> set[str]:
    """The paths among ``paths`` that another integration's versions still use."""
    used: set[str] = set()
    for start in range(0, len(paths), 500):
        chunk = paths[start : start + 500]
        used.update(
            conn.execute(
                sa.select(db.package_versions.c.stored_path).where(
                    db.package_versions.c.stored_path.in_(chunk)
                )
            ).scalars()
        )
    return used


def _delete_rows(conn: Connection, integration_id: int) -> None:
    # Explicit deletes (children first) rather than relying on ON DELETE CASCADE,
    # which SQLite only honours when foreign keys are on for the connection.
    course_ids = sa.select(db.courses.c.id).where(db.courses.c.integration_id == integration_id)
    run_ids = sa.select(db.sync_runs.c.id).where(db.sync_runs.c.integration_id == integration_id)
    conn.execute(
        sa.delete(db.package_versions).where(db.package_versions.c.course_id.in_(course_ids))
    )
    conn.execute(sa.delete(db.course_outcomes).where(db.course_outcomes.c.run_id.in_(run_ids)))
    conn.execute(sa.delete(db.courses).where(db.courses.c.integration_id == integration_id))
    conn.execute(sa.delete(db.sync_runs).where(db.sync_runs.c.integration_id == integration_id))
    conn.execute(sa.delete(db.sync_locks).where(db.sync_locks.c.integration_id == integration_id))
    conn.execute(sa.delete(db.integrations).where(db.integrations.c.id == integration_id))


def _purge_content(settings: Settings, uid: str, legacy_paths: list[str]) -> list[Path]:
    """Delete the integration's content folders, never anything outside the content dir."""
    root = settings.content_dir.resolve()
    targets = [settings.content_dir / uid] if uid else []
    targets += [Path(p) for p in legacy_paths]
    removed: list[Path] = []
    for target in targets:
        try:
            resolved = target.resolve()
        except OSError:
            continue
        if resolved == root or root not in resolved.parents or not resolved.is_dir():
            continue
        shutil.rmtree(resolved, ignore_errors=True)
        removed.append(resolved)
    return removed


__all__ = [
    "AUTH_MODES",
    "DEFAULT_FULL_EVERY_DAYS",
    "UPDATABLE",
    "Integration",
    "add",
    "content_root",
    "disable",
    "enable",
    "get",
    "get_by_id",
    "list_all",
    "parse_sync_time",
    "remove",
    "update",
    "validate_allowed_hosts",
    "validate_name",
    "validate_timezone",
    "validate_url",
]
