"""The check registry: rule IDs -> the small functions that check them.

Like jsonschema's keyword -> validator-function table, every check is a plain function
registered with :func:`check` against the rule IDs (from :mod:`aicc.rules`) it reports
and the file it needs. The runner (:func:`aicc.validator.validate`) calls them per file
type in the order of :data:`SLOTS`, each module's checks in definition order; a file
type whose table is missing or unusable is skipped (the reader has reported why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aicc.model import EXTENSIONS
from aicc.rules import RULES

if TYPE_CHECKING:
    from aicc.validator._context import Context

__all__ = ["CHECKS", "SLOTS", "Check", "CheckFn", "check", "checks_for"]

#: What a check is: a function of the course being checked, reporting through it.
CheckFn = Callable[["Context"], None]

#: The order the file types are checked in. ``course`` holds the cross-file checks,
#: which run last (they summarise what the per-file checks collected).
SLOTS: tuple[str, ...] = (*EXTENSIONS, "course")


@dataclass(frozen=True, slots=True)
class Check:
    """One registered check.

    Attributes:
        slot: The file type it needs (``"crs"``, ``"au"``, ... or ``"course"``).
        rules: The rule IDs it may report.
        function: The check itself.
    """

    slot: str
    rules: tuple[str, ...]
    function: CheckFn

    @property
    def name(self) -> str:
        """``module.function`` of the check, for messages."""
        return f"{self.function.__module__}.{self.function.__qualname__}"


#: Every registered check, per slot, in registration order.
CHECKS: dict[str, list[Check]] = {slot: [] for slot in SLOTS}


def check(slot: str, *rules: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check for a file type, reporting the given catalogue rules.

    Raises:
        ValueError: (at import) an unknown slot or a rule ID not in :data:`aicc.rules.RULES`.
    """
    if slot not in CHECKS:
        raise ValueError(f"unknown slot {slot!r} (one of {', '.join(SLOTS)})")
    unknown = [rule for rule in rules if rule not in RULES]
    if unknown or not rules:
        raise ValueError(f"a check must name catalogue rules; unknown: {unknown}")

    def register(function: CheckFn) -> CheckFn:
        CHECKS[slot].append(Check(slot, rules, function))
        return function

    return register


def checks_for(rule_id: str) -> list[Check]:
    """The checks that report a rule (empty for rules only the reader reports)."""
    return [c for slot in SLOTS for c in CHECKS[slot] if rule_id in c.rules]
