"""Run scenarios against a client and fold the verdicts (library entry point ``run_check``)."""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lms_check._judge import Verdict
from lms_check._report import LmsCheckResult
from lms_check._report import ScenarioResult
from lms_check._stage import Options
from lms_check._stage import Stage
from lms_check.errors import ConfigurationError
from lms_check.errors import LmsCheckError
from lms_check.scenarios import BY_NAME
from lms_check.scenarios import SCENARIOS
from lms_check.scenarios import Scenario
from lms_check.scenarios import common

Progress = Callable[[int, int, ScenarioResult], None]


def select(names: Sequence[str] | None) -> list[Scenario]:
    """The scenarios named (all when ``names`` is empty), in catalogue order.

    Raises:
        ConfigurationError: An unknown name (the message lists the known ones).
    """
    if not names:
        return list(SCENARIOS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ConfigurationError(f"unknown scenario {unknown[0]!r}; known: {', '.join(BY_NAME)}")
    wanted = set(names)
    return [s for s in SCENARIOS if s.name in wanted]


def run_check(
    sync_cmd: str,
    *,
    catalog_cmd: str | None = None,
    scenarios: Sequence[str] | None = None,
    strict: bool = False,
    timeout: float = 120.0,
    tls: bool = False,
    jobs: int = 1,
    progress: Progress | None = None,
) -> LmsCheckResult:
    """Grade a client: play each scenario with a fresh mock vendor and fold the verdicts.

    Args:
        sync_cmd: Shell command that runs one sync of the client (adapter protocol).
        catalog_cmd: Shell command that prints the client's catalog as JSON.
        scenarios: Names to run (default: all).
        strict: SHOULD failures fail (default: warnings).
        timeout: Seconds a sync or catalog command may run before it is killed.
        tls: Serve https with a throw-away CA (``CCKIT_LMS_CA_FILE``).
        jobs: Scenarios played at once.
        progress: Called after each scenario with (done, total, its result).

    Raises:
        ConfigurationError: Empty command, unknown scenario, bad numbers.
    """
    from conformance._results import kit_version

    if not sync_cmd.strip():
        raise ConfigurationError("--sync-cmd is empty")
    if timeout <= 0 or jobs < 1:
        raise ConfigurationError("--timeout must be above 0 and --jobs at least 1")
    chosen = select(scenarios)
    workdir = Path(tempfile.mkdtemp(prefix="cckit-lms-check-"))
    try:
        tls_pair = _tls(workdir) if tls else None
        options = Options(sync_cmd, catalog_cmd or None, timeout, tls, workdir)
        results: list[ScenarioResult | None] = [None] * len(chosen)
        done = [0]

        def play(index: int) -> None:
            result = play_one(chosen[index], options, tls_pair)
            results[index] = result
            done[0] += 1
            if progress is not None:
                progress(done[0], len(chosen), result)

        # The long scenarios first, so that the short ones fill the other jobs meanwhile.
        order = sorted(range(len(chosen)), key=lambda i: -chosen[i].weight)
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="lms-check") as pool:
            list(pool.map(play, order))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return LmsCheckResult.build(
        kit_version=kit_version(),
        client=sync_cmd,
        catalog=bool(catalog_cmd),
        strict=strict,
        scenarios=[r for r in results if r is not None],
    )


def _tls(workdir: Path) -> tuple[object, Path]:
    from mock_vendor.tls import throwaway_ca

    return throwaway_ca(workdir, ("127.0.0.1", "127.0.0.2", "localhost"))


def play_one(
    scenario: Scenario, options: Options, tls: tuple[object, Path] | None
) -> ScenarioResult:
    """Play one scenario on a fresh stage; a crash of the scenario is reported, not raised."""
    started = time.monotonic()
    verdicts: list[Verdict] = []
    error = None
    stage: Stage | None = None
    try:
        with Stage(scenario.name, scenario.config, options, tls) as stage:  # type: ignore[arg-type]
            verdicts = scenario.play(stage)
            verdicts += common(stage)
    except LmsCheckError as exc:
        error = str(exc)
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {exc}\n{traceback.format_exc(limit=4)}"
    for verdict in verdicts:
        verdict.scenario = scenario.name
    syncs = (
        [
            {
                "sync": s.index,
                "exit_code": s.exit_code,
                "timed_out": s.timed_out,
                "seconds": round(s.duration, 2),
            }
            for s in stage.syncs
        ]
        if stage is not None
        else []
    )
    if error:
        verdicts.append(
            Verdict(
                scenario.requirements[0],
                "failed",
                f"the scenario could not be played: {error.splitlines()[0]}",
                scenario=scenario.name,
            )
        )
    return ScenarioResult(scenario.name, syncs, verdicts, time.monotonic() - started, error)


__all__ = ["run_check", "select"]
