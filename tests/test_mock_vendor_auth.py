"""Token endpoint and credential checks of the mock vendor (contract section 1)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient

import mock_vendor

SECRET = "s3cret-value"


@pytest.fixture
def make_app(tmp_path: Path) -> Any:
    def make(**config: Any) -> flask.Flask:
        base = {
            "TESTING": True,
            "COURSES": 3,
            "SEED": 1,
            "MAX_ASSET_BYTES": 5_000,
            "CLIENT_SECRET": SECRET,
            "ADMIN_TOKEN": "admin",
            "CACHE_DIR": str(tmp_path / "cache"),
            "VALIDATE_RESPONSES": True,
            "CLOCK_START": "2026-11-26T10:00:00Z",
            "CLOCK_FROZEN": True,
        }
        return mock_vendor.create_app({**base, **config})

    return make


@pytest.fixture
def client(make_app: Any) -> FlaskClient:
    app: flask.Flask = make_app()
    return app.test_client()


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def token(client: FlaskClient) -> str:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic("cckit-demo", SECRET),
    )
    assert response.status_code == 200
    return str(response.json["access_token"])  # type: ignore[index]


def test_basic_client_auth_gets_a_bearer_token(client: FlaskClient) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic("cckit-demo", SECRET),
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body is not None
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str)
    assert len(body["access_token"]) >= 20


def test_form_client_auth_and_unknown_scope_are_accepted(client: FlaskClient) -> None:
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "cckit-demo",
            "client_secret": SECRET,
            "scope": "courses.read nonsense",
        },
    )
    assert response.status_code == 200
    assert "scope" not in response.json  # type: ignore[operator]


def test_form_encoded_basic_credentials_are_decoded(make_app: Any) -> None:
    # RFC 6749 2.3.1: the ID and secret are form-encoded before Basic encoding.
    app = make_app(CLIENT_ID="client one", CLIENT_SECRET="p@ss:word")
    response = app.test_client().post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic("client+one", "p%40ss%3Aword"),
    )
    assert response.status_code == 200


def test_wrong_basic_secret_is_401_invalid_client_with_challenge(client: FlaskClient) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic("cckit-demo", "wrong"),
    )
    assert response.status_code == 401
    assert response.json == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        ({"grant_type": "client_credentials", "client_id": "cckit-demo", "client_secret": "x"}, {}),
        ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": SECRET}, {}),
        ({"grant_type": "client_credentials"}, {}),
        ({"grant_type": "client_credentials"}, {"Authorization": "Basic !!!notbase64"}),
        ({"grant_type": "client_credentials"}, {"Authorization": "Digest abc"}),
    ],
)
def test_other_bad_credentials_are_never_200(
    client: FlaskClient, data: dict[str, str], headers: dict[str, str]
) -> None:
    response = client.post("/oauth/token", data=data, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"  # type: ignore[index]


def test_missing_grant_type_is_invalid_request(client: FlaskClient) -> None:
    response = client.post("/oauth/token", data={}, headers=basic("cckit-demo", SECRET))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"  # type: ignore[index]


def test_other_grant_type_is_unsupported(client: FlaskClient) -> None:
    response = client.post(
        "/oauth/token", data={"grant_type": "password"}, headers=basic("cckit-demo", SECRET)
    )
    assert response.status_code == 400
    assert response.json["error"] == "unsupported_grant_type"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"grant_type": "client_credentials"}', "application/json"),
        (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
        (b"grant_type=client_credentials&grant_type=password", "application/x-www-form-urlencoded"),
        (b"", "text/plain"),
    ],
)
def test_malformed_token_requests_get_a_4xx_json_error(
    client: FlaskClient, body: bytes, content_type: str
) -> None:
    response = client.post(
        "/oauth/token",
        data=body,
        headers={**basic("cckit-demo", SECRET), "Content-Type": content_type},
    )
    assert 400 <= response.status_code < 500
    assert response.is_json
    assert isinstance(response.json["error"], str)  # type: ignore[index]


def test_two_client_auth_methods_are_rejected(client: FlaskClient) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_secret": SECRET},
        headers=basic("cckit-demo", SECRET),
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"  # type: ignore[index]


def test_get_on_the_token_endpoint_is_405_json(client: FlaskClient) -> None:
    response = client.get("/oauth/token")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.json["error"] == "method_not_allowed"  # type: ignore[index]


def test_list_without_token_is_401_bearer_challenge_without_error(client: FlaskClient) -> None:
    response = client.get("/api/v1/courses")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="cckit-mock"'
    assert response.json["error"] == "unauthorized"  # type: ignore[index]


@pytest.mark.parametrize("path", ["/api/v1/courses", "/api/v1/courses/CRS-00001/package.zip"])
def test_unknown_token_is_invalid_token(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge


def test_token_expires_by_the_mock_clock(make_app: Any) -> None:
    app = make_app(TOKEN_TTL=60)
    client = app.test_client()
    access = token(client)
    headers = {"Authorization": f"Bearer {access}"}
    assert client.get("/api/v1/courses", headers=headers).status_code == 200
    mock_vendor.get_state(app).clock.advance(59)
    assert client.get("/api/v1/courses", headers=headers).status_code == 200
    mock_vendor.get_state(app).clock.advance(1)
    response = client.get("/api/v1/courses", headers=headers)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_bearer_scheme_is_case_insensitive(client: FlaskClient) -> None:
    access = token(client)
    response = client.get("/api/v1/courses", headers={"Authorization": f"bearer {access}"})
    assert response.status_code == 200


def test_basic_mode_has_no_token_endpoint_and_checks_every_call(make_app: Any) -> None:
    client = make_app(AUTH_MODE="basic").test_client()
    assert client.post("/oauth/token", data={"grant_type": "client_credentials"}).status_code == 404
    response = client.get("/api/v1/courses")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="cckit-mock"'
    wrong = client.get("/api/v1/courses", headers=basic("cckit-demo", "nope"))
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    ok = client.get("/api/v1/courses", headers=basic("cckit-demo", SECRET))
    assert ok.status_code == 200
    package = client.get(ok.json[0]["DownloadPackageUrl"], headers=basic("cckit-demo", SECRET))
    assert package.status_code == 200
    assert package.mimetype == "application/zip"


def test_secret_never_appears_in_repr_or_journal(make_app: Any) -> None:
    app = make_app()
    state = mock_vendor.get_state(app)
    assert SECRET not in repr(state.default_tenant)
    assert SECRET not in repr(state)
    app.test_client().post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic("cckit-demo", SECRET),
    )
    app.test_client().get(f"/api/v1/courses?access_token={SECRET}&client_secret={SECRET}")
    journal_text = repr(list(state.journal))
    assert "basic" in journal_text
    assert "[redacted]" in journal_text
    assert SECRET not in journal_text


def test_generated_secret_is_random_and_kept_across_reset(make_app: Any) -> None:
    app = make_app(CLIENT_SECRET=None)
    state = mock_vendor.get_state(app)
    secret = state.default_tenant.client_secret
    assert len(secret) >= 24
    state.default_tenant.client_secret = "rotated"
    state.reset()
    assert state.default_tenant.client_secret == secret


def test_multi_tenant_tokens_see_their_own_catalog(make_app: Any) -> None:
    app = make_app(
        TENANTS=[
            {"client_id": "alpha", "client_secret": "a-secret", "courses": 2, "seed": 1},
            {"client_id": "beta", "client_secret": "b-secret", "courses": 4, "seed": 9},
        ]
    )
    client = app.test_client()
    seen = {}
    for client_id, secret in (("alpha", "a-secret"), ("beta", "b-secret")):
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(client_id, secret),
        )
        access = response.json["access_token"]
        listing = client.get("/api/v1/courses", headers={"Authorization": f"Bearer {access}"})
        seen[client_id] = [c["Title"] for c in listing.json]
    assert seen["alpha"] != seen["beta"]
    state = mock_vendor.get_state(app)
    assert len(seen["alpha"]) == sum(r.is_active for r in state.tenant("alpha").records)
    assert len(seen["beta"]) == sum(r.is_active for r in state.tenant("beta").records)
    cross = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic("alpha", "b-secret"),
    )
    assert cross.status_code == 401


def test_form_client_auth_off_accepts_only_basic(make_app: Any) -> None:
    """FORM_CLIENT_AUTH off (AUTH-003, a SHOULD): form fields are refused, Basic still works."""
    client = make_app(FORM_CLIENT_AUTH=False).test_client()
    for fields in (
        {"client_id": "cckit-demo", "client_secret": SECRET},
        {"client_id": "cckit-demo"},
        {"client_secret": SECRET},
    ):
        response = client.post("/oauth/token", data={"grant_type": "client_credentials", **fields})
        assert response.status_code == 401
        assert response.json["error"] == "invalid_client"  # type: ignore[index]
        assert "HTTP Basic" in response.json["error_description"]  # type: ignore[index]
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert token(client)
    # RFC 6749 2.3.1 lets client_id ride along with Basic: that is still fine.
    with_id = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "cckit-demo"},
        headers=basic("cckit-demo", SECRET),
    )
    assert with_id.status_code == 200
