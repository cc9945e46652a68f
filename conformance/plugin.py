"""pytest plugin entry point (``pytest11``) of the conformance suite.

The plugin is registered wherever the kit is installed, so it stays inert unless a course
list URL is configured (``--cc-course-list-url``, ``CCKIT_CC_COURSE_LIST_URL`` or ini
``cc_course_list_url``): it only adds its options and the ``requirement`` marker, defines
no fixtures and imports nothing but pytest at module level. The shipped checks live in
``conformance.suite`` (run them with ``pytest --pyargs conformance.suite``).

When active, it turns check outcomes into requirement outcomes: a failing SHOULD check is
reported as a warning (a failure with ``--cc-strict``), a failure listed in the
expected-failures file is reported as expected (xfail), and a listed requirement that
passes fails the run, so the file cannot go stale.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING
from typing import Any

import pytest

if TYPE_CHECKING:
    from conformance._results import Aggregator
    from conformance._results import ConformanceResult
    from conformance._results import Status
    from conformance._settings import Settings

#: The active run's state, when the suite is configured.
STATE_KEY = pytest.StashKey["_Conformance"]()
#: The run's result, once the session finished.
RESULT_KEY = pytest.StashKey["ConformanceResult"]()
#: Per check: the phases whose failure the plugin judged, and a failure's explanation.
_JUDGED_KEY = pytest.StashKey[set[str]]()
_DETAIL_KEY = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--cc-*`` options and their ini keys."""
    from conformance._settings import OPTIONS

    group = parser.getgroup("cckit-conformance", "cckit vendor conformance (contract v1)")
    for option in OPTIONS:
        if option.kind == "bool":
            group.addoption(option.flag, action="store_true", default=False, help=option.help)
        else:
            group.addoption(option.flag, dest="cc_" + option.name, default=None, help=option.help)
        if option.ini:
            if option.kind == "bool":
                parser.addini(option.ini_name, option.help, type="bool", default=None)
            else:
                parser.addini(option.ini_name, option.help, type="string", default=None)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; activate the requirement bookkeeping when configured."""
    config.addinivalue_line(
        "markers",
        "requirement(*ids): contract v1 requirement IDs that a conformance check verifies",
    )
    from conformance._settings import resolve
    from conformance.errors import ConfigurationError

    def cli(name: str) -> Any:
        return config.getoption("cc_" + name)

    def ini(name: str) -> Any:
        value = config.getini(name)
        return value if value not in (None, "") else None

    try:
        settings = resolve(cli, ini)
    except ConfigurationError as exc:
        raise pytest.UsageError(str(exc)) from None
    if settings is None:
        return
    state = _Conformance(settings)
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(state, "cckit-conformance-active")


def settings_of(config: pytest.Config) -> Settings | None:
    """The run's settings, or ``None`` when the suite is not configured."""
    state = config.stash.get(STATE_KEY, None)
    return state.settings if state is not None else None


def result_of(config: pytest.Config) -> ConformanceResult | None:
    """The run's result once the session finished (``None`` before or when inactive)."""
    return config.stash.get(RESULT_KEY, None)


