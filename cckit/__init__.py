"""cckit: the command-line face of the Catalog Connector kit.

This package only parses arguments and calls library functions of the wings
(``aicc``, ``schemas``, ``mock_vendor``, ``connector``, ``conformance``).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
