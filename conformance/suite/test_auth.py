"""AUTH: the token endpoint (oauth2 mode), bearer tokens and basic mode (contract section 1)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

import schemas
from conformance._catalog import Download
from conformance._catalog import Walk
from conformance._http import VendorClient
from conformance._http import basic_header
from conformance._http import origin
from conformance._settings import Settings
from conformance.errors import ConformanceFailure

WRONG_SECRET = "cckit-conformance-wrong-secret"  # noqa: S105 - deliberately wrong
GARBAGE_TOKEN = "cckit-conformance-invalid-token"  # noqa: S105 - deliberately invalid
UNKNOWN_GRANT = "urn:cckit:conformance:unknown-grant"

pytestmark = pytest.mark.usefixtures("cc_settings")


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@pytest.fixture(scope="session")
def token_response(client: VendorClient, oauth2: None) -> requests.Response:
    """The token response to a correct request with HTTP Basic client authentication."""
    return client.request_token(
        {"grant_type": "client_credentials"},
        basic=(client.settings.client_id, client.settings.client_secret),
    )


def _token_payload(client: VendorClient, response: requests.Response) -> dict[str, Any]:
    payload = _json(response)
    if response.status_code != 200 or not isinstance(payload, dict):
        pytest.skip(f"blocked: the token request was answered {response.status_code} (AUTH-002)")
    return payload


@pytest.mark.requirement("AUTH-001", "AUTH-002")
def test_token_request_with_basic_client_auth(
    client: VendorClient, token_response: requests.Response
) -> None:
    if token_response.status_code != 200:
        raise ConformanceFailure(
            "AUTH-002",
            expected="200 to grant_type=client_credentials with HTTP Basic client credentials",
            received=f"{token_response.status_code} {token_response.reason}",
            exchange=client.exchange(token_response),
        )


@pytest.mark.requirement("AUTH-005")
def test_token_response_shape(client: VendorClient, token_response: requests.Response) -> None:
    payload = _token_payload(client, token_response)
    problems = []
    content_type = token_response.headers.get("Content-Type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        problems.append(f"Content-Type is {content_type or '(none)'}")
    if not isinstance(payload.get("access_token"), str) or not payload.get("access_token"):
        problems.append(f"access_token is {type(payload.get('access_token')).__name__}")
    token_type = payload.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        problems.append(f"token_type is {token_type!r}")
    expires_in = payload.get("expires_in")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool):
        problems.append(f"expires_in is {expires_in!r} (not an integer)")
    if problems:
        raise ConformanceFailure(
            "AUTH-005",
            expected='application/json {"access_token": str, "token_type": "Bearer", '
            '"expires_in": int}',
            received="; ".join(problems),
            exchange=client.exchange(token_response),
        )


@pytest.mark.requirement("AUTH-006")
def test_token_lifetime(
    client: VendorClient, token_response: requests.Response, cc_settings: Settings
) -> None:
    payload = _token_payload(client, token_response)
    expires_in = payload.get("expires_in")
    if isinstance(expires_in, int) and expires_in < 60:
        raise ConformanceFailure(
            "AUTH-006",
            expected="expires_in >= 60",
            received=f"expires_in = {expires_in}",
            exchange=client.exchange(token_response),
        )
    # A token must keep working while expires_in has not run out: use it three times.
    token = payload.get("access_token")
    for use in range(1, 4):
        response = client.send(
            "GET",
            cc_settings.course_list_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        if response.status_code == 401:
            raise ConformanceFailure(
                "AUTH-006",
                expected=f"the token is accepted until expires_in ({expires_in} s) runs out",
                received=f"401 on use {use}, seconds after the token was issued",
                exchange=client.exchange(response),
            )
    if "AUTH-006" in client.incidents:
        raise client.incidents["AUTH-006"]


@pytest.mark.requirement("AUTH-007")
def test_token_response_not_cached(client: VendorClient, token_response: requests.Response) -> None:
    _token_payload(client, token_response)
    directives = {
        d.strip().split("=")[0].lower()
        for d in token_response.headers.get("Cache-Control", "").split(",")
    }
    if "no-store" not in directives:
        raise ConformanceFailure(
            "AUTH-007",
            expected="Cache-Control: no-store",
            received=f"Cache-Control: {token_response.headers.get('Cache-Control', '(none)')}",
            exchange=client.exchange(token_response),
        )


@pytest.mark.requirement("AUTH-003")
def test_token_request_with_form_client_auth(client: VendorClient, oauth2: None) -> None:
    response = client.request_token(
        {
            "grant_type": "client_credentials",
            "client_id": client.settings.client_id,
            "client_secret": client.settings.client_secret,
        }
    )
    payload = _json(response)
    if (
        response.status_code != 200
        or not isinstance(payload, dict)
        or "access_token" not in payload
    ):
        raise ConformanceFailure(
            "AUTH-003",
            expected="200 with an access token to client_id/client_secret form fields",
            received=f"{response.status_code} {response.reason}",
            exchange=client.exchange(response),
        )


@pytest.mark.requirement("AUTH-004")
def test_unknown_scope_is_ignored(client: VendorClient, oauth2: None) -> None:
    response = client.request_token(
        {"grant_type": "client_credentials", "scope": "cckit-conformance-unknown-scope"},
        basic=(client.settings.client_id, client.settings.client_secret),
    )
    if response.status_code != 200:
        raise ConformanceFailure(
            "AUTH-004",
            expected="200 (unknown scope values are ignored)",
            received=f"{response.status_code} {response.reason}",
            exchange=client.exchange(response),
        )


@pytest.fixture(scope="session")
def wrong_secret_response(client: VendorClient, oauth2: None) -> requests.Response:
    """The answer to a Basic token request with the right client ID and a wrong secret."""
    return client.request_token(
        {"grant_type": "client_credentials"}, basic=(client.settings.client_id, WRONG_SECRET)
    )


@pytest.mark.requirement("AUTH-013")
def test_wrong_credentials_never_get_a_token(
    client: VendorClient, wrong_secret_response: requests.Response
) -> None:
    attempts = [
        wrong_secret_response,
        client.request_token(
            {"grant_type": "client_credentials"},
            basic=("cckit-conformance-unknown-client", WRONG_SECRET),
        ),
        client.request_token(
            {
                "grant_type": "client_credentials",
                "client_id": client.settings.client_id,
                "client_secret": WRONG_SECRET,
            }
        ),
    ]
    for response in attempts:
        if response.status_code == 200:
            raise ConformanceFailure(
                "AUTH-013",
                expected="an error response (401 invalid_client) to wrong client credentials",
                received="200",
                exchange=client.exchange(response),
            )


@pytest.mark.requirement("AUTH-008")
def test_wrong_credentials_get_invalid_client(
    client: VendorClient, wrong_secret_response: requests.Response
) -> None:
    payload = _json(wrong_secret_response)
    error = payload.get("error") if isinstance(payload, dict) else None
    if wrong_secret_response.status_code < 400 or error != "invalid_client":
        raise ConformanceFailure(
            "AUTH-008",
            expected='an error response with {"error": "invalid_client"}',
            received=f"{wrong_secret_response.status_code} with error {error!r}",
            exchange=client.exchange(wrong_secret_response),
        )


@pytest.mark.requirement("AUTH-009")
def test_invalid_client_status_is_401(
    client: VendorClient, wrong_secret_response: requests.Response
) -> None:
    if wrong_secret_response.status_code != 401:
        raise ConformanceFailure(
            "AUTH-009",
            expected="401 invalid_client (400 is tolerated with this warning)",
            received=str(wrong_secret_response.status_code),
            exchange=client.exchange(wrong_secret_response),
        )


@pytest.mark.requirement("AUTH-010")
def test_invalid_client_401_has_www_authenticate(
    client: VendorClient, wrong_secret_response: requests.Response
) -> None:
    if wrong_secret_response.status_code != 401:
        pytest.skip("the wrong-credentials answer is not 401 (see AUTH-009)")
    if not wrong_secret_response.headers.get("WWW-Authenticate"):
        raise ConformanceFailure(
            "AUTH-010",
            expected="WWW-Authenticate on a 401 answer to HTTP Basic client authentication",
            received="no WWW-Authenticate header",
            exchange=client.exchange(wrong_secret_response),
        )


def _error_check(
    client: VendorClient, requirement: str, response: requests.Response, error: str, sent: str
) -> None:
    payload = _json(response)
    got = payload.get("error") if isinstance(payload, dict) else None
    if response.status_code != 400 or got != error:
        raise ConformanceFailure(
            requirement,
            expected=f'400 {{"error": "{error}"}} to {sent}',
            received=f"{response.status_code} with error {got!r}",
            exchange=client.exchange(response),
        )


@pytest.mark.requirement("AUTH-011")
def test_unsupported_grant_type(client: VendorClient, oauth2: None) -> None:
    response = client.request_token(
        {"grant_type": UNKNOWN_GRANT},
        basic=(client.settings.client_id, client.settings.client_secret),
    )
    _error_check(client, "AUTH-011", response, "unsupported_grant_type", "an unknown grant_type")


@pytest.mark.requirement("AUTH-012")
def test_missing_grant_type(client: VendorClient, oauth2: None) -> None:
    response = client.request_token(
        {"scope": "courses"}, basic=(client.settings.client_id, client.settings.client_secret)
    )
    _error_check(client, "AUTH-012", response, "invalid_request", "a request without grant_type")


@pytest.mark.requirement("AUTH-014")
def test_token_errors_are_json_objects(
    client: VendorClient, wrong_secret_response: requests.Response
) -> None:
    attempts = [
        wrong_secret_response,
        client.request_token(
            {"grant_type": UNKNOWN_GRANT},
            basic=(client.settings.client_id, client.settings.client_secret),
        ),
        client.request_token({}, basic=(client.settings.client_id, client.settings.client_secret)),
    ]
    for response in attempts:
        if response.status_code < 400 or response.status_code >= 500:
            continue  # judged by AUTH-011/012/013
        payload = _json(response)
        if not isinstance(payload, dict) or not isinstance(payload.get("error"), str):
            raise ConformanceFailure(
                "AUTH-014",
                expected='a JSON object with a string "error" member (RFC 6749 section 5.2)',
                received=f"body {response.text[:120]!r}",
                exchange=client.exchange(response),
            )


@pytest.mark.requirement("AUTH-015")
def test_bearer_token_accepted(
    client: VendorClient, oauth2: None, full_list: Walk, some_downloads: list[Download]
) -> None:
    full_list.raise_for("AUTH-015")
    for item in some_downloads:
        if item.status in (401, 403) and item.exchange is not None:
            raise ConformanceFailure(
                "AUTH-015",
                expected="the package URL accepts Authorization: Bearer <token>",
                received=f"{item.status} for course {item.course_id!r}",
                exchange=item.exchange,
            )


def _protected_urls(cc_settings: Settings, downloads: list[Download]) -> list[tuple[str, str]]:
    urls = [("course list", cc_settings.course_list_url)]
    # A package on another origin is a signed URL that needs no credentials (PKG-019);
    # the credential rules hold for the packages on the Provider URL's origin.
    home = origin(cc_settings.course_list_url)
    protected = [d for d in downloads if origin(d.url) == home]
    if protected:
        urls.append((f"package of {protected[0].course_id!r}", protected[0].url))
    return urls


def _refused(
    client: VendorClient,
    requirement: str,
    url_label: str,
    url: str,
    headers: dict[str, str],
    scheme: str,
    error: str | None,
) -> None:
    response = client.send(
        "GET", url, headers={"Accept": "application/json", **headers}, stream=True
    )
    response.close()
    challenge = response.headers.get("WWW-Authenticate", "")
    problems = []
    if response.status_code != 401:
        problems.append(f"status {response.status_code}")
    # A challenge list may name several schemes ("Basic realm=..., Bearer ...").
    if not re.search(rf"(^|,)\s*{scheme}(\s|,|$)", challenge, re.IGNORECASE):
        problems.append(f"WWW-Authenticate is {challenge or '(none)'!r}")
    elif error and error not in challenge:
        problems.append(f'WWW-Authenticate {challenge!r} lacks error="{error}"')
    if problems:
        raise ConformanceFailure(
            requirement,
            expected=f"401 with WWW-Authenticate: {scheme}"
            + (f' error="{error}"' if error else "")
            + f" from the {url_label}",
            received="; ".join(problems),
            exchange=client.exchange(response, body=b""),
        )


@pytest.mark.requirement("AUTH-016")
def test_missing_token_is_refused(
    client: VendorClient, oauth2: None, cc_settings: Settings, some_downloads: list[Download]
) -> None:
    for label, url in _protected_urls(cc_settings, some_downloads):
        _refused(client, "AUTH-016", label, url, {}, "Bearer", None)


@pytest.mark.requirement("AUTH-017")
def test_unknown_token_is_refused(
    client: VendorClient, oauth2: None, cc_settings: Settings, some_downloads: list[Download]
) -> None:
    for label, url in _protected_urls(cc_settings, some_downloads):
        headers = {"Authorization": f"Bearer {GARBAGE_TOKEN}"}
        _refused(client, "AUTH-017", label, url, headers, "Bearer", "invalid_token")


@pytest.mark.requirement("AUTH-018")
def test_basic_credentials_accepted(
    client: VendorClient, basic_mode: None, full_list: Walk, some_downloads: list[Download]
) -> None:
    full_list.raise_for("AUTH-018")
    for item in some_downloads:
        # Packages on another origin are fetched without credentials (PKG-019).
        same_origin = client.same_origin(item.url)
        if item.status in (401, 403) and item.exchange is not None and same_origin:
            raise ConformanceFailure(
                "AUTH-018",
                expected="the package URL accepts HTTP Basic with the client ID and secret",
                received=f"{item.status} for course {item.course_id!r}",
                exchange=item.exchange,
            )


@pytest.mark.requirement("AUTH-019")
def test_basic_mode_refuses_wrong_or_missing_credentials(
    client: VendorClient, basic_mode: None, cc_settings: Settings, some_downloads: list[Download]
) -> None:
    wrong = {"Authorization": basic_header(cc_settings.client_id, WRONG_SECRET)}
    for label, url in _protected_urls(cc_settings, some_downloads):
        _refused(client, "AUTH-019", label, url, {}, "Basic", None)
        _refused(client, "AUTH-019", label, url, wrong, "Basic", None)


@pytest.mark.requirement("AUTH-020")
def test_endpoints_use_https(cc_settings: Settings, courses: list[Any]) -> None:
    urls = [("course list URL", cc_settings.course_list_url)]
    if cc_settings.auth_url:
        urls.append(("authentication URL", cc_settings.auth_url))
    urls += [
        (f"package URL of {c.get('ID')!r}", c["DownloadPackageUrl"])
        for c in courses
        if isinstance(c, dict) and isinstance(c.get("DownloadPackageUrl"), str)
    ]
    offending = []
    for label, url in urls:
        parts = urlsplit(url)
        if parts.scheme != "https" and not schemas.is_loopback_host(parts.hostname or ""):
            offending.append(f"{label}: {url}")
    if offending:
        raise ConformanceFailure(
            "AUTH-020",
            expected="https endpoints (http only on loopback)",
            received="\n".join(offending[:10]),
        )
