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


__all__ = ["DEFAULT_HOSTS", "throwaway_ca"]
