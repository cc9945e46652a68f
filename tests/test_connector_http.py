"""The sync session: retries for 429/5xx with a capped Retry-After, timeouts, User-Agent."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import responses
from urllib3 import HTTPResponse
from urllib3.util import retry as urllib3_retry

from connector.http import make_session
from connector.http import user_agent

URL = "https://vendor.example/courses"


@dataclass(frozen=True)
class Opts:
    timeout: float = 7.0
    retries: int = 3
    max_retry_after: float = 5.0
    backoff_factor: float = 0.0


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record (instead of doing) the sleeps urllib3's Retry asks for."""
    recorded: list[float] = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", recorded.append)
    return recorded


def _retry_of(session: requests.Session) -> urllib3_retry.Retry:
    adapter = session.get_adapter(URL)
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    return adapter.max_retries


@responses.activate
def test_429_is_retried(sleeps: list[float]) -> None:
    responses.get(URL, status=429, headers={"Retry-After": "2"})
    responses.get(URL, json=[])
    response = make_session(Opts()).get(URL)
    assert response.status_code == 200
    assert len(responses.calls) == 2


@pytest.mark.parametrize(("header", "slept"), [("2", 2), ("3600", 5), ("0", None)])
def test_retry_after_is_honoured_and_capped(
    header: str, slept: float | None, sleeps: list[float]
) -> None:
    # responses replays urllib3's retry decisions but never sleeps, so drive the
    # session's Retry object directly with a 429 carrying Retry-After.
    retry = _retry_of(make_session(Opts(max_retry_after=5)))
    answer = HTTPResponse(body=b"", status=429, headers={"Retry-After": header})
    assert retry.is_retry("GET", 429, has_retry_after=True)
    retry.sleep(answer)
    assert sleeps == ([slept] if slept is not None else [])


def test_retry_after_http_date_is_capped(sleeps: list[float]) -> None:
    retry = _retry_of(make_session(Opts(max_retry_after=5)))
    later = email.utils.format_datetime(
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=2), usegmt=True
    )
    retry.sleep(HTTPResponse(body=b"", status=503, headers={"Retry-After": later}))
    assert sleeps == [5]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_get_5xx_is_retried(status: int, sleeps: list[float]) -> None:
    responses.get(URL, status=status)
    responses.get(URL, status=status)
    responses.get(URL, json=[1])
    response = make_session(Opts()).get(URL)
    assert response.json() == [1]
    assert len(responses.calls) == 3


@responses.activate
def test_exhausted_retries_return_the_last_answer(sleeps: list[float]) -> None:
    responses.get(URL, status=503)
    response = make_session(Opts(retries=2)).get(URL)
    assert response.status_code == 503
    assert len(responses.calls) == 3  # first try + 2 retries


@pytest.mark.parametrize("status", [429, 500, 503])
@responses.activate
def test_token_post_is_retried(status: int, sleeps: list[float]) -> None:
    token = "https://vendor.example/token"
    responses.post(token, status=status)
    responses.post(token, json={"ok": True})
    assert make_session(Opts()).post(token).status_code == 200
    assert len(responses.calls) == 2


@responses.activate
def test_other_methods_are_not_retried(sleeps: list[float]) -> None:
    responses.put(URL, status=503)
    assert make_session(Opts()).put(URL).status_code == 503
    assert len(responses.calls) == 1


@responses.activate
def test_4xx_is_not_retried(sleeps: list[float]) -> None:
    responses.get(URL, status=404)
    assert make_session(Opts()).get(URL).status_code == 404
    assert len(responses.calls) == 1


@responses.activate
def test_user_agent_and_default_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    responses.get(URL, json=[])
    session = make_session(Opts(timeout=42.0))
    adapter = session.get_adapter(URL)
    original = adapter.send

    def spy(request: Any, **kwargs: Any) -> Any:
        seen["timeout"] = kwargs.get("timeout")
        return original(request, **kwargs)

    # On the instance: patching the class would outlive responses' own patch of it.
    monkeypatch.setattr(adapter, "send", spy)
    session.get(URL)
    assert responses.calls[0].request.headers["User-Agent"] == user_agent()
    assert user_agent().startswith("cckit/")
    assert seen["timeout"] == (10.0, 42.0)
    session.get(URL, timeout=3)
    assert seen["timeout"] == 3
