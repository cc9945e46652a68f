"""Conformance suite for vendors implementing the cckit vendor contract v1.

Kept free of asserts and heavy imports: pytest imports this package through the
``pytest11`` entry point in every test run wherever the kit is installed. The public API
is loaded lazily::

    import conformance

    result = conformance.check_vendor(
        "https://vendor.example/api/v1/courses",
        auth_url="https://vendor.example/oauth/token",
        client_id="lms-1",
        client_secret=os.environ["CCKIT_CLIENT_SECRET"],
    )
    print(result.table())
    raise SystemExit(result.exit_code)
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from conformance._results import ConformanceResult
    from conformance._results import RequirementResult
    from conformance._runner import check_vendor
    from conformance.errors import ConfigurationError
    from conformance.errors import ConformanceError
    from conformance.errors import ConformanceFailure
    from conformance.errors import TargetUnreachableError

__all__ = [
    "ConfigurationError",
    "ConformanceError",
    "ConformanceFailure",
    "ConformanceResult",
    "RequirementResult",
    "TargetUnreachableError",
    "check_vendor",
]

_LAZY = {
    "ConformanceResult": "conformance._results",
    "RequirementResult": "conformance._results",
    "check_vendor": "conformance._runner",
    "ConfigurationError": "conformance.errors",
    "ConformanceError": "conformance.errors",
    "ConformanceFailure": "conformance.errors",
    "TargetUnreachableError": "conformance.errors",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
