"""Client secrets: redaction, Fernet at rest, key file 0600, clear error on a changed key."""

from __future__ import annotations

import logging
import os
import pickle
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connector import db
from connector import integrations
from connector.config import Settings
from connector.errors import SecretKeyError
from connector.secrets import Secret
from connector.secrets import decrypt
from connector.secrets import encrypt

pytestmark = pytest.mark.usefixtures("cckit_home")

PLAIN = "pl41n-s3cret-VALUE-xyz"


def _add(settings: Settings) -> integrations.Integration:
    engine = db.connect(settings)
    return integrations.add(
        engine,
        settings,
        name="tts",
        provider="TTS",
        provider_url="https://vendor.example/courses",
        auth_url="https://vendor.example/token",
        client_id="client-1",
        client_secret=PLAIN,
        sync_time="03:00",
    )


def test_secret_never_shows_itself() -> None:
    secret = Secret(PLAIN)
    for text in (str(secret), repr(secret), f"{secret}", f"{secret!r}", format(secret)):
        assert PLAIN not in text
        assert "***" in text
    assert secret.reveal() == PLAIN
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_integration_repr_and_dict_hide_the_secret() -> None:
    item = _add(Settings.resolve())
    assert PLAIN not in repr(item)
    assert PLAIN not in str(item.to_dict())
    assert item.client_secret.reveal() == PLAIN


def test_secret_is_encrypted_at_rest(tmp_path: Path) -> None:
    settings = Settings.resolve()
    _add(settings)
    stored = b"".join(p.read_bytes() for p in settings.home.glob("catalog.sqlite3*"))
    assert stored, "the database file exists"
    assert PLAIN.encode() not in stored
    assert b"client-1" in stored  # the client ID is not secret and is stored plainly


def test_key_file_is_created_owner_only(tmp_path: Path) -> None:
    settings = Settings.resolve()
    token = encrypt(settings, Secret(PLAIN))
    mode = stat.S_IMODE(os.stat(settings.secret_key_file).st_mode)
    assert mode == 0o600
    assert decrypt(settings, token).reveal() == PLAIN
    # The key is reused, not regenerated.
    key = settings.secret_key_file.read_bytes()
    encrypt(settings, Secret("other"))
    assert settings.secret_key_file.read_bytes() == key


def test_env_key_is_used_and_no_key_file_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("CCKIT_SECRET_KEY", key)
    settings = Settings.resolve()
    token = encrypt(settings, Secret(PLAIN))
    assert not settings.secret_key_file.exists()
    assert Fernet(key.encode()).decrypt(token.encode()).decode() == PLAIN


def test_changed_key_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.resolve()
    item = _add(settings)
    assert item.client_secret.reveal() == PLAIN
    monkeypatch.setenv("CCKIT_SECRET_KEY", Fernet.generate_key().decode())
    # Reading the integration still works (listing must not need the key) ...
    again = integrations.get(db.connect(settings), settings, "tts")
    # ... using the secret says what happened.
    with pytest.raises(SecretKeyError, match="the secret key changed") as info:
        again.client_secret.reveal()
    assert "tts" in str(info.value)
    assert PLAIN not in str(info.value)


def test_missing_key_file_after_storing_is_a_clear_error() -> None:
    settings = Settings.resolve()
    item = _add(settings)
    settings.secret_key_file.unlink()
    again = integrations.get(db.connect(settings), settings, item.name)
    with pytest.raises(SecretKeyError, match="no secret key"):
        again.client_secret.reveal()


def test_malformed_env_key_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCKIT_SECRET_KEY", "too-short")
    with pytest.raises(SecretKeyError, match="CCKIT_SECRET_KEY: not a valid key") as info:
        encrypt(Settings.resolve(), Secret(PLAIN))
    assert "too-short" not in str(info.value)


def test_secret_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings.resolve()
    item = _add(settings)
    logging.getLogger("test").info("integration %r secret %s", item, item.client_secret)
    assert PLAIN not in caplog.text


def test_loose_key_file_permissions_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.resolve()
    token = encrypt(settings, Secret(PLAIN))
    settings.secret_key_file.chmod(0o644)
    caplog.set_level(logging.WARNING, logger="connector.secrets")
    assert decrypt(settings, token).reveal() == PLAIN
    assert "readable by other users" in caplog.text
    assert settings.secret_key_file.read_text().strip() not in caplog.text
