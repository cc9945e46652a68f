"""Exceptions raised by the ``aicc`` package.

Every exception derives from :class:`AiccError`. Content problems in course files are
never raised: :func:`aicc.read` and :func:`aicc.validate` report them as diagnostics and
raise only :class:`SourceError` (the source itself cannot be opened).
"""

from __future__ import annotations


class AiccError(Exception):
    """Base class of every exception the ``aicc`` package raises."""


class SourceError(AiccError):
    """A source given to ``read``/``validate`` cannot be opened at all.

    Examples: a path that does not exist, a directory that cannot be listed, a file that
    is neither a folder nor a zip. Content problems are diagnostics, never this error.

    Attributes:
        source: The offending source as text (a path, or a short description).
        reason: What went wrong, in words.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class LogicSyntaxError(AiccError, ValueError):
    """A PRE/CMP logic expression does not parse.

    Attributes:
        message: What is wrong, naming the offending token.
        position: 0-based character offset in the expression text where it went wrong.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.message = message
        self.position = position


class LogicStatusError(LogicSyntaxError):
    """A ``=``/``<>`` comparison names a word that is not a status value.

    A subclass of :class:`LogicSyntaxError` so callers that only care whether an
    expression parses can ignore the difference; the validator reports it under its own
    rule.
    """


class WriteError(AiccError):
    """A model cannot be written as AICC files without losing or corrupting data.

    Attributes:
        file: The file that could not be written, e.g. ``"course.au"``.
        element: The System_ID (or CRS keyword) concerned, when there is one.
        field: The column or keyword concerned, when there is one.
        reason: What cannot be represented.
    """

    def __init__(self, reason: str, *, file: str = "", element: str = "", field: str = "") -> None:
        where = ", ".join(
            part
            for part in (
                file,
                f"element {element!r}" if element else "",
                f"field {field}" if field else "",
            )
            if part
        )
        super().__init__(f"{where}: {reason}" if where else reason)
        self.file = file
        self.element = element
        self.field = field
        self.reason = reason


__all__ = ["AiccError", "LogicStatusError", "LogicSyntaxError", "SourceError", "WriteError"]
