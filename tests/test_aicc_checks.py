"""The validator's check registry: rule IDs -> small check functions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given

import aicc
from aicc import strategies
from aicc.rules import RULES
from aicc.validator import _registry
from aicc.validator._registry import CHECKS
from aicc.validator._registry import SLOTS
from aicc.validator._registry import Check
from aicc.validator._registry import check
from aicc.validator._registry import checks_for

FIXTURES = Path(__file__).parent / "fixtures" / "aicc"
FOLDERS = sorted(p for kind in ("valid", "invalid") for p in (FIXTURES / kind).iterdir())


def _strict_registry(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap every check so it fails when it reports a rule it was not registered for."""
    wrong: list[str] = []

    def wrap(registered: Check) -> Check:
        def run(ctx: object) -> None:
            before = len(ctx.out)  # type: ignore[attr-defined]
            registered.function(ctx)  # type: ignore[arg-type]
            for diagnostic in ctx.out[before:]:  # type: ignore[attr-defined]
                if diagnostic.rule not in registered.rules:
                    wrong.append(f"{registered.name} reported {diagnostic.rule}")

        return Check(registered.slot, registered.rules, run)

    for slot in SLOTS:
        monkeypatch.setitem(CHECKS, slot, [wrap(c) for c in CHECKS[slot]])
    return wrong


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_checks_report_only_their_registered_rules(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = _strict_registry(monkeypatch)
    aicc.validate(folder)
    assert wrong == []


@given(strategies.broken_courses())
def test_checks_report_only_their_registered_rules_on_broken_courses(
    example: tuple[dict[str, bytes], str],
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        wrong = _strict_registry(monkeypatch)
        aicc.validate(example[0])
    assert wrong == []


def _reader_rules() -> set[str]:
    """Rule IDs the reader's modules name (they report while reading, before any check)."""
    source = Path(aicc.__file__).parent
    found: set[str] = set()
    for module in ("_package", "_decode", "_ini", "_crs", "_table", "reader"):
        found |= set(re.findall(r'"([A-Z]{3}[0-9]{3})"', (source / f"{module}.py").read_text()))
    return found


def test_every_rule_has_a_check_or_is_the_readers() -> None:
    reader = _reader_rules()
    assert reader <= set(RULES)
    unchecked = [r for r in RULES if not checks_for(r) and r not in reader and r != "PKG999"]
    assert unchecked == []


def test_checks_are_small_functions_in_one_module_per_file_type() -> None:
    modules = {c.function.__module__.rsplit(".", 1)[-1] for s in SLOTS for c in CHECKS[s]}
    assert modules == {"crs", "au", "des", "cst", "ort", "pre", "cmp", "cross_file"}
    for slot in SLOTS:
        for registered in CHECKS[slot]:
            assert registered.function.__doc__, f"{registered.name} has no docstring"


def test_registering_an_unknown_rule_or_slot_fails() -> None:
    with pytest.raises(ValueError, match="XYZ001"):
        check("au", "XYZ001")
    with pytest.raises(ValueError, match="unknown slot"):
        check("zip", "AU001")
    assert _registry.CHECKS.keys() == set(SLOTS)
