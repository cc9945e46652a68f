"""The pytest plugin: inert without options, option resolution, header, markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance._settings import resolve
from conformance.errors import ConfigurationError
from mock_vendor.testing import serve

pytest_plugins = ["pytester"]


def test_suite_is_skipped_with_a_reason_without_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(
        "--pyargs", "conformance.suite", "-p", "no:cacheprovider", "-rs"
    )
    outcomes = result.parseoutcomes()
    assert result.ret == 0
    assert outcomes.get("skipped", 0) > 50
    assert "passed" not in outcomes
    assert "failed" not in outcomes
    result.stdout.fnmatch_lines(
        ["*cckit conformance suite not configured: pass --cc-course-list-url*"]
    )
    assert "cckit conformance: target" not in result.stdout.str()


def test_plugin_leaves_an_ordinary_run_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requirement("AUTH-001")
        def test_marked(request):
            assert request.node.get_closest_marker("requirement").args == ("AUTH-001",)

        def test_plain(request):
            assert "client" not in request.fixturenames
        """
    )
    result = pytester.runpytest_inprocess("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "cckit conformance" not in result.stdout.str()


def test_header_shows_resolved_settings_with_the_secret_redacted(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"COURSES": 4, "MAX_ASSET_BYTES": 4096, "CACHE_DIR": str(tmp_path / "cache")}
    with serve(config) as vendor:
        monkeypatch.setenv("CCKIT_CLIENT_SECRET", vendor.client_secret)
        monkeypatch.setenv("CCKIT_CC_SEED", "7")
        result = pytester.runpytest_inprocess(
            "--pyargs",
            "conformance.suite",
            "-p",
            "no:cacheprovider",
            "--cc-course-list-url",
            vendor.course_list_url,
            "--cc-auth-url",
            vendor.auth_url,
            "--cc-client-id",
            vendor.client_id,
            "--cc-max-packages",
            "1",
            "-k",
            "test_list_is_json or test_token_request_with_basic_client_auth",
        )
        secret = vendor.client_secret
    result.stdout.fnmatch_lines(
        [
            f"cckit conformance: target {vendor.course_list_url} (from cli)",
            "  client secret: [redacted] (from env)",
            "  seed: 7 (from env) (reproduce with --cc-seed 7)",
        ]
    )
    assert secret not in result.stdout.str()
    result.assert_outcomes(passed=2, deselected=result.parseoutcomes()["deselected"])


def _resolver(cli: dict[str, Any], ini: dict[str, Any], env: dict[str, str]) -> Any:
    return resolve(lambda name: cli.get(name), lambda name: ini.get(name), env)


def test_option_beats_environment_beats_ini() -> None:
    base_cli = {"client_id": "c", "client_secret": "s", "auth_url": "http://127.0.0.1/t"}
    ini = {"cc_course_list_url": "http://ini/x", "cc_seed": "1", "cc_max_packages": "2"}
    env = {"CCKIT_CC_COURSE_LIST_URL": "http://env/x", "CCKIT_CC_SEED": "3"}
    settings = _resolver({**base_cli, "course_list_url": "http://cli/x"}, ini, env)
    assert settings.course_list_url == "http://cli/x"
    assert settings.seed == 3
    assert settings.max_packages == 2
    assert settings.sources["course_list_url"] == "cli"
    assert settings.sources["seed"] == "env"
    assert settings.sources["max_packages"] == "ini"
    assert _resolver(base_cli, ini, env).course_list_url == "http://env/x"
    assert _resolver(base_cli, ini, {}).course_list_url == "http://ini/x"


def test_no_course_list_url_means_inert() -> None:
    assert _resolver({"client_id": "c"}, {}, {}) is None


def test_secret_from_the_environment_and_never_in_repr() -> None:
    settings = _resolver(
        {"course_list_url": "http://v/x", "client_id": "c", "auth_mode": "basic"},
        {},
        {"CCKIT_CLIENT_SECRET": "hunter2-secret"},
    )
    assert settings.client_secret == "hunter2-secret"
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in "\n".join(settings.header_lines())


@pytest.mark.parametrize(
    ("cli", "message"),
    [
        ({"auth_mode": "digest"}, "expected oauth2 or basic"),
        ({"auth_url": None}, "--cc-auth-url is required"),
        ({"max_packages": "many"}, "--cc-max-packages: expected an integer"),
        ({"seed": "-1"}, "--cc-seed: must be >= 0"),
        ({"course_list_url": "ftp://v/x"}, "expected an absolute http(s) URL"),
    ],
)
def test_invalid_options_name_the_option(cli: dict[str, Any], message: str) -> None:
    good = {
        "course_list_url": "http://v/x",
        "auth_url": "http://v/t",
        "client_id": "c",
        "client_secret": "s",
    }
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _resolver({**good, **cli}, {}, {})


def test_invalid_option_is_a_pytest_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(
        "--cc-course-list-url",
        "http://127.0.0.1:9/x",
        "--cc-client-id",
        "c",
        "--cc-client-secret",
        "s",
        "--cc-auth-mode",
        "basic",
        "--cc-seed",
        "x",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--cc-seed: expected an integer*"])


def test_pytest_run_fails_on_a_must_failure_and_on_a_stale_waiver(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    config = {
        "COURSES": 4,
        "MAX_ASSET_BYTES": 4096,
        "CACHE_DIR": str(tmp_path / "cache"),
        "FAULTS": ["missing_no_store"],
    }
    waiver = tmp_path / "expected.json"
    waiver.write_text('{"AUTH-007": "fix ships in 2027.1", "AUTH-004": "old bug"}', "utf-8")
    with serve(config, check_problems=False) as vendor:
        common = [
            "--pyargs",
            "conformance.suite",
            "-p",
            "no:cacheprovider",
            f"--cc-course-list-url={vendor.course_list_url}",
            f"--cc-auth-url={vendor.auth_url}",
            f"--cc-client-id={vendor.client_id}",
            f"--cc-client-secret={vendor.client_secret}",
            "--cc-max-packages=1",
            "-k",
            "test_token_response_not_cached or test_unknown_scope_is_ignored",
        ]
        failing = pytester.runpytest_inprocess(*common)
        waived = pytester.runpytest_inprocess(*common, f"--cc-expected-failures={waiver}")
    assert failing.ret == pytest.ExitCode.TESTS_FAILED
    failing.stdout.fnmatch_lines(["AUTH-007 (MUST) Token response carries Cache-Control: no-store"])
    # AUTH-007 is waived (xfail); AUTH-004 passes although listed: the waiver is stale.
    assert waived.ret == pytest.ExitCode.TESTS_FAILED
    waived.stdout.fnmatch_lines(
        [
            "*stale expected failures*",
            "AUTH-004: listed in the expected-failures file (old bug) but passed: remove the entry",
        ]
    )
    assert waived.parseoutcomes()["xfailed"] == 1


def test_unknown_requirement_id_in_a_marker_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.requirement("AUTH-999")
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest_inprocess(
        "--cc-course-list-url=http://127.0.0.1:9/x",
        "--cc-client-id=c",
        "--cc-client-secret=s",
        "--cc-auth-mode=basic",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown requirement ID 'AUTH-999'*"])
