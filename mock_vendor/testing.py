"""Run the mock vendor live in a test, on 127.0.0.1 and a free port.

Example::

    from mock_vendor.testing import serve

    with serve({"COURSES": 10, "SEED": 1}) as vendor:
        token = requests.post(vendor.auth_url, data={"grant_type": "client_credentials"},
                              auth=(vendor.client_id, vendor.client_secret)).json()
        vendor.admin.set_fault("server_error:1@list")
        vendor.admin.advance_clock(3600)
        print(vendor.admin.journal())

The server is werkzeug's threaded ``make_server`` in a daemon thread (the
pytest-httpserver recipe). Problems the mock notices on the server side (for example a
response that fails the ``VALIDATE_RESPONSES`` check) are re-raised when the ``with``
block ends, so they are not lost in the server thread.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import flask
import requests
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from mock_vendor.app import create_app
from mock_vendor.app import create_origin_app
from mock_vendor.errors import MockVendorError
from mock_vendor.state import get_state


class AdminError(MockVendorError):
    """An admin API call failed; ``status`` and ``body`` hold the answer."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} -> {status}: {body}")
        self.status = status
        self.body = body


class AdminClient:
    """A small requests-based client of the admin API (``/_admin/``).

    Args:
        admin_url: ``<base_url>/_admin``.
        admin_token: The admin Bearer token.
        timeout: Seconds per call.
    """

    def __init__(self, admin_url: str, admin_token: str, timeout: float = 30.0) -> None:
        self.admin_url = admin_url.rstrip("/")
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {admin_token}"
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"AdminClient({self.admin_url!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """Call the admin API and return the decoded JSON answer.

        Raises:
            AdminError: The answer was not 2xx.
        """
        response = self._session.request(
            method,
            f"{self.admin_url}/{path.lstrip('/')}",
            json=json,
            data=data,
            params=params,
            timeout=self.timeout,
        )
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if not response.ok:
            raise AdminError(method, path, response.status_code, body)
        return body

    @staticmethod
    def _tenant(tenant: str | None) -> dict[str, str] | None:
        return {"tenant": tenant} if tenant else None

    def info(self) -> dict[str, Any]:
        """``GET /_admin/``: auth mode, clock, tenants, active faults."""
        result: dict[str, Any] = self.request("GET", "/")
        return result

    def courses(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """Every course of a tenant (inactive included)."""
        result: list[dict[str, Any]] = self.request("GET", "courses", params=self._tenant(tenant))
        return result

    def course(self, course_id: str, tenant: str | None = None) -> dict[str, Any]:
        """One course."""
        result: dict[str, Any] = self.request(
            "GET", f"courses/{course_id}", params=self._tenant(tenant)
        )
        return result

    def add_course(
        self,
        course_id: str,
        title: str,
        *,
        package: bytes | None = None,
        tenant: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Add a course; without ``package`` a one-lesson AICC package is generated.

        ``fields`` are further course fields in the contract's spelling
        (``Description=...``, ``Languages=[...]``).
        """
        body: dict[str, Any] = {"ID": course_id, "Title": title, **fields}
        if package is not None:
            body["package_base64"] = base64.b64encode(package).decode()
        result: dict[str, Any] = self.request(
            "POST", "courses", json=body, params=self._tenant(tenant)
        )
        return result

    def update_course(
        self, course_id: str, tenant: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change course fields (``Title=...``); bumps LastModifiedUTC."""
        result: dict[str, Any] = self.request(
            "PATCH", f"courses/{course_id}", json=fields, params=self._tenant(tenant)
        )
        return result

    def deactivate_course(self, course_id: str, tenant: str | None = None) -> dict[str, Any]:
        """Set IsActive false."""
        result: dict[str, Any] = self.request(
            "POST", f"courses/{course_id}/deactivate", params=self._tenant(tenant)
        )
        return result

    def activate_course(self, course_id: str, tenant: str | None = None) -> dict[str, Any]:
        """Set IsActive true."""
        result: dict[str, Any] = self.request(
            "POST", f"courses/{course_id}/activate", params=self._tenant(tenant)
        )
        return result

    def replace_package(
        self, course_id: str, package: bytes | None = None, tenant: str | None = None
    ) -> dict[str, Any]:
        """Replace the package (new bytes, or a rebuilt next revision when ``None``)."""
        result: dict[str, Any] = self.request(
            "PUT",
            f"courses/{course_id}/package",
            data=package or b"",
            params=self._tenant(tenant),
        )
        return result

    def advance_clock(self, seconds: float) -> str:
        """Move the mock clock forward; returns the new instant (RFC 3339)."""
        result: dict[str, Any] = self.request("POST", "clock", json={"advance": seconds})
        return str(result["now"])

    def clock(self) -> str:
        """The mock clock's current instant (RFC 3339)."""
        return str(self.request("GET", "clock")["now"])

    def set_package_origin(self, mode: str | None) -> dict[str, Any]:
        """Serve packages from the second origin: ``"all"``, ``"some"`` or ``None`` (off)."""
        result: dict[str, Any] = self.request(
            "POST", "package-origin", json={"mode": mode or "off"}
        )
        return result

    def set_fault(self, spec: str) -> dict[str, Any]:
        """Switch a fault on: ``"NAME[:ARG][@SCOPE]"``."""
        result: dict[str, Any] = self.request("POST", "faults", json={"spec": spec})
        return result

    def clear_fault(self, name: str | None = None) -> None:
        """Switch one fault off, or all of them when ``name`` is ``None``."""
        self.request("DELETE", "faults" if name is None else f"faults/{name}")

    def faults(self) -> list[dict[str, Any]]:
        """The active faults."""
        result: list[dict[str, Any]] = self.request("GET", "faults")["active"]
        return result

    def journal(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Recorded vendor requests, oldest first."""
        params = {"limit": str(limit)} if limit is not None else None
        result: list[dict[str, Any]] = self.request("GET", "journal", params=params)
        return result

    def clear_journal(self) -> None:
        """Forget recorded requests."""
        self.request("DELETE", "journal")

    def rotate_secret(self, client_id: str, new_secret: str | None = None) -> str:
        """Give a client a new secret; returns it."""
        body = {"client_secret": new_secret} if new_secret else {}
        return str(
            self.request("POST", f"clients/{client_id}/rotate-secret", json=body)["client_secret"]
        )

    def expire_tokens(self) -> int:
        """Invalidate every issued access token; returns how many there were."""
        return int(self.request("POST", "tokens/expire")["expired"])

    def reset(self) -> None:
        """Back to the configured start (catalogs, secrets, faults, clock, journal)."""
        self.request("POST", "reset")


class _QuietRequestHandler(WSGIRequestHandler):
    """Keeps werkzeug's per-request access log out of the test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class LiveVendor:
    """A running mock vendor, as yielded by :func:`serve`."""

    base_url: str
    app: flask.Flask
    client_id: str
    client_secret: str = field(repr=False)
    admin_token: str = field(repr=False)
    admin: AdminClient
    auth_mode: str = "oauth2"
    #: Base URL of the second package origin (signed URLs), when it was started.
    package_origin_url: str | None = None

    @property
    def auth_url(self) -> str:
        """The token endpoint (Authentication URL)."""
        return f"{self.base_url}/oauth/token"

    @property
    def course_list_url(self) -> str:
        """The course list (Provider URL)."""
        return f"{self.base_url}/api/v1/courses"

    @property
    def admin_url(self) -> str:
        """The admin API root."""
        return f"{self.base_url}/_admin"

    def package_url(self, course_id: str) -> str:
        """The DownloadPackageUrl of a course."""
        return f"{self.course_list_url}/{course_id}/package.zip"

    def credentials(self, tenant: str | None = None) -> tuple[str, str]:
        """``(client_id, client_secret)`` of a tenant (the first one by default)."""
        state = get_state(self.app)
        with state.lock:
            found = state.tenant(tenant)
            return found.client_id, found.client_secret

    def problems(self) -> list[str]:
        """Server-side problems recorded so far (e.g. responses that failed validation)."""
        state = get_state(self.app)
        with state.lock:
            return list(state.problems)


@contextmanager
def serve(
    app_or_config: flask.Flask | Mapping[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    check_problems: bool = True,
    package_origin: bool | None = None,
) -> Iterator[LiveVendor]:
    """Run a mock vendor in a daemon thread for the duration of the ``with`` block.

    Args:
        app_or_config: An app from :func:`mock_vendor.create_app`, or a config mapping
            for it (``None``: the defaults).
        host: Interface to bind (loopback by default).
        port: Port to bind; ``0`` picks a free one.
        check_problems: Raise at exit when the server recorded problems.
        package_origin: Also run the second package origin (signed package URLs) on
            ``PACKAGE_ORIGIN_HOST:PACKAGE_ORIGIN_PORT``; ``None``: when ``PACKAGE_ORIGIN``
            is on. Switch it with ``vendor.admin.set_package_origin("all")``.

    Yields:
        A :class:`LiveVendor` with the URLs, credentials and an admin client.

    Raises:
        MockVendorError: At exit, when ``check_problems`` and the server recorded problems.
    """
    app = (
        app_or_config
        if isinstance(app_or_config, flask.Flask)
        else create_app(dict(app_or_config or {}))
    )
    state = get_state(app)
    servers = [make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)]
    origin_url = None
    if package_origin or (package_origin is None and state.package_origin_mode is not None):
        origin_host = str(app.config["PACKAGE_ORIGIN_HOST"])
        origin = make_server(
            origin_host,
            int(app.config["PACKAGE_ORIGIN_PORT"]),
            create_origin_app(app),
            threaded=True,
            request_handler=_QuietRequestHandler,
        )
        servers.append(origin)
        shown = f"[{origin_host}]" if ":" in origin_host else origin_host
        origin_url = f"http://{shown}:{origin.port}"
        state.package_origin_url = origin_url
        state.changed()
    server = servers[0]
    threads = [
        threading.Thread(target=s.serve_forever, name="mock-vendor-live", daemon=True)
        for s in servers
    ]
    for thread in threads:
        thread.start()
    display_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{display_host}:{server.port}"
    tenant = state.default_tenant
    admin = AdminClient(f"{base_url}/_admin", state.admin_token)
    vendor = LiveVendor(
        base_url=base_url,
        app=app,
        client_id=tenant.client_id,
        client_secret=tenant.client_secret,
        admin_token=state.admin_token,
        admin=admin,
        auth_mode=state.auth_mode,
        package_origin_url=origin_url,
    )
    try:
        yield vendor
    finally:
        for running, thread in zip(servers, threads, strict=True):
            running.shutdown()
            thread.join(timeout=10)
            running.server_close()
        admin.close()
    if check_problems and vendor.problems():
        raise MockVendorError("the mock vendor recorded problems:\n" + "\n".join(vendor.problems()))


__all__ = ["AdminClient", "AdminError", "LiveVendor", "serve"]
