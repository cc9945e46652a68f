"""Authentication: the OAuth 2.0 token endpoint and the credential checks of other calls.

``POST /oauth/token`` implements the client credentials grant (RFC 6749 section 4.4)
with HTTP Basic or form-field client authentication (the latter a SHOULD, AUTH-003,
switched off by the ``FORM_CLIENT_AUTH`` config key). :func:`authenticate` checks the
credentials of list and package calls in both auth modes.
"""

from __future__ import annotations

import base64
import binascii

import flask
from werkzeug.datastructures import MultiDict

from mock_vendor.errors import APIError
from mock_vendor.errors import OAuthError
from mock_vendor.faults import ActiveFault
from mock_vendor.limits import read_body
from mock_vendor.model import Tenant
from mock_vendor.state import VendorState
from mock_vendor.state import get_state
from mock_vendor.state import note_fault

bp = flask.Blueprint("auth", __name__)

REALM = "cckit-mock"

_TOKEN_PARAMETERS = ("grant_type", "client_id", "client_secret", "scope")


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """Decode ``Basic base64(id:secret)``; ``None`` when the header is malformed.

    RFC 6749 section 2.3.1 form-encodes the ID and secret before Basic encoding; the
    mock accepts both encoded and raw values.
    """
    from urllib.parse import unquote_plus

    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


def _check_client(state: VendorState, client_id: str, secret: str) -> Tenant | None:
    tenant = state.tenants.get(client_id)
    if tenant is None:
        return None
    if tenant.check_secret(secret):
        return tenant
    if state.faults.get("token_wrong_secret", "token"):
        note_fault("token_wrong_secret")
        return tenant
    return None


@bp.post("/oauth/token")
def token() -> flask.Response:
    """Issue an access token (client credentials grant)."""
    state = get_state()
    form, grant_type = _token_form(state)
    credentials = _client_credentials(state, form)
    with state.lock:
        tenant = _check_client(state, *credentials) if credentials else None
        wrong_status = 400 if state.faults.get("invalid_client_400", "token") else 401
        short_ttl = state.faults.get("short_token_ttl", "token")
        no_store = state.faults.get("missing_no_store", "token") is None
    if tenant is None:
        if wrong_status == 400:
            note_fault("invalid_client_400")
        headers = {"WWW-Authenticate": f'Basic realm="{REALM}"'} if wrong_status == 401 else {}
        raise OAuthError(wrong_status, "invalid_client", "Client authentication failed.", headers)
    if grant_type != "client_credentials":
        raise OAuthError(
            400,
            "unsupported_grant_type",
            "Only the client_credentials grant type is supported.",
        )
    return _token_response(state, tenant, short_ttl, no_store=no_store)


def _token_form(state: VendorState) -> tuple[MultiDict[str, str], str]:
    """The token request's form and grant_type, after the checks of its shape."""
    if state.auth_mode != "oauth2":
        raise APIError(404, "not_found", "This vendor uses HTTP Basic auth: no token endpoint.")
    mimetype = flask.request.mimetype
    if mimetype != "application/x-www-form-urlencoded":
        raise OAuthError(
            400,
            "invalid_request",
            "The token request body must be application/x-www-form-urlencoded.",
        )
    read_body()  # over the cap: 413 before any form parsing
    form = flask.request.form
    # RFC 6749 section 3.2: known parameters must not repeat; unknown ones are ignored.
    repeated = [k for k in _TOKEN_PARAMETERS if len(form.getlist(k)) > 1]
    if repeated:
        raise OAuthError(400, "invalid_request", f"The parameter {repeated[0]} is repeated.")
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError(400, "invalid_request", "The grant_type parameter is missing.")
    return form, grant_type


