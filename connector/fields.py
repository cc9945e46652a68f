"""The integration's fields checked one by one: names, URLs, times, zones, hosts.

Each check returns the normalised value or raises
:class:`~connector.errors.InvalidField` naming the field and what is wrong (never the
value of a secret). :mod:`connector.integrations` stores what passes.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import urllib.parse
import zoneinfo
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from connector.errors import InvalidField
from connector.secrets import Secret

AUTH_MODES = ("oauth2", "basic")
DEFAULT_FULL_EVERY_DAYS = 7
# \Z, not $: "$" would also accept a name followed by a newline.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})\Z")
#: A host name (or ``*.`` + a domain) an admin may allow packages from.
_HOST_RE = re.compile(
    r"(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z"
)
#: Allowed package hosts per integration.
MAX_ALLOWED_HOSTS = 50


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_url(field_name: str, value: str) -> str:
    """Check an endpoint URL: absolute http(s), a host, plain http only on loopback.

    Args:
        field_name: The field named in the error (e.g. ``"provider_url"``).
        value: The URL.

    Returns:
        The URL, stripped of surrounding white space.

    Raises:
        InvalidField: The URL is unusable; the message names the field and the reason.
    """
    url = value.strip()
    if not url:
        raise InvalidField(field_name, "a URL is required")
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidField(field_name, f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidField(field_name, f"must be an http(s) URL, got {url!r}")
    if not host:
        raise InvalidField(field_name, f"has no host: {url!r}")
    if parts.username or parts.password:
        # Credentials belong in the Client ID/Secret fields, never in a stored URL.
        raise InvalidField(field_name, "must not contain a user name or password")
    if parts.scheme == "http" and not _is_loopback(host):
        raise InvalidField(
            field_name,
            f"plain http is only allowed for loopback hosts (localhost, 127.0.0.1, ::1); "
            f"use https for {host}",
        )
    return url


def parse_sync_time(value: str | dt.time) -> dt.time:
    """Parse a Sync Time ``HH:MM`` (24-hour clock).

    Raises:
        InvalidField: Not ``HH:MM`` with 00-23 hours and 00-59 minutes.
    """
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = _TIME_RE.match(value.strip())
    if not match:
        raise InvalidField("sync_time", f"expected HH:MM (24-hour clock), got {value!r}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise InvalidField("sync_time", f"{value!r} is not a time of day (00:00 to 23:59)")
    return dt.time(hour, minute)


def validate_timezone(value: str) -> str:
    """Check an IANA time zone name such as ``Europe/Paris`` or ``UTC``.

    Raises:
        InvalidField: Unknown time zone.
    """
    name = value.strip()
    try:
        if not name or name != name.strip("/") or ".." in name:
            raise ValueError(name)
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidField(
            "timezone", f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)"
        ) from None
    return name


def validate_name(value: str) -> str:
    """Check an Integration Name: 1-64 letters, digits, ``.``, ``_`` or ``-``.

    Raises:
        InvalidField: The name is empty or has other characters.
    """
    name = value.strip()
    if not _NAME_RE.match(name):
        raise InvalidField(
            "name",
            f"{value!r} is not a valid integration name (1-64 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit)",
        )
    return name


def validate_allowed_hosts(hosts: Iterable[str]) -> tuple[str, ...]:
    """Check the allowed package hosts: host names, or ``*.domain`` for its subdomains.

    Args:
        hosts: Host names as typed (case and surrounding space are ignored).

    Returns:
        The lower-cased hosts in the given order, without duplicates.

    Raises:
        InvalidField: A host is not a plain host name (no scheme, port, path or IP
            literal: credentials-free CDNs are named by host).
    """
    result: list[str] = []
    for raw in hosts:
        host = str(raw).strip().lower().rstrip(".")
        if not host:
            continue
        try:
            host = host.encode("idna").decode("ascii") if not host.isascii() else host
        except UnicodeError:
            raise InvalidField("allowed_package_hosts", f"{raw!r} is not a host name") from None
        if not _HOST_RE.match(host) or len(host) > 253 or _is_ip_literal(host):
            raise InvalidField(
                "allowed_package_hosts",
                f"{raw!r} is not a host name (give e.g. cdn.example.com or *.example.com; "
                "no scheme, port, path or IP address)",
            )
        if host not in result:
            result.append(host)
    if len(result) > MAX_ALLOWED_HOSTS:
        raise InvalidField("allowed_package_hosts", f"at most {MAX_ALLOWED_HOSTS} hosts")
    return tuple(result)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.removeprefix("*."))
    except ValueError:
        return False
    return True


def validate_limits(value: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidField("limits", "must be a mapping of limit name to value")
    return {str(k): v for k, v in value.items()}


def validate_text(field_name: str, value: str, max_len: int) -> str:
    text = value.strip()
    if not text:
        raise InvalidField(field_name, "must not be empty")
    if len(text) > max_len:
        raise InvalidField(field_name, f"is longer than {max_len} characters")
    return text


def validate_auth_mode(value: str) -> str:
    mode = value.strip().lower()
    if mode not in AUTH_MODES:
        raise InvalidField("auth_mode", f"must be one of {', '.join(AUTH_MODES)}, got {value!r}")
    return mode


def validate_full_every_days(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 366:
        raise InvalidField("full_every_days", f"must be a whole number of days 1-366, got {value}")
    return value


def validate_secret(value: Secret | str) -> Secret:
    secret = value if isinstance(value, Secret) else Secret(value)
    if not secret.reveal():
        raise InvalidField("client_secret", "must not be empty")
    return secret


def check_auth_url(auth_mode: str, auth_url: str | None) -> str | None:
    if auth_url is None or not auth_url.strip():
        if auth_mode == "oauth2":
            raise InvalidField("auth_url", "is required when auth_mode is oauth2")
        return None
    return validate_url("auth_url", auth_url)
