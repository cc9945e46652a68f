"""The LMS check: grade any LMS connector against scripted vendor scenarios.

The grader plays the vendor with the mock (one fresh mock per scenario, in-process), runs
the client through the adapter protocol (``--sync-cmd``, ``--catalog-cmd`` and the
``CCKIT_LMS_*`` environment) and judges each client requirement of ``docs/spec.md``
section 9 from the journal of what the client sent and the catalog it reports::

    import lms_check

    result = lms_check.run_check(
        "python -m lms_check.adapters.cckit sync",
        catalog_cmd="python -m lms_check.adapters.cckit catalog",
    )
    print(result.table())
    raise SystemExit(result.exit_code)

See ``docs/lms-check.md``.
"""

from __future__ import annotations

from lms_check._report import LmsCheckResult
from lms_check._report import RequirementResult
from lms_check._runner import run_check
from lms_check.errors import ConfigurationError
from lms_check.errors import LmsCheckError
from lms_check.scenarios import SCENARIOS
from lms_check.scenarios import Scenario

__all__ = [
    "SCENARIOS",
    "ConfigurationError",
    "LmsCheckError",
    "LmsCheckResult",
    "RequirementResult",
    "Scenario",
    "run_check",
]
