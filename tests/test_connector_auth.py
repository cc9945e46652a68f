"""OAuth2 client credentials and Basic mode, against `responses`."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from connector.auth import BasicAuth
from connector.auth import ClientCredentialsAuth
from connector.auth import make_auth
from connector.client import VendorClient
from connector.errors import AuthenticationError
from connector.http import make_session
from connector.secrets import Secret

TOKEN_URL = "https://vendor.example/oauth/token"
LIST_URL = "https://vendor.example/courses"
CLIENT_ID = "lms-client"
SECRET = "s3cret-Value-XYZ"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
INVALID_TOKEN = {"WWW-Authenticate": 'Bearer realm="courses", error="invalid_token"'}


@dataclass(frozen=True)
class Opts:
    timeout: float = 5.0
    retries: int = 2
    max_retry_after: float = 1.0
    backoff_factor: float = 0.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _token(token: str, expires_in: int = 3600) -> Any:
    return responses.post(
        TOKEN_URL,
        json={"access_token": token, "token_type": "bearer", "expires_in": expires_in},
        headers={"Cache-Control": "no-store"},
        match=[
            matchers.header_matcher({"Authorization": BASIC}),
            matchers.urlencoded_params_matcher({"grant_type": "client_credentials"}),
        ],
    )


def _session(clock: FakeClock | None = None) -> tuple[requests.Session, ClientCredentialsAuth]:
    session = make_session(Opts())
    auth = ClientCredentialsAuth(
        TOKEN_URL, CLIENT_ID, Secret(SECRET), session, clock=clock or FakeClock()
    )
    session.auth = auth
    return session, auth


def _bearer(call: responses.Call) -> str:
    return str(call.request.headers["Authorization"])


@responses.activate
def test_token_fetched_with_basic_and_reused() -> None:
    token = _token("tok-1")
    listing = responses.get(LIST_URL, json=[])
    session, auth = _session()
    for _ in range(3):
        assert session.get(LIST_URL).status_code == 200
    assert token.call_count == 1
    assert listing.call_count == 3
    assert all(_bearer(c) == "Bearer tok-1" for c in responses.calls if c.request.method == "GET")
    assert auth.token_fetches == 1


@responses.activate
def test_token_refetched_shortly_before_expiry() -> None:
    clock = FakeClock()
    responses.post(
        TOKEN_URL, json={"access_token": "tok-1", "token_type": "Bearer", "expires_in": 300}
    )
    responses.get(LIST_URL, json=[])
    session, auth = _session(clock)
    session.get(LIST_URL)
    clock.now += 269  # 300 s token, 30 s leeway: still good
    session.get(LIST_URL)
    assert auth.token_fetches == 1
    clock.now += 2  # now inside the leeway window
    responses.replace(
        responses.POST,
        TOKEN_URL,
        json={"access_token": "tok-2", "token_type": "Bearer", "expires_in": 300},
    )
    session.get(LIST_URL)
    assert auth.token_fetches == 2
    assert _bearer(responses.calls[-1]) == "Bearer tok-2"


@responses.activate(registry=OrderedRegistry)
def test_invalid_token_mid_sync_reauthenticates_once() -> None:
    _token("tok-1")
    responses.get(LIST_URL, json=[{"page": 1}])
    responses.get(LIST_URL, status=401, headers=INVALID_TOKEN, json={"error": "invalid_token"})
    _token("tok-2")
    responses.get(LIST_URL, json=[{"page": 2}])
    session, auth = _session()
    assert session.get(LIST_URL).json() == [{"page": 1}]
    second = session.get(LIST_URL)
    assert second.status_code == 200
    assert second.json() == [{"page": 2}]
    assert second.history[0].status_code == 401
    assert _bearer(responses.calls[-1]) == "Bearer tok-2"
    assert auth.reauthentications == 1


@responses.activate(registry=OrderedRegistry)
def test_reauthentication_happens_only_once_per_call() -> None:
    _token("tok-1")
    responses.get(LIST_URL, status=401, headers=INVALID_TOKEN)
    _token("tok-2")
    responses.get(LIST_URL, status=401, headers=INVALID_TOKEN)
    session, _ = _session()
    client = VendorClient(session, LIST_URL)
    with pytest.raises(AuthenticationError) as info:
        list(client.iter_pages())
    assert info.value.status == 401
    assert LIST_URL in str(info.value)
    assert len(responses.calls) == 4  # token, 401, token, 401: no loop


@responses.activate
def test_401_without_invalid_token_is_not_retried() -> None:
    _token("tok-1")
    responses.get(LIST_URL, status=401, headers={"WWW-Authenticate": 'Bearer realm="x"'})
    session, auth = _session()
    assert session.get(LIST_URL).status_code == 401
    assert auth.token_fetches == 1


@pytest.mark.parametrize(
    ("status", "body", "needle"),
    [
        (401, {"error": "invalid_client"}, "refused the client credentials (invalid_client)"),
        (400, {"error": "invalid_client"}, "refused the client credentials"),
        (200, {"token_type": "Bearer", "expires_in": 60}, "no access_token"),
        (200, {"access_token": "x", "token_type": "mac", "expires_in": 60}, "token_type"),
        (200, ["not", "an", "object"], "not a JSON object"),
    ],
)
@responses.activate
def test_token_errors_name_url_and_status_but_no_secret(
    status: int, body: object, needle: str
) -> None:
    responses.post(TOKEN_URL, status=status, json=body)
    session, _ = _session()
    with pytest.raises(AuthenticationError) as info:
        session.get(LIST_URL)
    message = str(info.value)
    assert needle in message
    assert TOKEN_URL in message
    assert f"HTTP {status}" in message
    assert SECRET not in message
    assert SECRET not in repr(info.value)


@responses.activate
def test_missing_expires_in_falls_back_and_still_works(caplog: pytest.LogCaptureFixture) -> None:
    responses.post(TOKEN_URL, json={"access_token": "tok-1", "token_type": "Bearer"})
    responses.get(LIST_URL, json=[])
    session, _ = _session()
    assert session.get(LIST_URL).status_code == 200
    assert "no usable expires_in" in caplog.text


@responses.activate
def test_basic_mode_sends_credentials_on_every_call() -> None:
    responses.get(LIST_URL, json=[], match=[matchers.header_matcher({"Authorization": BASIC})])
    session = make_session(Opts())
    session.auth = make_auth(
        "basic", auth_url=None, client_id=CLIENT_ID, client_secret=Secret(SECRET), session=session
    )
    assert isinstance(session.auth, BasicAuth)
    assert session.get(LIST_URL).status_code == 200
    assert session.get(LIST_URL).status_code == 200


def test_reprs_hide_the_secret() -> None:
    session = make_session(Opts())
    for auth in (
        ClientCredentialsAuth(TOKEN_URL, CLIENT_ID, SECRET, session),
        BasicAuth(CLIENT_ID, SECRET),
    ):
        assert SECRET not in repr(auth)
        assert SECRET not in str(vars(auth))


def test_make_auth_rejects_unknown_mode_and_missing_url() -> None:
    session = make_session(Opts())
    with pytest.raises(AuthenticationError, match="unknown auth mode"):
        make_auth("digest", auth_url=TOKEN_URL, client_id="a", client_secret="b", session=session)
    with pytest.raises(AuthenticationError, match="needs an Authentication URL"):
        make_auth("oauth2", auth_url=None, client_id="a", client_secret="b", session=session)


@responses.activate
def test_token_logs_carry_no_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    _token("tok-very-secret-token")
    responses.get(LIST_URL, json=[])
    session, _ = _session()
    session.get(LIST_URL)
    assert "tok-very-secret-token" not in caplog.text
    assert SECRET not in caplog.text
