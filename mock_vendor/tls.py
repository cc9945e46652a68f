"""A throw-away local certificate authority for serving the mock over https (``--tls``).

Many OAuth2 client libraries refuse plain http even on loopback. ``trustme`` makes a CA
and a server certificate for the loopback names in memory; the CA certificate is
written to a file that clients trust (``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``).
Nothing here is fit for anything but a local test.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1")


def throwaway_ca(
    directory: Path, hosts: Sequence[str] = DEFAULT_HOSTS
) -> tuple[ssl.SSLContext, Path]:
    """Make a CA and a certificate for ``hosts``; return the server context and the CA file.

    Args:
        directory: Where the CA certificate (``cckit-mock-ca.pem``) is written.
        hosts: Names and IP addresses the server certificate covers.
    """
    import trustme

    ca = trustme.CA(organization_name="cckit throw-away test CA")
    certificate = ca.issue_cert(*hosts)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    directory.mkdir(parents=True, exist_ok=True)
    ca_file = directory / "cckit-mock-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


class TlsServer:
    """The mock served over https by werkzeug's threaded server (waitress has no TLS).

    Args:
        app: The WSGI app.
        host: Interface to bind.
        port: Port (0: a free one).
        directory: Where the CA file is written.
    """

    def __init__(self, app: Any, host: str, port: int, directory: Path) -> None:
        from werkzeug.serving import make_server

        wildcards = ("", "0.0.0.0", "::")  # noqa: S104 - names left out of the certificate
        hosts = [h for h in dict.fromkeys((*DEFAULT_HOSTS, host)) if h not in wildcards]
        context, self.ca_file = throwaway_ca(directory, hosts)
        self._server = make_server(host, port, app, threaded=True, ssl_context=context)

    @property
    def effective_port(self) -> int:
        """The bound port."""
        return int(self._server.port)

    def run(self) -> None:
        """Serve until interrupted."""
        self._server.serve_forever()

    def close(self) -> None:
        """Close the listening socket."""
        self._server.server_close()


def tls_server(app: Any, *, host: str, port: int, **_waitress_options: Any) -> TlsServer:
    """A :class:`TlsServer` with its CA in a new temporary folder; called like waitress's
    ``create_server`` (whose tuning options do not apply and are ignored)."""
    import tempfile

    return TlsServer(app, host, port, Path(tempfile.mkdtemp(prefix="cckit-tls-")))


__all__ = ["DEFAULT_HOSTS", "TlsServer", "throwaway_ca", "tls_server"]
