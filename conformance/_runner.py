"""Run the shipped suite in-process through ``pytest.main`` (CLI and library entry point)."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance._results import ConformanceResult
from conformance._settings import OptionStyle
from conformance._settings import Settings
from conformance._settings import build
from conformance.errors import ConfigurationError
from conformance.errors import TargetUnreachableError

_PACKAGE_DIR = Path(__file__).resolve().parent


def check_vendor(
    course_list_url: str,
    *,
    client_id: str,
    client_secret: str | None = None,
    auth_url: str | None = None,
    auth_mode: str = "oauth2",
    max_packages: int | None = None,
    seed: int | None = None,
    strict: bool = False,
    expected_failures: str | os.PathLike[str] | None = None,
    report_json: str | os.PathLike[str] | None = None,
    junitxml: str | os.PathLike[str] | None = None,
    html: str | os.PathLike[str] | None = None,
    quiet: bool = True,
    pytest_args: Sequence[str] = (),
    option_style: OptionStyle = "pytest",
) -> ConformanceResult:
    """Check a vendor against contract v1 and return the per-requirement result.

    Args:
        course_list_url: The vendor's course list URL (Provider URL).
        client_id: The client ID the vendor issued.
        client_secret: The client secret (default: the ``CCKIT_CLIENT_SECRET`` variable).
        auth_url: The token URL (Authentication URL); required in oauth2 mode.
        auth_mode: ``"oauth2"`` (default) or ``"basic"``.
        max_packages: Packages to download and check (default 10).
        seed: Seed of the package sample and the probes (default 0).
        strict: Fail SHOULD requirements too.
        expected_failures: A JSON/YAML file of requirement IDs expected to fail.
        report_json: Write the JSON report here.
        junitxml: Write a JUnit XML report here.
        html: Write a self-contained HTML report here.
        quiet: Swallow pytest's console output (the CLI shows it).
        pytest_args: Extra pytest arguments (e.g. ``["-k", "AUTH"]``).
        option_style: How error messages name options: ``"pytest"`` (``--cc-auth-url``)
            or ``"cli"`` (``--auth-url``, for ``cckit conformance run``).

    The run is in-process (``pytest.main``); relative paths given here are made absolute
    first. It neither changes the working directory nor touches ``sys.modules``. Do not
    call it from several threads at once (pytest keeps global state).

    Returns:
        The :class:`~conformance.ConformanceResult` (``exit_code`` 0 when nothing failed).

    Raises:
        ConfigurationError: Missing or invalid options, or pytest refused the run.
        TargetUnreachableError: The course list or token URL refuses connections.
    """

    def absolute(path: str | os.PathLike[str] | None) -> str | None:
        return os.path.abspath(path) if path else None

    settings = build(
        course_list_url=course_list_url,
        auth_url=auth_url,
        client_id=client_id,
        client_secret=client_secret or os.environ.get("CCKIT_CLIENT_SECRET"),
        auth_mode=auth_mode,
        max_packages=max_packages,
        seed=seed,
        strict=strict,
        expected_failures=absolute(expected_failures),
        report_json=absolute(report_json),
        html=absolute(html),
        option_style=option_style,
    )
    preflight(settings)
    args = pytest_arguments(settings, junitxml=None, quiet=quiet)
    args += list(pytest_args)
    result = run_pytest(args, settings, quiet=quiet)
    if junitxml:
        # One test case per requirement, like the table and the JSON report (pytest's own
        # --junitxml would count checks instead).
        Path(os.fspath(junitxml)).write_text(result.to_junit(), encoding="utf-8")
    return result


def preflight(settings: Settings) -> None:
    """Fail fast, with one clear line, when an endpoint refuses connections.

    Raises:
        TargetUnreachableError: Naming the URL and the transport problem.
    """
    import requests

    targets = [("course list URL", settings.course_list_url)]
    if settings.auth_mode == "oauth2" and settings.auth_url:
        targets.append(("authentication URL", settings.auth_url))
    for label, url in targets:
        try:
            requests.get(url, timeout=(10, 30), allow_redirects=False).close()
        except requests.exceptions.SSLError as exc:
            raise TargetUnreachableError(f"{label} {url}: TLS error: {_reason(exc)}") from None
        except requests.exceptions.ConnectionError as exc:
            raise TargetUnreachableError(
                f"{label} {url}: cannot connect ({_reason(exc)})"
            ) from None
        except requests.exceptions.Timeout:
            raise TargetUnreachableError(f"{label} {url}: no answer within 30 s") from None
        except requests.RequestException as exc:
            raise TargetUnreachableError(f"{label} {url}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "timed out",
        "No route to host",
        "nodename nor servname",
        "certificate verify failed",
    ):
        if marker in text:
            return marker.lower() if marker != "Connection refused" else "connection refused"
    return text.splitlines()[0][:200] if text else exc.__class__.__name__


def pytest_arguments(
    settings: Settings, *, junitxml: str | os.PathLike[str] | None, quiet: bool
) -> list[str]:
    """The ``pytest.main`` arguments that run the shipped suite with these settings."""
    args = [
        "--pyargs",
        "conformance.suite",
        "--rootdir",
        str(_PACKAGE_DIR.parent),
        "-c",
        str(_PACKAGE_DIR / "conformance.ini"),
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        # NAME=VALUE: a value may start with "-" (generated secrets do).
        f"--cc-course-list-url={settings.course_list_url}",
        f"--cc-client-id={settings.client_id}",
        f"--cc-client-secret={settings.client_secret}",
        f"--cc-auth-mode={settings.auth_mode}",
        f"--cc-max-packages={settings.max_packages}",
        f"--cc-seed={settings.seed}",
    ]
    if settings.auth_url:
        args.append(f"--cc-auth-url={settings.auth_url}")
    if settings.strict:
        args.append("--cc-strict")
    if not quiet:
        # Progress lines on long fetches reach the terminal only without capture; the
        # checks themselves print nothing.
        args += ["--cc-progress", "-s"]
    if settings.expected_failures_file:
        args.append(f"--cc-expected-failures={settings.expected_failures_file}")
    if settings.report_json:
        args.append(f"--cc-report-json={settings.report_json}")
    if settings.html:
        args.append(f"--cc-html={settings.html}")
    if junitxml:
        args.append(f"--junitxml={os.fspath(junitxml)}")
    # -qq: pytest's own count line ("68 passed, 2 skipped") counts checks, not
    # requirements; the plugin's table ends with the per-requirement count instead.
    args.append("-q" if quiet else "-qq")
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        # Entry points are off: load the plugin (and hypothesis's) by name.
        args += ["-p", "conformance.plugin"]
    return args


class _Sink:
    """Picks the result out of the run's config before pytest tears it down."""

    def __init__(self) -> None:
        self.result: ConformanceResult | None = None

    def pytest_unconfigure(self, config: Any) -> None:
        from conformance.plugin import result_of

        self.result = result_of(config)


def run_pytest(args: list[str], settings: Settings, *, quiet: bool) -> ConformanceResult:
    """Run pytest in-process and return the run's result.

    Raises:
        ConfigurationError: pytest ended without a result (usage error, interruption).
    """
    import pytest

    sink = _Sink()
    output = io.StringIO()
    redirect = contextlib.redirect_stdout(output) if quiet else contextlib.nullcontext()
    # Check names come from --rootdir (the kit's folder): "conformance/suite/test_auth.py::"
    # wherever the caller stands; the working directory and sys.modules are left alone.
    with redirect:
        code = pytest.main(args, plugins=[sink])
    if sink.result is None:
        tail = output.getvalue().strip().splitlines()[-5:]
        raise ConfigurationError(
            f"the conformance suite did not run (pytest exit code {int(code)})"
            + (": " + " / ".join(tail) if tail else "")
        )
    return sink.result
