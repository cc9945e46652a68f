"""URL rules of the contract that JSON Schema cannot express."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str) -> bool:
    """Tell whether a URL host names the local machine.

    Args:
        host: A host as :func:`urllib.parse.urlsplit` returns it in ``hostname`` (lower case,
            IPv6 without brackets).

    Returns:
        True for ``localhost``, any address in 127.0.0.0/8 and ``::1``.
    """
    # A trailing dot is the fully qualified spelling of the same name.
    name = host.rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_allowed_package_url(url: str) -> bool:
    """Apply the contract's rule for ``DownloadPackageUrl`` (COURSE-010).

    The URL must be an absolute ASCII URI with a host; ``https`` is always allowed, ``http``
    only when the host is a loopback host (``localhost``, 127.0.0.0/8, ``::1``). The JSON
    Schema accepts any http(s) URL because it cannot look at the host; this function adds
    the loopback rule.

    Args:
        url: The URL as the course list gave it.

    Returns:
        True when the contract allows the URL.
    """
    # A URL on the wire is an RFC 3986 URI: ASCII only (IRIs must be percent-encoded), no
    # white space. The schema's `format: uri` says the same; this keeps both in agreement.
    if not isinstance(url, str) or not url.isascii() or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  # raises ValueError on a malformed port
    except ValueError:
        return False
    if not host:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback_host(host)
