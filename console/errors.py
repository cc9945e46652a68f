"""The console's one base exception."""

from __future__ import annotations


class ConsoleError(Exception):
    """A console problem worth a one-line message (bad option, missing password)."""


__all__ = ["ConsoleError"]