def _client_credentials(state: VendorState, form: MultiDict[str, str]) -> tuple[str, str] | None:
    """``(client_id, secret)`` from HTTP Basic or the form fields, or ``None`` if neither."""
    header = flask.request.headers.get("Authorization")
    used_basic = header is not None and header.strip().lower().startswith("basic")
    if header is not None and not used_basic:
        raise OAuthError(
            401,
            "invalid_client",
            "Client authentication must use HTTP Basic or the client_id/client_secret fields.",
            {"WWW-Authenticate": f'Basic realm="{REALM}"'},
        )
    if used_basic:
        if "client_secret" in form:
            raise OAuthError(
                400, "invalid_request", "Use one client authentication method, not two."
            )
        return _basic_credentials(header or "")
    if "client_id" not in form and "client_secret" not in form:
        return None
    if not state.features["FORM_CLIENT_AUTH"]:
        # RFC 6749 section 5.2: an unsupported client authentication method is
        # invalid_client; the challenge names the method that is supported.
        raise OAuthError(
            401,
            "invalid_client",
            "This vendor accepts client credentials only through HTTP Basic, not in "
            "the client_id/client_secret form fields.",
            {"WWW-Authenticate": f'Basic realm="{REALM}"'},
        )
    return (form.get("client_id", ""), form.get("client_secret", ""))


def _token_response(
    state: VendorState, tenant: Tenant, short_ttl: ActiveFault | None, *, no_store: bool
) -> flask.Response:
    """The token for ``tenant`` as JSON, with the faults that shape it."""
    ttl = state.token_ttl
    if short_ttl:
        note_fault("short_token_ttl")
        ttl = int(short_ttl.arg)
    access_token = state.issue_token(tenant, ttl)
    flask.g.client_id = tenant.client_id
    # The scope parameter is ignored (AUTH-004): no scope is echoed back.
    response = flask.jsonify(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl}
    )
    if no_store:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    else:
        note_fault("missing_no_store")
    return response


def _unauthorized(state: VendorState, error: str | None, message: str) -> APIError:
    if state.auth_mode == "basic":
        challenge = f'Basic realm="{REALM}"'
    elif error:
        challenge = f'Bearer realm="{REALM}", error="{error}", error_description="{message}"'
    else:
        challenge = f'Bearer realm="{REALM}"'
    return APIError(401, "unauthorized", message, {"WWW-Authenticate": challenge})


def _identify(state: VendorState, operation: str) -> tuple[Tenant | None, APIError | None]:
    header = flask.request.headers.get("Authorization", "").strip()
    if state.auth_mode == "basic":
        credentials = _basic_credentials(header) if header else None
        if credentials is None:
            return None, _unauthorized(state, None, "HTTP Basic credentials are required.")
        tenant = state.tenants.get(credentials[0])
        if tenant is None or not tenant.check_secret(credentials[1]):
            return None, _unauthorized(state, None, "Wrong client ID or secret.")
        return tenant, None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, _unauthorized(state, None, "A Bearer access token is required.")
    record = state.tokens.get(token.strip())
    if record is None:
        return None, _unauthorized(state, "invalid_token", "The access token is unknown.")
    if record.expires_at <= state.clock.now():
        return None, _unauthorized(state, "invalid_token", "The access token has expired.")
    record.uses += 1
    limit = state.faults.get("token_expires_after", operation)
    if limit and record.uses > int(limit.arg):
        note_fault("token_expires_after")
        return None, _unauthorized(state, "invalid_token", "The access token was revoked.")
    return state.tenants.get(record.client_id), None


def authenticate(operation: str, course_id: str | None = None) -> Tenant:
    """Check the credentials of a list or package call and return the caller's tenant.

    Args:
        operation: ``"list"`` or ``"package"``.
        course_id: The course of a package call (for course-scoped faults).

    Raises:
        APIError: 401 with ``WWW-Authenticate`` (Bearer or Basic by auth mode).
    """
    state = get_state()
    if not state.faults:
        # The common case, without the state lock: token and tenant lookups are single
        # dict reads (atomic in CPython), and the lock only orders fault counters. Taking
        # it on every call made 16 worker threads queue behind each other.
        tenant, error = _identify(state, operation)
        if error is not None or tenant is None:
            raise error or _unauthorized(state, None, "Unknown client.")
        flask.g.client_id = tenant.client_id
        return tenant
    with state.lock:
        tenant, error = _identify(state, operation)
        fault_name = "no_auth_list" if operation == "list" else "no_auth_package"
        bypass = state.faults.get(fault_name, operation, course_id) is not None
        if error is not None and bypass:
            note_fault(fault_name)
            tenant, error = state.default_tenant, None
    if error is not None or tenant is None:
        raise error or _unauthorized(state, None, "Unknown client.")
    flask.g.client_id = tenant.client_id
    return tenant
