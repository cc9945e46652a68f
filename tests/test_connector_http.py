"""The sync session: one retry layer, Retry-After within a budget, credential scoping, URLs."""

from __future__ import annotations

import datetime as dt
import email.utils
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from connector.errors import VendorError
from connector.http import RetryBudget
from connector.http import UrlRefused
from connector.http import VendorSession
from connector.http import check_host_pattern
from connector.http import describe_failure
from connector.http import host_allowed
from connector.http import make_session
from connector.http import safe_url
from connector.http import user_agent
from connector.limits import Limits

URL = "https://vendor.example/courses"
TOKEN = "https://auth.vendor.example/token"
NO_WAIT = Limits(backoff_base_s=0, attempts=4)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record (instead of doing) the waits between attempts."""
    recorded: list[float] = []
    monkeypatch.setattr("connector.http.pause", recorded.append)
    return recorded


def session(limits: Limits = NO_WAIT, **kwargs: Any) -> VendorSession:
    return make_session(limits=limits, provider_url=URL, auth_url=TOKEN, **kwargs)


def get(s: VendorSession, url: str = URL) -> requests.Response:
    return s.fetch("GET", url, purpose="list", cap=1 << 20, limit="max_page_bytes")


@responses.activate
def test_429_is_retried(sleeps: list[float]) -> None:
    responses.get(URL, status=429, headers={"Retry-After": "2"})
    responses.get(URL, json=[])
    response = get(session())
    assert response.status_code == 200
    assert len(responses.calls) == 2
    assert sleeps == [2.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_5xx_is_retried_up_to_the_attempts_and_no_more(status: int, sleeps: list[float]) -> None:
    responses.get(URL, status=status)
    response = get(session())
    # One layer: exactly `attempts` requests, the last answer returned to the caller.
    assert len(responses.calls) == 4
    assert response.status_code == status
    assert len(sleeps) == 3


@responses.activate
def test_backoff_grows_with_full_jitter(sleeps: list[float]) -> None:
    responses.get(URL, status=503)
    get(session(Limits(backoff_base_s=1, backoff_max_s=3, attempts=5, retry_budget_s=100)))
    assert len(sleeps) == 4
    for wait, ceiling in zip(sleeps, (1, 2, 3, 3), strict=True):
        assert 0 <= wait <= ceiling


@responses.activate
def test_retry_after_beyond_the_budget_stops_at_once(sleeps: list[float]) -> None:
    responses.get(URL, status=429, headers={"Retry-After": "3600"})
    response = get(session(Limits(retry_budget_s=10)))
    assert response.status_code == 429
    assert len(responses.calls) == 1
    assert sleeps == []


def test_retry_after_http_date_counts_against_the_budget() -> None:
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2), True)
    answer = requests.Response()
    answer.status_code = 503
    answer.headers["Retry-After"] = later
    budget = RetryBudget(Limits(retry_budget_s=60))
    assert budget.next_wait(1, answer) is None
    assert "Retry-After" in budget.last_refusal
    assert "retry_budget_s=60" in budget.last_refusal


def test_budget_adds_up_over_attempts() -> None:
    answer = requests.Response()
    answer.status_code = 429
    answer.headers["Retry-After"] = "4"
    budget = RetryBudget(Limits(retry_budget_s=10, attempts=10, backoff_base_s=0))
    assert budget.next_wait(1, answer) == 4
    assert budget.next_wait(2, answer) == 4
    assert budget.next_wait(3, answer) is None  # 12 s would pass the 10 s budget


@pytest.mark.parametrize("status", [429, 500, 503])
@responses.activate
def test_token_post_is_retried(status: int, sleeps: list[float]) -> None:
    responses.post(TOKEN, status=status)
    responses.post(TOKEN, json={"ok": True})
    s = session()
    answer = s.fetch("POST", TOKEN, purpose="token", cap=4096, limit="max_token_bytes")
    assert answer.status_code == 200
    assert len(responses.calls) == 2


@responses.activate
def test_4xx_is_not_retried(sleeps: list[float]) -> None:
    responses.get(URL, status=404)
    assert get(session()).status_code == 404
    assert len(responses.calls) == 1


@responses.activate
def test_connection_error_is_retried_then_one_line(sleeps: list[float]) -> None:
    responses.get(URL, body=requests.ConnectionError("boom"))
    with pytest.raises(VendorError) as caught:
        get(session(Limits(attempts=3, backoff_base_s=0)))
    assert len(responses.calls) == 3
    message = str(caught.value)
    assert message.startswith(URL)
    assert "\n" not in message
    assert "attempts=3" in message


@responses.activate
def test_body_cap_names_the_limit() -> None:
    responses.get(URL, body=b"[" + b" " * 5000 + b"]")
    with pytest.raises(VendorError, match=r"limit max_page_bytes=1000"):
        session().fetch("GET", URL, purpose="list", cap=1000, limit="max_page_bytes")


@responses.activate
def test_user_agent_no_proxies_no_cookies() -> None:
    responses.get(URL, json=[], headers={"Set-Cookie": "track=1; Path=/"})
    s = session()
    get(s)
    assert responses.calls[0].request.headers["User-Agent"] == user_agent()
    assert s.trust_env is False
    assert s.proxies == {}
    assert len(s.cookies) == 0


# -- credential scoping ---------------------------------------------------------------------


def test_credentials_only_to_the_provider_origin() -> None:
    s = session(allowed_package_hosts=("cdn.example.net", "*.signed.example"))
    assert s.credentials_for(URL + "?page=2", "list") is True
    assert s.credentials_for("https://vendor.example/pkg/1.zip", "package") is True
    assert s.credentials_for("https://cdn.example.net/1.zip", "package") is False
    assert s.credentials_for("https://a.b.signed.example/1.zip", "package") is False
    # Same host, another port or scheme: another origin.
    with pytest.raises(UrlRefused, match="another origin"):
        s.credentials_for("https://vendor.example:8443/courses?page=2", "list")
    with pytest.raises(UrlRefused, match="allowed package hosts"):
        s.credentials_for("https://vendor.example:8443/pkg.zip", "package")
    with pytest.raises(UrlRefused, match="allowed package hosts"):
        s.credentials_for("https://signed.example/1.zip", "package")
    with pytest.raises(UrlRefused, match="plain http"):
        s.credentials_for("http://cdn.example.net/1.zip", "package")
    with pytest.raises(UrlRefused, match="Authentication URL"):
        s.credentials_for(URL, "token")
    assert s.credentials_for(TOKEN, "token") is True


@responses.activate
def test_redirect_to_an_allowed_cdn_drops_the_authorization_header() -> None:
    s = session(allowed_package_hosts=("cdn.example.net",))
    s.headers["Authorization"] = "Bearer should-not-travel"  # even a header set by hand
    s.auth = lambda r: r  # type: ignore[assignment]
    responses.get(
        "https://vendor.example/pkg.zip",
        status=302,
        headers={"Location": "https://cdn.example.net/x.zip?sig=s3cr3t"},
    )
    responses.get("https://cdn.example.net/x.zip", body=b"zip")
    with s.open("https://vendor.example/pkg.zip", purpose="package") as response:
        assert response.status_code == 200
    assert "Authorization" in responses.calls[0].request.headers
    assert "Authorization" not in responses.calls[1].request.headers


@pytest.mark.parametrize(
    ("host", "patterns", "expected"),
    [
        ("cdn.example.com", ["cdn.example.com"], True),
        ("CDN.Example.com.", ["cdn.example.com"], True),
        ("a.cdn.example.com", ["cdn.example.com"], False),
        ("a.example.com", ["*.example.com"], True),
        ("a.b.example.com", ["*.example.com"], True),
        ("example.com", ["*.example.com"], False),
        ("evilexample.com", ["*.example.com"], False),
        ("example.com.evil.net", ["*.example.com"], False),
        ("anything", [], False),
    ],
)
def test_host_patterns(host: str, patterns: list[str], expected: bool) -> None:
    assert host_allowed(host, patterns) is expected


@pytest.mark.parametrize("bad", ["*", "*.com", "https://cdn.example.com", "a b", "*.*.x.com"])
def test_bad_host_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="allowed package host"):
        check_host_pattern(bad)


def test_safe_url_hides_user_info_and_signatures() -> None:
    shown = safe_url("https://user:pw@cdn.example.net/x.zip?Signature=abc&Expires=1&a=b")
    assert shown == "https://cdn.example.net/x.zip?Signature=***&Expires=1&a=b"


def test_describe_failure_names_the_cause() -> None:
    assert describe_failure(ConnectionRefusedError(111, "refused")) == "connection refused"
    assert "read_timeout_s" in describe_failure(TimeoutError())


# -- deadlines at the socket level ----------------------------------------------------------


@pytest.fixture
def header_dripper() -> Iterator[str]:
    """A raw server on 127.0.0.1 that sends a status line, then a header byte at a time."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    while not stop.wait(0.05):
                        conn.sendall(b"a")
                except OSError:
                    continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/courses"
    finally:
        stop.set()
        server.close()


def test_headers_dripped_forever_are_cut_by_the_request_deadline(header_dripper: str) -> None:
    # Each byte comes well within the read timeout: only the wall-clock deadline ends it.
    limits = Limits(read_timeout_s=5, request_deadline_s=1, attempts=1)
    s = make_session(limits=limits, provider_url=header_dripper)
    with pytest.raises(VendorError) as caught:
        s.fetch("GET", header_dripper, purpose="list", cap=1000, limit="max_page_bytes")
    assert str(caught.value) == (
        f"{header_dripper}: deadline exceeded (limit request_deadline_s=1)"
    )
