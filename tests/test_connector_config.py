"""Settings resolution: home, database URL and secret key source precedence."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs
import pytest

from connector.config import Settings
from connector.errors import ConfigError


def test_defaults_to_platform_data_dir_and_sqlite_in_home() -> None:
    settings = Settings.resolve(environ={})
    expected = Path(platformdirs.user_data_dir("cckit", appauthor=False)).absolute()
    assert settings.home == expected
    assert settings.database_url == f"sqlite:///{expected / 'catalog.sqlite3'}"
    assert settings.content_dir == expected / "content"
    assert settings.secret_key_file == expected / "secret.key"
    assert settings.secret_key_source == "file"


def test_cckit_home_env_moves_everything(tmp_path: Path) -> None:
    settings = Settings.resolve(environ={"CCKIT_HOME": str(tmp_path / "h")})
    assert settings.home == tmp_path / "h"
    assert settings.database_url == f"sqlite:///{tmp_path / 'h' / 'catalog.sqlite3'}"
    assert not (tmp_path / "h").exists(), "resolving must not create anything"


def test_home_argument_beats_env(tmp_path: Path) -> None:
    settings = Settings.resolve(
        home=tmp_path / "arg", environ={"CCKIT_HOME": str(tmp_path / "env")}
    )
    assert settings.home == tmp_path / "arg"


def test_db_argument_beats_env_beats_default(tmp_path: Path) -> None:
    env = {"CCKIT_HOME": str(tmp_path), "CCKIT_DATABASE_URL": "sqlite:///env.db"}
    assert Settings.resolve(environ=env).database_url == "sqlite:///env.db"
    assert Settings.resolve(db_url="sqlite:///arg.db", environ=env).database_url == (
        "sqlite:///arg.db"
    )


def test_secret_key_source_follows_env(tmp_path: Path) -> None:
    env = {"CCKIT_HOME": str(tmp_path), "CCKIT_SECRET_KEY": "x" * 44}
    assert Settings.resolve(environ=env).secret_key_source == "env"


def test_bad_database_url_is_a_clear_error_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.resolve(db_url="not a url:pa55word", environ={"CCKIT_HOME": str(tmp_path)})
    assert "--db" in str(info.value)
    assert "pa55word" not in str(info.value)


def test_home_that_is_a_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        Settings.resolve(home=tmp_path / "file", environ={})


def test_repr_and_safe_url_hide_database_password(tmp_path: Path) -> None:
    settings = Settings.resolve(
        home=tmp_path, db_url="postgresql+psycopg://admin:hunter2@db.example/cckit", environ={}
    )
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in settings.safe_database_url
    assert "db.example" in settings.safe_database_url


def test_ensure_home_creates_a_directory_only_its_group_may_enter(tmp_path: Path) -> None:
    settings = Settings.resolve(home=tmp_path / "new" / "home", environ={})
    previous = os.umask(0o002)
    try:
        assert settings.ensure_home() == tmp_path / "new" / "home"
    finally:
        os.umask(previous)
    assert (tmp_path / "new" / "home").is_dir()
    # 0750: a web server in the group reaches content/; others get nothing.
    assert stat.S_IMODE((tmp_path / "new" / "home").stat().st_mode) == 0o750


def test_ensure_home_keeps_the_mode_of_an_existing_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    Settings.resolve(home=home, environ={}).ensure_home()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
