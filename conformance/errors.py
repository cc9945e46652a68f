"""Exceptions of the conformance suite.

:class:`ConformanceFailure` is what a check raises when a vendor breaks a requirement. It
subclasses :class:`AssertionError` so that pytest reports it as a test failure, and it
carries the structured facts (requirement, level, expected, received, HTTP exchange, curl
line) that the reports need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance._http import Exchange


class ConformanceError(Exception):
    """Base class of every error raised by the conformance package."""


class ConfigurationError(ConformanceError):
    """The suite's options are missing or invalid (exit code 2 in the CLI)."""


class TargetUnreachableError(ConformanceError):
    """The vendor's endpoints cannot be reached at all (exit code 2 in the CLI)."""


class ConformanceFailure(ConformanceError, AssertionError):
    """A vendor broke a requirement of the contract.

    Attributes:
        requirement: Requirement ID such as ``"AUTH-007"``.
        level: ``"MUST"``, ``"SHOULD"`` or ``"MAY"`` (from the requirement catalogue).
        title: The requirement's one-line statement.
        expected: What the contract asks for.
        received: What the vendor did.
        exchange: The HTTP exchange that shows it, already redacted (or ``None``).
    """

    def __init__(
        self,
        requirement: str,
        *,
        expected: str,
        received: str,
        exchange: Exchange | None = None,
        level: str | None = None,
        title: str | None = None,
    ) -> None:
        if level is None or title is None:
            import schemas

            found = schemas.requirement(requirement)
            level = level or found.level
            title = title or found.title
        self.requirement = requirement
        self.level = level
        self.title = title
        self.expected = expected
        self.received = received
        self.exchange = exchange
        super().__init__(self.render())

    @property
    def summary(self) -> str:
        """One line: requirement, what was received and where."""
        where = f" ({self.exchange.method} {self.exchange.url})" if self.exchange else ""
        return f"{self.requirement} {self.level}: {_first_line(self.received)}{where}"

    def render(self) -> str:
        """The full, multi-line explanation shown to the vendor."""
        lines = [
            f"{self.requirement} ({self.level}) {self.title}",
            f"  expected: {_indent(self.expected)}",
            f"  received: {_indent(self.received)}",
        ]
        if self.exchange is not None:
            lines.extend("  " + line for line in self.exchange.render().splitlines())
        return "\n".join(lines)


def _first_line(text: str) -> str:
    # "3 offending value(s):" alone says little: keep the first listed item too.
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = " ".join(lines[:2]) if lines and lines[0].endswith(":") else (lines or [""])[0]
    return first if len(first) <= 200 else first[:197] + "..."


def _indent(text: str) -> str:
    return text.replace("\n", "\n            ")
