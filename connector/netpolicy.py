"""Which network addresses the connector may connect to (SSRF protection).

A vendor names URLs (next links, package URLs, redirect targets); none of them may make
the LMS reach into its own network. Every host is resolved by :func:`connect` itself,
each address is checked, the socket connects to a checked address (never to a name
resolved again later, so a DNS answer that changes between check and connect cannot
slip through) and the peer address of the connected socket is checked once more.

Refused: loopback, link-local (169.254.0.0/16, fe80::/10), private (RFC 1918, fc00::/7),
unspecified, multicast, and every other address that is not globally routable
(reserved, shared 100.64.0.0/10, documentation ranges...). IPv4-mapped IPv6 addresses
(``::ffff:a.b.c.d``) are judged by their IPv4 address.

The one exception: when the integration's own Provider URL is on such an address (a test
vendor on loopback, an intranet LCMS on a private address), that class of address of
that family (for example "loopback IPv4") is allowed too, and nothing else.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from connector.errors import ConnectorError

__all__ = ["BlockedAddress", "NetPolicy", "address_class"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(ConnectorError):
    """A host resolved only to addresses the network policy refuses."""


def address_class(ip: IPAddress) -> str | None:
    """The special class of ``ip`` ("loopback", "private", ...), ``None`` when global."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def _family(ip: IPAddress) -> int:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return 4
    return ip.version


def _parse(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[tuple[int, IPAddress, tuple[object, ...]]]:
    """``(family, address, sockaddr)`` for every address of ``host`` (raises gaierror)."""
    found: list[tuple[int, IPAddress, tuple[object, ...]]] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        ip = _parse(str(sockaddr[0]))
        if ip is not None:
            found.append((family, ip, tuple(sockaddr)))
    return found


@dataclass(frozen=True)
class NetPolicy:
    """The address classes allowed besides global ones, as ``(IP version, class)``."""

    allowed: frozenset[tuple[int, str]] = frozenset()

    @classmethod
    def for_provider(cls, provider_url: str | None) -> NetPolicy:
        """The policy of an integration: its Provider URL's own special class, if any.

        A host name is resolved once here; when it cannot be resolved nothing special is
        allowed (the request then fails with the DNS error anyway).
        """
        if not provider_url:
            return cls()
        try:
            parts = urlsplit(provider_url)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return cls()
        ip = _parse(host)
        addresses: Sequence[IPAddress]
        if ip is not None:
            addresses = [ip]
        else:
            try:
                addresses = [entry[1] for entry in _resolve(host, port)]
            except (OSError, UnicodeError):
                addresses = []
        allowed = set()
        for address in addresses:
            special = address_class(address)
            if special is not None and special not in ("unspecified", "multicast"):
                allowed.add((_family(address), special))
        return cls(frozenset(allowed))

    def refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` is refused, or ``None`` when the policy allows it."""
        special = address_class(ip)
        if special is None or (_family(ip), special) in self.allowed:
            return None
        return f"{ip} is a {special} address"

    def connect(
        self,
        host: str,
        port: int,
        timeout: float | None,
        *,
        source_address: tuple[str, int] | None = None,
        socket_options: Sequence[tuple[int, int, int | bytes]] | None = None,
    ) -> socket.socket:
        """Resolve ``host``, connect to the first allowed address, check the peer.

        Raises:
            BlockedAddress: every address of the host is refused (message names them).
            socket.gaierror: the name does not resolve.
            OSError: no allowed address accepted the connection (the last error).
        """
        refused: list[str] = []
        last_error: OSError | None = None
        for family, ip, sockaddr in _resolve(host, port):
            reason = self.refusal(ip)
            if reason is not None:
                refused.append(reason)
                continue
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
                if timeout is not None:
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                peer = _parse(str(sock.getpeername()[0]))
                if peer is None or peer != ip or self.refusal(peer) is not None:
                    raise BlockedAddress(f"{host}: connected to {peer}, not the vetted {ip}")
            except BaseException as exc:
                sock.close()
                if isinstance(exc, BlockedAddress | KeyboardInterrupt | SystemExit):
                    raise
                if isinstance(exc, OSError):
                    last_error = exc
                    continue
                raise
            return sock
        if last_error is not None:
            raise last_error
        what = "; ".join(dict.fromkeys(refused)) or "no usable address"
        raise BlockedAddress(f"{host} refused by the network policy: {what}")
