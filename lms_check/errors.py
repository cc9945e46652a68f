"""The LMS check's exceptions: one base class, and the usage error the CLI turns into exit 2."""

from __future__ import annotations


class LmsCheckError(Exception):
    """Base class of every error the LMS check raises."""


class ConfigurationError(LmsCheckError):
    """Unusable options: unknown scenario, empty command, a port that cannot be bound."""


__all__ = ["ConfigurationError", "LmsCheckError"]
