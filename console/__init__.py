"""The admin console: the catalog, integrations and runs as web pages (``cckit console``).

A face over :mod:`connector` (and :mod:`aicc` for a package's structure): the views call
:mod:`connector.catalog_query`, :mod:`connector.catalog`, :mod:`connector.integrations` and
:func:`connector.sync.sync` and render what they return. See docs/console.md.
"""

from __future__ import annotations

from console.app import create_app
from console.errors import ConsoleError

__all__ = ["ConsoleError", "create_app"]
