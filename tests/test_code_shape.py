"""Code shape of the library packages: small functions, modules that fit in a head.

Every function or method of a package the wheel ships (``[tool.hatch.build.targets.wheel]
packages`` in pyproject.toml) has a cyclomatic complexity of at most 20 (radon's measure,
what ``radon cc -n D`` lists), and every module has at most 600 lines (issue 11).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from radon.complexity import cc_visit
from radon.visitors import Class
from radon.visitors import Function

ROOT = Path(__file__).resolve().parent.parent
MAX_COMPLEXITY = 20
MAX_LINES = 600
#: Packages that must never appear in the allow-lists below.
CLEAN = ("aicc/", "schemas/")

# Offenders allowed for now, each with its figure when it was listed (an entry that is no
# longer an offender fails the test, and so does an offender that grows). Both lists are
# empty: every function and module of the shipped packages is within the limits; keep them so.
ALLOWED_COMPLEXITY: dict[str, int] = {}
ALLOWED_LINES: dict[str, int] = {}


def _packages() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert isinstance(packages, list)
    return [str(p) for p in packages]


def _modules() -> list[Path]:
    return sorted(p for package in _packages() for p in (ROOT / package).rglob("*.py"))


def _functions(blocks: list[Function | Class], prefix: str = "") -> Iterator[tuple[str, int]]:
    """(qualified name, complexity) of every function, method and nested function.

    radon lists top-level functions and methods (``Class.method``) itself; classes only
    sum their methods, and nested functions hang off their parent as closures.
    """
    for block in blocks:
        if isinstance(block, Class):
            continue
        name = f"{prefix}{block.fullname}"
        yield name, block.complexity
        yield from _functions(list(block.closures), f"{name}.")


def _complexities() -> dict[str, int]:
    found: dict[str, int] = {}
    for path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        for name, complexity in _functions(cc_visit(path.read_text("utf-8"))):
            found[f"{relative}:{name}"] = max(complexity, found.get(f"{relative}:{name}", 0))
    return found


def _lines() -> dict[str, int]:
    return {
        path.relative_to(ROOT).as_posix(): len(path.read_text("utf-8").splitlines())
        for path in _modules()
    }


def test_the_library_packages_are_measured() -> None:
    assert {"aicc", "schemas", "mock_vendor", "connector", "conformance", "cckit"} <= set(
        _packages()
    )
    assert len(_modules()) > 50
    assert "aicc/validator/au.py:record_values" in _complexities()


def test_no_function_is_over_the_complexity_limit() -> None:
    over = {k: v for k, v in _complexities().items() if v > MAX_COMPLEXITY}
    new = {k: v for k, v in over.items() if k not in ALLOWED_COMPLEXITY}
    grown = {k: v for k, v in over.items() if k in ALLOWED_COMPLEXITY and v > ALLOWED_COMPLEXITY[k]}
    assert new == {}, f"functions over complexity {MAX_COMPLEXITY}: split them"
    assert grown == {}, "allow-listed functions grew more complex"


def test_no_module_is_over_the_line_limit() -> None:
    over = {k: v for k, v in _lines().items() if v > MAX_LINES}
    new = {k: v for k, v in over.items() if k not in ALLOWED_LINES}
    grown = {k: v for k, v in over.items() if k in ALLOWED_LINES and v > ALLOWED_LINES[k]}
    assert new == {}, f"modules over {MAX_LINES} lines: split them"
    assert grown == {}, "allow-listed modules grew"


def test_the_allow_lists_hold_only_current_offenders_outside_aicc_and_schemas() -> None:
    complexities, lines = _complexities(), _lines()
    stale = [k for k in ALLOWED_COMPLEXITY if complexities.get(k, 0) <= MAX_COMPLEXITY]
    stale += [k for k in ALLOWED_LINES if lines.get(k, 0) <= MAX_LINES]
    assert stale == [], "no longer offenders: remove them from the allow-lists"
    listed = [*ALLOWED_COMPLEXITY, *ALLOWED_LINES]
    assert [k for k in listed if k.startswith(CLEAN)] == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(x):\n    return x\n", 1),
        ("def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(25)), 26),
    ],
)
def test_the_measure_counts_branches(source: str, expected: int) -> None:
    assert dict(_functions(cc_visit(source))) == {"f": expected}
