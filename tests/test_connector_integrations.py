"""Integrations: library CRUD and validation, and `cckit integrations ...` via CliRunner."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cckit.cli import main
from connector import db
from connector import integrations
from connector.config import Settings
from connector.errors import IntegrationExists
from connector.errors import IntegrationNotFound
from connector.errors import InvalidField

pytestmark = pytest.mark.usefixtures("cckit_home")

PLAIN = "sup3r-s3cret-for-tests"
VALID = {
    "name": "tts",
    "provider": "TTS",
    "provider_url": "https://vendor.example/api/courses",
    "auth_url": "https://vendor.example/oauth/token",
    "client_id": "client-1",
    "client_secret": PLAIN,
    "sync_time": "03:30",
    "timezone": "Europe/Paris",
}


def _cli(*args: str, input: str | None = None, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def _add_args(**overrides: str) -> list[str]:
    values = {**VALID, **overrides}
    args = ["integrations", "add"]
    for key, value in values.items():
        args += [f"--{key.replace('_', '-')}", value]
    return args


# --- library ------------------------------------------------------------------------


def test_add_get_list_update_remove(engine: sa.Engine, settings: Settings) -> None:
    item = integrations.add(engine, settings, **VALID)
    assert item.name == "tts"
    assert item.sync_time == dt.time(3, 30)
    assert item.timezone == "Europe/Paris"
    assert item.auth_mode == "oauth2"
    assert item.enabled is True
    assert item.full_every_days == 7
    assert item.last_success_started_at is None
    assert integrations.get(engine, settings, "tts").client_secret.reveal() == PLAIN

    integrations.add(engine, settings, **{**VALID, "name": "acme", "provider": "Acme"})
    assert [i.name for i in integrations.list_all(engine, settings)] == ["acme", "tts"]

    updated = integrations.update(
        engine, settings, "tts", sync_time="23:05", new_name="tts-prod", client_secret="new-one"
    )
    assert updated.name == "tts-prod"
    assert updated.sync_time_text == "23:05"
    assert updated.client_secret.reveal() == "new-one"
    assert updated.provider == "TTS"  # untouched

    integrations.disable(engine, settings, "acme")
    assert [i.name for i in integrations.list_all(engine, settings, enabled_only=True)] == [
        "tts-prod"
    ]
    integrations.enable(engine, settings, "acme")
    assert len(integrations.list_all(engine, settings, enabled_only=True)) == 2

    integrations.remove(engine, settings, "acme")
    with pytest.raises(IntegrationNotFound):
        integrations.get(engine, settings, "acme")


def test_duplicate_name_is_refused(engine: sa.Engine, settings: Settings) -> None:
    integrations.add(engine, settings, **VALID)
    with pytest.raises(IntegrationExists):
        integrations.add(engine, settings, **VALID)
    integrations.add(engine, settings, **{**VALID, "name": "other"})
    with pytest.raises(IntegrationExists):
        integrations.update(engine, settings, "other", new_name="tts")


def test_remove_deletes_dependent_rows(engine: sa.Engine, settings: Settings) -> None:
    item = integrations.add(engine, settings, **VALID)
    now = db.utcnow()
    with engine.begin() as conn:
        course = conn.execute(
            sa.insert(db.courses).values(
                integration_id=item.id,
                vendor_id="C1",
                title="t",
                languages=[],
                subjects=[],
                keywords=[],
                localization=[],
                protected_fields=[],
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        conn.execute(
            sa.insert(db.package_versions).values(
                course_id=course, sha256="0" * 64, size=1, stored_path="/x", downloaded_at=now
            )
        )
        run = conn.execute(
            sa.insert(db.sync_runs).values(
                integration_id=item.id, started_at=now, status="succeeded", counts={}
            )
        ).inserted_primary_key[0]
        conn.execute(
            sa.insert(db.course_outcomes).values(
                run_id=run, vendor_id="C1", outcome="new", rule_ids=[]
            )
        )
    integrations.remove(engine, settings, "tts")
    with engine.connect() as conn:
        for table in (db.courses, db.package_versions, db.sync_runs, db.course_outcomes):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("provider_url", "ftp://vendor.example/courses", "http(s)"),
        ("provider_url", "http://vendor.example/courses", "loopback"),
        ("provider_url", "https:///courses", "no host"),
        ("provider_url", "https://user:pw@vendor.example/c", "user name or password"),
        ("auth_url", "not a url", "http(s)"),
        ("auth_url", "http://10.0.0.5/token", "loopback"),
        ("sync_time", "25:00", "time of day"),
        ("sync_time", "3pm", "HH:MM"),
        ("sync_time", "03:60", "time of day"),
        ("timezone", "Mars/Olympus", "unknown time zone"),
        ("timezone", "../etc/passwd", "unknown time zone"),
        ("name", "has space", "integration name"),
        ("name", "", "integration name"),
        ("provider", "   ", "must not be empty"),
        ("client_id", "", "must not be empty"),
        ("client_secret", "", "must not be empty"),
        ("auth_mode", "digest", "oauth2, basic"),
    ],
)
def test_validation_names_the_field(
    engine: sa.Engine, settings: Settings, field: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidField) as info:
        integrations.add(engine, settings, **{**VALID, field: value})
    assert info.value.field == field
    assert message in info.value.message
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.integrations)).scalar() == 0


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/c", "http://localhost/c", "http://[::1]:5000/c", "https://x.example/c"],
)
def test_loopback_http_and_https_are_accepted(url: str) -> None:
    assert integrations.validate_url("provider_url", url) == url


def test_basic_mode_needs_no_auth_url(engine: sa.Engine, settings: Settings) -> None:
    item = integrations.add(engine, settings, **{**VALID, "auth_url": None, "auth_mode": "basic"})
    assert item.auth_url is None
    with pytest.raises(InvalidField) as info:
        integrations.update(engine, settings, "tts", auth_mode="oauth2")
    assert info.value.field == "auth_url"


def test_full_every_days_bounds(engine: sa.Engine, settings: Settings) -> None:
    with pytest.raises(InvalidField, match="full_every_days"):
        integrations.add(engine, settings, **VALID, full_every_days=0)


# --- CLI ----------------------------------------------------------------------------


def test_cli_add_list_show_json(tmp_path: Path) -> None:
    result = _cli(*_add_args(), "--full-every-days", "3")
    assert result.exit_code == 0, result.output
    assert "Added integration tts" in result.output

    listed = _cli("integrations", "list", "--format", "json")
    assert listed.exit_code == 0
    data = json.loads(listed.output)
    assert [d["name"] for d in data] == ["tts"]
    assert data[0]["full_every_days"] == 3
    assert data[0]["last_complete_sync"] is None
    assert data[0]["last_clean_sync"] is None
    assert data[0]["client_secret"] == "***"

    text = _cli("integrations", "list")
    assert "LAST COMPLETE SYNC" in text.output
    assert "never" in text.output

    shown = _cli("integrations", "show", "tts")
    assert shown.exit_code == 0
    assert "Last complete sync:    never" in shown.output
    assert "Last clean sync:       never" in shown.output
    assert "Provider URL:" in shown.output
    assert "*** (stored encrypted)" in shown.output
    for result in (listed, text, shown):
        assert PLAIN not in result.output


def test_cli_shows_last_complete_and_last_clean_sync(settings: Settings) -> None:
    assert _cli(*_add_args()).exit_code == 0
    engine = db.connect(settings)
    clean = dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC)
    partial = dt.datetime(2026, 11, 26, 3, 30, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(sa.update(db.integrations).values(last_success_started_at=partial))
        for started, status in ((clean, "succeeded"), (partial, "partial")):
            conn.execute(
                sa.insert(db.sync_runs).values(
                    integration_id=1, started_at=started, status=status, counts={"new": 2}
                )
            )
    engine.dispose()
    shown = _cli("integrations", "show", "tts")
    # A run with failed courses is complete (its list was read) but not clean.
    assert "Last complete sync:    2026-11-26 03:30:00 UTC" in shown.output
    assert "Last clean sync:       2026-11-25 03:30:00 UTC" in shown.output
    assert "Last run:              #2 partial" in shown.output
    data = json.loads(_cli("integrations", "show", "tts", "--format", "json").output)
    assert data["last_complete_sync"] == "2026-11-26T03:30:00Z"
    assert data["last_clean_sync"] == "2026-11-25T03:30:00Z"
    assert data["last_run"]["status"] == "partial"


def test_cli_secret_from_env_and_prompt(settings: Settings) -> None:
    args = [a for a in _add_args() if a not in ("--client-secret", PLAIN)]
    from_env = _cli(*args, "--client-secret-env", "VENDOR_SECRET", env={"VENDOR_SECRET": PLAIN})
    assert from_env.exit_code == 0, from_env.output
    assert PLAIN not in from_env.output

    prompted = _cli(*[a if a != "tts" else "tts2" for a in args], input=PLAIN + "\n")
    assert prompted.exit_code == 0, prompted.output
    assert PLAIN not in prompted.output  # hidden input is not echoed

    engine = db.connect(settings)
    for name in ("tts", "tts2"):
        assert integrations.get(engine, settings, name).client_secret.reveal() == PLAIN
    engine.dispose()


def test_cli_missing_secret_env_names_the_option() -> None:
    args = [a for a in _add_args() if a not in ("--client-secret", PLAIN)]
    result = _cli(*args, "--client-secret-env", "NOPE_NOT_SET")
    assert result.exit_code == 2
    assert "--client-secret-env" in result.output
    assert "NOPE_NOT_SET" in result.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("provider_url", "http://vendor.example/c", "plain http is only allowed for loopback"),
        ("auth_url", "gopher://x", "must be an http(s) URL"),
        ("sync_time", "24:00", "not a time of day"),
        ("timezone", "Nowhere/City", "unknown time zone"),
        ("name", "bad/name", "not a valid integration name"),
    ],
)
def test_cli_validation_errors_name_the_option(option: str, value: str, message: str) -> None:
    result = _cli(*_add_args(**{option: value}))
    assert result.exit_code == 2
    assert f"--{option.replace('_', '-')}" in result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert PLAIN not in result.output


def test_cli_update_enable_disable_remove() -> None:
    assert _cli(*_add_args()).exit_code == 0
    assert _cli(*_add_args()).exit_code == 1  # duplicate
    result = _cli("integrations", "update", "tts", "--sync-time", "04:15", "--timezone", "UTC")
    assert result.exit_code == 0, result.output
    data = json.loads(_cli("integrations", "show", "tts", "--format", "json").output)
    assert (data["sync_time"], data["timezone"]) == ("04:15", "UTC")

    assert _cli("integrations", "update", "tts", "--sync-time", "4h").exit_code == 2
    assert _cli("integrations", "disable", "tts").exit_code == 0
    assert (
        json.loads(_cli("integrations", "show", "tts", "--format", "json").output)["enabled"]
        is False
    )
    assert _cli("integrations", "enable", "tts").exit_code == 0

    missing = _cli("integrations", "show", "nope")
    assert missing.exit_code == 1
    assert "no integration named 'nope'" in missing.output

    assert _cli("integrations", "remove", "tts", input="n\n").exit_code == 1  # aborted
    removed = _cli("integrations", "remove", "tts", "--yes")
    assert removed.exit_code == 0
    assert json.loads(_cli("integrations", "list", "--format", "json").output) == []


def test_cli_db_option_overrides_home(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    assert _cli(*_add_args(), "--db", url).exit_code == 0
    assert (tmp_path / "elsewhere.db").exists()
    default = _cli("integrations", "list", "--format", "json")  # not created
    assert default.exit_code == 1
    assert "no catalog database" in default.output
    listed = _cli("integrations", "list", "--format", "json", "--db", url)
    assert [d["name"] for d in json.loads(listed.output)] == ["tts"]


def test_cli_never_logs_or_stores_the_secret(
    caplog: pytest.LogCaptureFixture, settings: Settings
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs = [
        _cli(*_add_args()).output,
        _cli("integrations", "show", "tts", "--format", "json").output,
        _cli("integrations", "update", "tts", "--client-secret", PLAIN + "2").output,
        _cli("integrations", "list").output,
    ]
    for text in [*outputs, caplog.text]:
        assert PLAIN not in text
    stored = b"".join(p.read_bytes() for p in settings.home.glob("catalog.sqlite3*"))
    assert PLAIN.encode() not in stored


def test_cli_checks_fields_before_prompting_for_the_secret() -> None:
    args = [
        a
        for a in _add_args(provider_url="ftp://x.example/c")
        if a not in ("--client-secret", PLAIN)
    ]
    result = _cli(*args)  # no input: a prompt would abort instead
    assert result.exit_code == 2
    assert "--provider-url" in result.output
    assert "Client secret" not in result.output


def test_cli_update_prompts_for_a_new_secret(settings: Settings) -> None:
    assert _cli(*_add_args()).exit_code == 0
    result = _cli("integrations", "update", "tts", "--prompt-secret", input="rotated-secret\n")
    assert result.exit_code == 0, result.output
    assert "rotated-secret" not in result.output
    engine = db.connect(settings)
    assert integrations.get(engine, settings, "tts").client_secret.reveal() == "rotated-secret"
    engine.dispose()


def test_cli_both_secret_options_is_a_usage_error() -> None:
    result = _cli(*_add_args(), "--client-secret-env", "X")
    assert result.exit_code == 2
    assert "not both" in result.output


def test_remove_refuses_while_a_sync_holds_the_lock(engine: sa.Engine, settings: Settings) -> None:
    from connector import lock
    from connector.errors import SyncLockedError

    item = integrations.add(engine, settings, **VALID)
    held = lock.acquire(engine, item.id, name=item.name, heartbeat=False)
    try:
        with pytest.raises(SyncLockedError):
            integrations.remove(engine, settings, "tts")
        result = _cli("integrations", "remove", "tts", "--yes")
        assert result.exit_code == 1
        assert "tts" in result.output
        assert integrations.get(engine, settings, "tts").id == item.id
    finally:
        held.release()
    integrations.remove(engine, settings, "tts")
    with pytest.raises(IntegrationNotFound):
        integrations.get(engine, settings, "tts")
