"""Where a request may go and whether credentials go with it (the connector's scoping rules).

See docs/connector.md, "Security model": credentials only to the Provider URL's origin,
the token request only to the Authentication URL, a package on another origin only from
an allowed package host and without credentials, ``http`` only to a loopback host. Also
:func:`safe_url`, the form of a URL fit for a message.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Literal
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from connector.errors import VendorError

__all__ = [
    "Purpose",
    "UrlRefused",
    "check_host_pattern",
    "credentials_for",
    "host_allowed",
    "origin",
    "safe_url",
]

_SECRET_PARAM = re.compile(r"sig|token|key|secret|auth|pass|cred|signature", re.IGNORECASE)

#: What a request is for; it decides where it may go and with which credentials.
Purpose = Literal["list", "token", "package"]


class UrlRefused(VendorError):
    """A URL (or a redirect hop) breaks the credential scoping or scheme rules."""


def safe_url(url: str) -> str:
    """``url`` fit for a message: no user info, signature-like query values hidden."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*"
            )
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))[:500]
    except ValueError:
        return url[:100]


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), host, port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    """Tell whether ``host`` matches an allowed package host.

    A pattern is an exact host (``cdn.example.com``, an IP address) or ``*.`` followed by
    a domain (``*.example.com``), which matches any host *below* that domain at any depth
    (``a.example.com``, ``a.b.example.com``) but not ``example.com`` itself. Matching is
    case-insensitive and ignores a trailing dot.
    """
    host = host.rstrip(".").lower()
    for pattern in patterns:
        pattern = pattern.strip().rstrip(".").lower()
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def check_host_pattern(pattern: str) -> str:
    """Validate one allowed-package-host pattern; return it normalised.

    Raises:
        ValueError: not a host name, IP address or ``*.domain`` (one line, naming it).
    """
    text = pattern.strip().rstrip(".").lower()
    bare = text[2:] if text.startswith("*.") else text
    label = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
    if re.fullmatch(rf"{label}(\.{label})*", bare) or _is_ip(bare):
        if text.startswith("*.") and "." not in bare:
            raise ValueError(f"allowed package host {pattern!r}: '*.' needs a domain below a TLD")
        return text
    raise ValueError(f"allowed package host {pattern!r}: not a host name or *.domain")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def credentials_for(
    url: str,
    purpose: Purpose,
    *,
    provider_url: str | None,
    auth_url: str | None,
    allowed_package_hosts: Sequence[str],
) -> bool:
    """Check ``url`` for ``purpose``; tell whether credentials may go with it.

    Raises:
        UrlRefused: the scheme, origin or host is not allowed for this purpose.
    """
    shown = safe_url(url)
    try:
        scheme, host, port = origin(url)
    except ValueError:
        raise UrlRefused(shown, None, "not a valid URL") from None
    if scheme not in ("http", "https") or not host:
        raise UrlRefused(shown, None, "not an absolute http(s) URL")
    if scheme == "http" and not _is_loopback(host):
        raise UrlRefused(shown, None, "plain http is allowed only to a loopback host")
    if purpose == "token":
        if auth_url is None or origin(auth_url) != (scheme, host, port):
            raise UrlRefused(shown, None, "the token request goes only to the Authentication URL")
        return True
    if provider_url is not None and origin(provider_url) == (scheme, host, port):
        return True
    if purpose == "list":
        provider = "{}://{}:{}".format(*origin(provider_url or ""))
        raise UrlRefused(
            shown, None,
            f"next link to another origin than the Provider URL's ({provider}); refused",
        )  # fmt: skip
    if not host_allowed(host, allowed_package_hosts):
        raise UrlRefused(
            shown, None,
            f"package host {host!r} is not in the integration's allowed package hosts",
        )  # fmt: skip
    return False
