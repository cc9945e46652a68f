"""HTTPS through the vetted connections: verification by host name, one-line TLS errors.

A local TLS server on 127.0.0.1 with a certificate made for the test (``cryptography``,
already a dependency of the secret store): the connector's own connection class (address
check, deadline watch) must still verify the certificate against the URL's host.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connector.errors import VendorError
from connector.http import make_session
from connector.limits import Limits


def _certificate(folder: Path, names: list[str]) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cckit test")])
    now = dt.datetime.now(dt.UTC)
    alternative = [
        x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n)
        for n in names
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(tmp_path: Path, names: list[str]) -> Iterator[tuple[str, Path]]:
    cert, key = _certificate(tmp_path, names)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def good(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield from _serve(tmp_path, ["127.0.0.1"])


@pytest.fixture
def wrong_name(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield from _serve(tmp_path, ["vendor.example"])


LIMITS = Limits(attempts=1, request_deadline_s=10)


def test_https_through_the_vetted_connection(good: tuple[str, Path]) -> None:
    base, cert = good
    session = make_session(limits=LIMITS, provider_url=f"{base}/courses")
    session.verify = str(cert)
    response = session.fetch(
        "GET", f"{base}/courses", purpose="list", cap=1000, limit="max_page_bytes"
    )
    assert response.status_code == 200
    assert response.json() == []


def test_a_certificate_for_another_host_is_one_line(wrong_name: tuple[str, Path]) -> None:
    base, cert = wrong_name
    session = make_session(limits=LIMITS, provider_url=f"{base}/courses")
    session.verify = str(cert)
    with pytest.raises(VendorError) as caught:
        session.fetch("GET", f"{base}/courses", purpose="list", cap=1000, limit="max_page_bytes")
    message = str(caught.value)
    assert message.startswith(f"{base}/courses: request failed: TLS certificate rejected")
    assert "\n" not in message


def test_an_unknown_authority_is_refused(good: tuple[str, Path]) -> None:
    base, _ = good
    session = make_session(limits=LIMITS, provider_url=f"{base}/courses")
    with pytest.raises(VendorError, match="TLS certificate rejected"):
        session.fetch("GET", f"{base}/courses", purpose="list", cap=1000, limit="max_page_bytes")
