"""Property probes with hypothesis: malformed token requests and If-Modified-Since values.

The probes are seeded with ``--cc-seed`` (printed in the report header), use no example
database (nothing is written next to the vendor's files) and do not shrink (shrinking
would send many more requests to the vendor); the falsifying example is printed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

import pytest

from conformance._catalog import walk
from conformance._http import VendorClient
from conformance._http import basic_header
from conformance._settings import Settings
from conformance.checks import http_date
from conformance.checks import modified_at
from conformance.errors import ConformanceFailure

if TYPE_CHECKING:
    from hypothesis import settings as HypothesisSettings

TOKEN_EXAMPLES = 30
IMS_EXAMPLES = 12
_HEADER_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/="
_OTHER_GRANTS = (
    "password",
    "authorization_code",
    "refresh_token",
    "implicit",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
)


def _probe_settings(examples: int) -> HypothesisSettings:
    from hypothesis import HealthCheck
    from hypothesis import Phase
    from hypothesis import settings

    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


@dataclass(frozen=True)
class TokenCase:
    """One generated token request."""

    credentials: str  # valid_basic, wrong_basic, unknown_client, garbage_header, bearer, none,
    # form_valid, form_wrong
    grant: str | None  # None = no grant_type field
    extra: tuple[tuple[str, str], ...]
    raw_body: str | None  # a body that is not a form with grant_type
    secret_noise: str

    @property
    def valid_credentials(self) -> bool:
        return self.credentials in ("valid_basic", "form_valid")

    @property
    def valid_grant(self) -> bool:
        return self.raw_body is None and self.grant == "client_credentials"

    @property
    def requirement(self) -> str:
        if not self.valid_credentials:
            return "AUTH-013"
        if self.raw_body is not None or self.grant is None:
            return "AUTH-012"
        return "AUTH-011"


def _token_cases() -> Any:
    from hypothesis import strategies as st

    text = st.text(alphabet=_HEADER_ALPHABET, min_size=1, max_size=24)
    grants = st.one_of(
        st.none(),
        st.just("client_credentials"),
        st.sampled_from(_OTHER_GRANTS),
        st.just(""),
        # Case or space variants of client_credentials are left out: a lenient vendor
        # may accept them, and the contract does not forbid that.
        text.filter(lambda g: g.strip().lower() != "client_credentials"),
    )
    extra_keys = text.filter(lambda k: k not in ("grant_type", "client_id", "client_secret"))
    raw = st.one_of(
        st.none(),
        st.text(alphabet=_HEADER_ALPHABET + " {}[]:,\"'", max_size=60).filter(
            lambda b: "grant_type" not in b
        ),
    )
    wrong_credentials = st.sampled_from(
        ("wrong_basic", "unknown_client", "garbage_header", "bearer", "none", "form_wrong")
    )
    valid_credentials = st.sampled_from(("valid_basic", "form_valid"))
    extras = st.lists(st.tuples(extra_keys, text), max_size=3).map(tuple)
    # Requests that are wrong in exactly one way probe hardest (a vendor that checks the
    # secret only when the grant type is right, say); fully random ones add variety.
    one_defect = st.one_of(
        st.builds(
            TokenCase,
            credentials=wrong_credentials,
            grant=st.just("client_credentials"),
            extra=extras,
            raw_body=st.none(),
            secret_noise=text,
        ),
        st.builds(
            TokenCase,
            credentials=valid_credentials,
            grant=grants.filter(lambda g: g != "client_credentials"),
            extra=extras,
            raw_body=st.none(),
            secret_noise=text,
        ),
        st.builds(
            TokenCase,
            credentials=st.just("valid_basic"),
            grant=st.none(),
            extra=st.just(()),
            raw_body=raw.filter(lambda b: b is not None),
            secret_noise=text,
        ),
    )
    anything = st.builds(
        TokenCase,
        credentials=st.one_of(wrong_credentials, valid_credentials),
        grant=grants,
        extra=extras,
        raw_body=raw,
        secret_noise=text,
    ).filter(lambda c: not (c.valid_credentials and c.valid_grant))
    return st.one_of(one_defect, anything)


def _send_token_case(client: VendorClient, case: TokenCase) -> Any:
    settings = client.settings
    wrong_secret = "wrong-" + case.secret_noise
    if wrong_secret == settings.client_secret:
        wrong_secret += "x"
    headers: dict[str, str] = {"Accept": "application/json"}
    form: dict[str, str] = {}
    if case.credentials == "valid_basic":
        headers["Authorization"] = basic_header(settings.client_id, settings.client_secret)
    elif case.credentials == "wrong_basic":
        headers["Authorization"] = basic_header(settings.client_id, wrong_secret)
    elif case.credentials == "unknown_client":
        headers["Authorization"] = basic_header("unknown-" + case.secret_noise, wrong_secret)
    elif case.credentials == "garbage_header":
        headers["Authorization"] = "Basic " + case.secret_noise
    elif case.credentials == "bearer":
        headers["Authorization"] = "Bearer " + case.secret_noise
    elif case.credentials == "form_valid":
        form.update(client_id=settings.client_id, client_secret=settings.client_secret)
    elif case.credentials == "form_wrong":
        form.update(client_id=settings.client_id, client_secret=wrong_secret)
    data: dict[str, str] | str
    if case.raw_body is not None:
        data = case.raw_body
    else:
        form.update(dict(case.extra))
        if case.grant is not None:
            form["grant_type"] = case.grant
        data = form
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = client.send(
        "POST", settings.auth_url or "", headers=headers, data=data, allow_redirects=False
    )
    client.learn_tokens(response)
    return response


@pytest.mark.requirement("AUTH-008", "AUTH-011", "AUTH-012", "AUTH-013")
def test_malformed_token_requests_are_refused(
    client: VendorClient, oauth2: None, cc_settings: Settings
) -> None:
    from hypothesis import given
    from hypothesis import seed

    @seed(cc_settings.seed)
    @_probe_settings(TOKEN_EXAMPLES)
    @given(case=_token_cases())
    def probe(case: TokenCase) -> None:
        response = _send_token_case(client, case)
        if response.status_code == 200 or response.status_code >= 500:
            requirement = case.requirement
            if response.status_code >= 500 and requirement == "AUTH-013":
                requirement = "AUTH-008"
            raise ConformanceFailure(
                requirement,
                expected="a 4xx error to a malformed token request (never 200 or 5xx)",
                received=f"{response.status_code} to {case}",
                exchange=client.exchange(response),
            )

    probe()


@pytest.mark.requirement("LIST-003", "LIST-005", "LIST-008")
def test_if_modified_since_values(
    client: VendorClient,
    cc_settings: Settings,
    reference: dict[str, dict[str, Any]],
    courses: list[Any],
) -> None:
    from hypothesis import given
    from hypothesis import seed
    from hypothesis import strategies as st

    stamps = [m for c in reference.values() if (m := modified_at(c)) is not None]
    if not stamps:
        pytest.skip("blocked: no course carries a valid LastModifiedUTC (see COURSE-008)")
    low = min(stamps).replace(tzinfo=None) - dt.timedelta(days=400)
    high = max(stamps).replace(tzinfo=None) + dt.timedelta(days=400)
    active = {c["ID"] for c in courses if isinstance(c, dict) and c.get("IsActive") is True}
    dates = st.datetimes(min_value=low, max_value=high).map(
        lambda d: d.replace(microsecond=0, tzinfo=dt.UTC)
    )
    garbage = st.one_of(
        st.sampled_from(("yesterday", "never", "Mon, 99 Foo 2026 25:61:61 GMT", "2026-13-45")),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=16),
    )
    values = st.one_of(dates, garbage)

    @seed(cc_settings.seed)
    @_probe_settings(IMS_EXAMPLES)
    @given(value=values)
    def probe(value: dt.datetime | str) -> None:
        header = value if isinstance(value, str) else http_date(value)
        listing = walk(client, cc_settings.course_list_url, if_modified_since=header)
        listing.raise_for("LIST-003", "LIST-001", "LIST-002", "LIST-012")
        got = {c["ID"] for c in listing.courses if isinstance(c, dict) and "ID" in c}
        if isinstance(value, str):
            missing, requirement = active - got, "LIST-008"
            expected = f"If-Modified-Since: {header} ignored (every active course)"
        else:
            changed = {cid for cid, c in reference.items() if (m := modified_at(c)) and m > value}
            missing, requirement = changed - got, "LIST-005"
            expected = f"every course changed after {header}"
        if missing:
            raise ConformanceFailure(
                requirement,
                expected=expected,
                received=f"{len(missing)} course(s) missing: {', '.join(sorted(missing)[:10])}",
                exchange=listing.pages[0].exchange if listing.pages else None,
            )

    probe()