class _Conformance:
    """The active half of the plugin, registered only when the suite is configured."""

    def __init__(self, settings: Settings) -> None:
        from conformance._results import Aggregator

        self.settings = settings
        self.aggregator: Aggregator = Aggregator(
            strict=settings.strict,
            expected={k: v.reason for k, v in settings.expected_failures.items()},
        )
        self.warnings: list[str] = []

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        return self.settings.header_lines()

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        import schemas

        # A typo in a marker would silently leave a requirement unchecked.
        for item in items:
            for mark in item.iter_markers("requirement"):
                for rid in mark.args:
                    try:
                        schemas.requirement(str(rid))
                    except KeyError:
                        raise pytest.UsageError(
                            f"{item.nodeid}: unknown requirement ID {rid!r} in "
                            "@pytest.mark.requirement (see schemas/requirements.json)"
                        ) from None

    # Outcomes are decided while a check runs, with pytest's public outcome API: a SHOULD
    # failure (without --cc-strict) is swallowed so that the check passes, a listed
    # expected failure becomes ``pytest.xfail``, a SHOULD failure in a fixture becomes
    # ``pytest.skip``. Reports are only read afterwards, never rewritten.

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Any:
        try:
            return (yield)
        except Exception as exc:
            self._judge(item, exc, "setup")
            return None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        try:
            return (yield)
        except Exception as exc:
            self._judge(item, exc, "call")
            return None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report: pytest.TestReport = yield
        ids = [str(i) for mark in item.iter_markers("requirement") for i in mark.args]
        if ids:
            self._observe(item, ids, report, call)
        return report

    def _judge(self, item: pytest.Item, exc: Exception, when: str) -> None:
        """Decide what a failing check means for its requirements; re-raise a real failure."""
        from conformance._results import Observation
        from conformance.errors import ConformanceFailure

        ids = [str(i) for mark in item.iter_markers("requirement") for i in mark.args]
        if not ids:
            raise exc
        failing, level, message, detail = _explain(ids, exc)
        agg = self.aggregator
        judged: set[str] = item.stash.setdefault(_JUDGED_KEY, set())
        judged.add(when)
        expected = [rid for rid in failing if rid in agg.expected]
        if expected and len(expected) == len(failing):
            for rid in failing:
                note = f"expected: {agg.expected[rid]}"
                agg.add(rid, Observation("expected", note, item.nodeid, detail))
            reasons = "; ".join(f"{rid}: {agg.expected[rid]}" for rid in expected)
            pytest.xfail(f"expected failure ({reasons})")
        if level == "MAY" or (level == "SHOULD" and not self.settings.strict):
            # Never stricter than the contract: a SHOULD is a warning, a MAY nothing.
            status: Status = "warning" if level == "SHOULD" else "passed"
            for rid in failing:
                agg.add(rid, Observation(status, message, item.nodeid, detail))
            if level == "SHOULD":
                self.warnings.append(detail)
            if when == "call":
                # Shown as <system-out> in JUnit XML (junit_logging = system-out), so that
                # CI users see the warning next to the passing check.
                item.add_report_section("call", "stdout", f"{status.upper()}\n{detail}\n")
                return
            # A passed setup would let pytest run the check without its fixture.
            pytest.skip(f"{status}: {message}")
        for rid in failing:
            agg.add(rid, Observation("failed", message, item.nodeid, detail))
        if isinstance(exc, ConformanceFailure):
            item.stash[_DETAIL_KEY] = detail
        raise exc

    def _observe(
        self,
        item: pytest.Item,
        ids: list[str],
        report: pytest.TestReport,
        call: pytest.CallInfo[None],
    ) -> None:
        from conformance._results import Observation
        from conformance._results import shown

        agg = self.aggregator
        nodeid = item.nodeid
        judged = item.stash.get(_JUDGED_KEY, set())
        if report.when == "call" and report.passed and "call" not in judged:
            for rid in ids:
                agg.add(rid, Observation("passed", "", nodeid))
            return
        if report.skipped and not hasattr(report, "wasxfail") and report.when not in judged:
            reason = _skip_reason(report)
            for rid in ids:
                agg.add(rid, Observation("skipped", reason, nodeid))
            return
        if not report.failed:
            return
        if report.when in judged:
            detail = item.stash.get(_DETAIL_KEY, None)
            if detail is not None:
                # The structured explanation is the whole story; a traceback adds noise.
                report.longrepr = shown(detail)
            return
        # A failure outside the judged phases (e.g. teardown).
        exc = call.excinfo.value if call.excinfo is not None else None
        if isinstance(exc, Exception):
            failing, _level, message, text = _explain(ids, exc)
        else:
            failing, message, text = ids, f"{' '.join(ids)}: failed", str(report.longreprtext)
        for rid in failing:
            agg.add(rid, Observation("failed", message, nodeid, text))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from pathlib import Path

        result = self.aggregator.result(
            target=self.settings.course_list_url,
            seed=self.settings.seed,
            pytest_exit_code=int(exitstatus),
        )
        session.config.stash[RESULT_KEY] = result
        stale = [
            r
            for r in result.requirements
            if r.status == "failed" and r.id in self.aggregator.expected
        ]
        if stale and session.exitstatus == 0:
            # A waiver that no longer matches a failure must not linger silently.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.settings.report_json:
            Path(self.settings.report_json).write_text(result.to_json(), encoding="utf-8")
        if self.settings.html:
            Path(self.settings.html).write_text(result.to_html(), encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        result = terminalreporter.config.stash.get(RESULT_KEY, None)
        if result is None:
            return
        tr = terminalreporter
        if self.warnings:
            tr.section("cckit conformance: SHOULD warnings (fail with --cc-strict)")
            for text in self.warnings:
                tr.write_line(text)
                tr.write_line("")
        stale = [
            r
            for r in result.requirements
            if r.status == "failed" and r.id in self.aggregator.expected
        ]
        if stale:
            tr.section("cckit conformance: stale expected failures", red=True)
            for item in stale:
                tr.write_line(f"{item.id}: {item.message}")
        tr.section("cckit conformance: requirements")
        width = shutil.get_terminal_size(fallback=(100, 24)).columns
        for line in result.table(width=width).splitlines():
            tr.write_line(line)


def _explain(ids: list[str], exc: Exception) -> tuple[list[str], str, str, str]:
    """(failing requirement IDs, level, one-line message, full detail) of a check's failure."""
    import traceback

    import schemas
    from conformance.errors import ConformanceFailure

    if isinstance(exc, ConformanceFailure):
        detail = exc.render()
        notes = getattr(exc, "__notes__", None) or []
        if notes:
            detail += "\n" + "\n".join(str(n) for n in notes)
        return [exc.requirement], exc.level, exc.summary, detail
    levels = [schemas.requirement(rid).level for rid in ids]
    level = "MUST" if "MUST" in levels else ("SHOULD" if "SHOULD" in levels else "MAY")
    text = "".join(traceback.format_exception_only(exc)).strip()
    message = f"{' '.join(ids)}: {text.splitlines()[0] if text else 'failed'}"
    detail = "".join(traceback.format_exception(exc, limit=-3))
    return ids, level, message, detail


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason[len("Skipped: ") :] if reason.startswith("Skipped: ") else reason
    return str(longrepr or "skipped")
