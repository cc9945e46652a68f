"""The AICC rule catalogue as data (``aicc/rules.toml``, one table per rule).

Every diagnostic the reader and the validator produce names one of these rules. IDs are
adopted from the reference notes (section 10 of ``aicc-cmi001.md``) and stay stable:
:mod:`aicc.strategies` injects defects by ID and ``docs/aicc-rules.md`` documents each.

``promotable`` marks the interoperability warnings that ``validate(..., strict=True)``
turns into errors.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Severity

__all__ = ["RULES", "Rule", "diag", "effective_severity", "get"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the catalogue.

    Attributes:
        id: Stable rule ID, e.g. ``"CST002"``.
        severity: Default severity.
        title: One-line meaning of the rule.
        hint: Default fix-it hint attached to diagnostics.
        promotable: True when ``strict=True`` promotes the warning to an error.
    """

    id: str
    severity: Severity
    title: str
    hint: str
    promotable: bool = False

    @property
    def family(self) -> str:
        """The letters of the ID (``"CST"`` for ``"CST002"``)."""
        return self.id.rstrip("0123456789")


def _load_catalogue() -> tuple[Rule, ...]:
    """The rules of ``rules.toml`` (package data), in file order."""
    text = resources.files("aicc").joinpath("rules.toml").read_text(encoding="utf-8")
    return tuple(
        Rule(
            rule_id,
            Severity(entry["severity"]),
            entry["title"],
            entry["hint"],
            entry.get("promotable", False),
        )
        for rule_id, entry in tomllib.loads(text).items()
    )


_CATALOGUE: tuple[Rule, ...] = _load_catalogue()

#: Rule ID -> rule, in catalogue order.
RULES: dict[str, Rule] = {rule.id: rule for rule in _CATALOGUE}


def get(rule_id: str) -> Rule:
    """The rule with this ID.

    Raises:
        KeyError: when the ID is not in the catalogue.
    """
    return RULES[rule_id]


def effective_severity(rule_id: str, strict: bool) -> Severity:
    """The severity a rule's diagnostics get, after ``strict`` promotion."""
    rule = RULES[rule_id]
    if strict and rule.promotable and rule.severity is Severity.WARNING:
        return Severity.ERROR
    return rule.severity


def diag(
    rule_id: str,
    message: str,
    file: str | None = None,
    line: int | None = None,
    column: int | None = None,
    *,
    hint: str | None = None,
    severity: Severity | None = None,
) -> Diagnostic:
    """Build a diagnostic for a catalogue rule, with its default severity and hint.

    Args:
        rule_id: A key of :data:`RULES`.
        message: What is wrong, naming the offending value.
        file: File name inside the source, if any.
        line: 1-based line, if meaningful.
        column: 1-based column, if meaningful.
        hint: Overrides the rule's default hint.
        severity: Overrides the rule's default severity (e.g. a trailing blank line is
            only an info under a warning rule).
    """
    rule = RULES[rule_id]
    return Diagnostic(
        rule=rule_id,
        severity=severity if severity is not None else rule.severity,
        message=message,
        file=file,
        line=line,
        column=column,
        hint=hint if hint is not None else rule.hint,
    )
