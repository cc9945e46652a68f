"""The mock vendor: a Flask LCMS that serves vendor contract v1, and breaks it on demand.

Public API::

    app = mock_vendor.create_app({"COURSES": 100, "SEED": 7})
    state = mock_vendor.get_state(app)
    mock_vendor.FAULTS                      # every named fault and the requirement it violates
    with mock_vendor.testing.serve({...}) as vendor: ...   # live server on 127.0.0.1

See ``docs/mock-vendor.md``.
"""

from __future__ import annotations

from mock_vendor.app import create_app
from mock_vendor.config import DEFAULTS
from mock_vendor.errors import APIError
from mock_vendor.errors import CatalogError
from mock_vendor.errors import ConfigError
from mock_vendor.errors import MockVendorError
from mock_vendor.errors import OAuthError
from mock_vendor.errors import ResponseValidationError
from mock_vendor.errors import UnknownFaultError
from mock_vendor.faults import FAULTS
from mock_vendor.faults import FaultSpec
from mock_vendor.state import get_state

__all__ = [
    "DEFAULTS",
    "FAULTS",
    "APIError",
    "CatalogError",
    "ConfigError",
    "FaultSpec",
    "MockVendorError",
    "OAuthError",
    "ResponseValidationError",
    "UnknownFaultError",
    "create_app",
    "get_state",
]
