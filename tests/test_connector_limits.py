"""Limits (every bound with a default) and the network policy (which addresses)."""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.client import split_array
from connector.limits import DEFAULT_LIMITS
from connector.limits import LimitExceeded
from connector.limits import Limits
from connector.netpolicy import BlockedAddress
from connector.netpolicy import NetPolicy
from connector.netpolicy import address_class


def test_defaults_round_trip_as_no_overrides() -> None:
    assert DEFAULT_LIMITS.to_mapping() == {}
    assert Limits.from_mapping({}) == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.attempts == 4
    assert DEFAULT_LIMITS.max_redirects == 5


def test_overrides_are_converted_and_kept() -> None:
    limits = Limits.from_mapping({"max_page_bytes": "1048576", "read_timeout_s": 5})
    assert limits.max_page_bytes == 1_048_576
    assert limits.read_timeout_s == 5.0
    assert limits.to_mapping() == {"max_page_bytes": 1_048_576, "read_timeout_s": 5.0}
    assert Limits.from_mapping(limits.to_mapping()) == limits


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_pages_x": 1}, "unknown limit 'max_pages_x'"),
        ({"attempts": 0}, "limit attempts: 0 must be above 0"),
        ({"attempts": 2.5}, "limit attempts: 2.5 is not a whole number"),
        ({"attempts": "many"}, "limit attempts: 'many' is not a whole number"),
        ({"read_timeout_s": "inf"}, "limit read_timeout_s: inf is not a finite number"),
        ({"read_timeout_s": True}, "limit read_timeout_s: bool is not a number"),
        ({"backoff_base_s": -1}, "limit backoff_base_s: -1.0 is below 0"),
    ],
)
def test_bad_values_give_one_line_errors(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="limit") as caught:
        Limits.from_mapping(values)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_zero_means_none_where_documented() -> None:
    assert Limits.from_mapping({"max_redirects": 0, "backoff_base_s": 0}).max_redirects == 0


@given(st.sampled_from(Limits.names()), st.integers(min_value=1, max_value=10**9))
def test_any_positive_value_round_trips(name: str, value: int) -> None:
    limits = Limits.from_mapping({name: value})
    assert Limits.from_mapping(limits.to_mapping()) == limits


def test_limit_exceeded_names_limit_value_and_url() -> None:
    error = LimitExceeded("max_page_bytes", 10, "https://v.example/c", "body over 10 bytes")
    assert str(error) == "https://v.example/c: body over 10 bytes (limit max_page_bytes=10)"


# -- network policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("fd00::1", "private"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to classify, not to bind
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "reserved"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_classes(address: str, kind: str | None) -> None:
    assert address_class(ipaddress.ip_address(address)) == kind


def test_a_loopback_provider_allows_loopback_ipv4_only() -> None:
    policy = NetPolicy.for_provider("http://127.0.0.1:8080/api/courses")
    assert policy.refusal(ipaddress.ip_address("127.0.0.2")) is None
    assert policy.refusal(ipaddress.ip_address("::ffff:127.0.0.9")) is None
    assert policy.refusal(ipaddress.ip_address("::1")) == "::1 is a loopback address"
    assert "link-local" in (policy.refusal(ipaddress.ip_address("169.254.169.254")) or "")
    assert "private" in (policy.refusal(ipaddress.ip_address("10.0.0.1")) or "")


def test_a_public_provider_allows_no_special_address() -> None:
    policy = NetPolicy.for_provider("https://93.184.216.34/courses")
    assert policy.allowed == frozenset()
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is not None


def _resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> list[Any]:
    connects: list[Any] = []

    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    def fake_connect(sock: socket.socket, address: Any) -> None:
        connects.append(address)
        raise AssertionError("must not connect")

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", fake_connect)
    return connects


def test_a_name_resolving_to_the_metadata_address_is_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connects = _resolving_to(monkeypatch, "169.254.169.254", "::ffff:10.0.0.1")
    with pytest.raises(BlockedAddress) as caught:
        NetPolicy().connect("metadata.internal.example", 443, 1.0)
    assert "169.254.169.254 is a link-local address" in str(caught.value)
    assert "private" in str(caught.value)
    assert connects == []


def test_the_peer_is_checked_after_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    # A resolver and a socket that disagree (a rebinding trick): the peer is refused.
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))
        ],
    )
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    monkeypatch.setattr(socket.socket, "getpeername", lambda self: ("127.0.0.5", port))
    try:
        with pytest.raises(BlockedAddress, match=r"not the vetted 127\.0\.0\.1"):
            NetPolicy.for_provider("http://127.0.0.1/").connect("vendor.test", port, 1.0)
    finally:
        server.close()


# -- the depth-safe page splitter ------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)


@given(st.lists(_JSON, max_size=6))
def test_split_array_agrees_with_json_loads(values: list[Any]) -> None:
    text = json.dumps(values).encode()
    assert split_array(text, Limits(max_json_depth=1000)) == values


def test_split_array_refuses_deep_and_big_elements_and_keeps_the_others() -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    text = b'[{"ID": "A"}, ' + deep + b', {"ID": "B", "x": "' + b"y" * 100 + b'"}, {"ID": "C"}]'
    items = split_array(text, Limits(max_json_depth=8, max_course_bytes=64))
    assert items is not None
    assert items[0] == {"ID": "A"}
    assert items[3] == {"ID": "C"}
    assert "max_json_depth=8" in items[1].reason
    assert "max_course_bytes=64" in items[2].reason
    assert split_array(b'{"not": "an array"}', Limits()) is None
