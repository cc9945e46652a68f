"""Exceptions raised by the connector.

Every exception derives from :class:`ConnectorError` so that the CLI can turn any of them
into a clear message without a traceback. Messages never contain secrets: client
secrets, tokens and key material are never passed to these constructors.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class of every error the connector raises on purpose."""


class ConfigError(ConnectorError):
    """The connector's configuration (home directory, database URL, ...) is unusable."""


class StoreError(ConnectorError):
    """The catalog database could not be opened, created or written."""


class SecretKeyError(ConnectorError):
    """The secret key is missing, malformed, or cannot decrypt a stored secret."""


class IntegrationError(ConnectorError):
    """An integration operation failed."""


class IntegrationNotFound(IntegrationError):
    """No integration has the given name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no integration named {name!r}")
        self.name = name


class IntegrationExists(IntegrationError):
    """An integration with the given name already exists."""

    def __init__(self, name: str) -> None:
        super().__init__(f"an integration named {name!r} already exists")
        self.name = name


class InvalidField(IntegrationError):
    """A field of an integration (or another admin input) has an invalid value.

    Attributes:
        field: The field's name as the admin knows it, e.g. ``"provider_url"``.
        message: What is wrong with the value (never the value when it is a secret).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CatalogError(ConnectorError):
    """A catalog operation failed (unknown or ambiguous course, bad field name)."""


class CourseNotFound(CatalogError):
    """No course has the given vendor ID (within the given integration)."""


class RunNotFound(CatalogError):
    """No sync run has the given ID."""


class VendorError(ConnectorError):
    """The vendor answered with an error or an unusable response.

    Attributes:
        url: The URL that was requested (without credentials).
        status: The HTTP status, or ``None`` when no response arrived.
        message: What went wrong.
    """

    def __init__(self, url: str, status: int | None, message: str) -> None:
        where = f"{url} (HTTP {status})" if status is not None else url
        super().__init__(f"{where}: {message}")
        self.url = url
        self.status = status
        self.message = message


class AuthenticationError(VendorError):
    """The vendor rejected the client credentials or the access token."""


class PackageError(ConnectorError):
    """A course package could not be downloaded, checked or published.

    Attributes:
        course_id: The vendor's course ``ID``.
        reason: Why the package was rejected.
        rule_ids: The contract requirements (or AICC rules) the package broke, for the
            run's outcome row: ``PKG-001`` (not downloadable) unless the raiser knows better.
    """

    def __init__(
        self, course_id: str, reason: str, rule_ids: tuple[str, ...] | list[str] = ("PKG-001",)
    ) -> None:
        super().__init__(f"course {course_id}: {reason}")
        self.course_id = course_id
        self.reason = reason
        self.rule_ids = list(rule_ids)


class UnsafeArchiveError(ConnectorError):
    """A zip archive breaks a safety rule (absolute or ``..`` path, link, bomb, ...)."""


class SyncLockedError(ConnectorError):
    """Another sync run of the same integration holds the lock."""


class DistributedError(ConnectorError):
    """The distributed mode (``cckit worker``, ``--enqueue``, ``cckit jobs``) cannot run.

    Raised when the catalog is not PostgreSQL, procrastinate is not installed or its
    tables are missing.
    """


__all__ = [
    "AuthenticationError",
    "CatalogError",
    "ConfigError",
    "ConnectorError",
    "CourseNotFound",
    "DistributedError",
    "IntegrationError",
    "IntegrationExists",
    "IntegrationNotFound",
    "InvalidField",
    "PackageError",
    "RunNotFound",
    "SecretKeyError",
    "StoreError",
    "SyncLockedError",
    "UnsafeArchiveError",
    "VendorError",
]
