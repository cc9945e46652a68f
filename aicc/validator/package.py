"""Package-level outcomes of the validator: internal errors (PKG999) and strict promotion.

The package rules PKG001-PKG013 are the reader's (:mod:`aicc._package`): they are found
while the source is listed, before any course set is checked.
"""

from __future__ import annotations

from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Severity
from aicc.rules import RULES
from aicc.rules import diag

__all__ = ["internal_error", "promote"]


def internal_error(exc: BaseException, file: str | None = None) -> Diagnostic:
    """PKG999: a bug in the reader or a check, reported instead of a traceback."""
    return diag("PKG999", f"internal validator error: {type(exc).__name__}: {exc}"[:300], file)


def promote(diagnostic: Diagnostic) -> Diagnostic:
    """A promotable warning as an error (``strict=True``); any other diagnostic as is."""
    rule = RULES.get(diagnostic.rule)
    if rule is not None and rule.promotable and diagnostic.severity is Severity.WARNING:
        return Diagnostic(
            diagnostic.rule,
            Severity.ERROR,
            diagnostic.message,
            diagnostic.file,
            diagnostic.line,
            diagnostic.column,
            diagnostic.hint,
        )
    return diagnostic
