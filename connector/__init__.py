"""connector wing of the Catalog Connector kit: integrations, catalog store and sync.

The public API is re-exported here; see docs/connector.md for the admin's guide.
"""

from __future__ import annotations

from connector.config import Settings
from connector.db import connect
from connector.errors import AuthenticationError
from connector.errors import CatalogError
from connector.errors import ConfigError
from connector.errors import ConnectorError
from connector.errors import CourseNotFound
from connector.errors import IntegrationError
from connector.errors import IntegrationExists
from connector.errors import IntegrationNotFound
from connector.errors import InvalidField
from connector.errors import PackageError
from connector.errors import RunNotFound
from connector.errors import SecretKeyError
from connector.errors import StoreError
from connector.errors import SyncLockedError
from connector.errors import UnsafeArchiveError
from connector.errors import VendorError
from connector.integrations import Integration
from connector.secrets import Secret

__all__ = [
    "AuthenticationError",
    "CatalogError",
    "ConfigError",
    "ConnectorError",
    "CourseNotFound",
    "Integration",
    "IntegrationError",
    "IntegrationExists",
    "IntegrationNotFound",
    "InvalidField",
    "PackageError",
    "RunNotFound",
    "Secret",
    "SecretKeyError",
    "Settings",
    "StoreError",
    "SyncLockedError",
    "UnsafeArchiveError",
    "VendorError",
    "connect",
]
