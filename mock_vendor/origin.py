"""Packages from a second origin: signed, expiring URLs, as a CDN in front of a vendor serves.

With ``PACKAGE_ORIGIN`` on (``"all"`` courses, or ``"some"``: those with an even
``seq``), the course list names package URLs on another origin (scheme, host, port):
a second listener that serves only this blueprint. Such a URL carries its expiry (Unix
seconds on the mock clock) and an HMAC-SHA256 signature of tenant, course and expiry;
the download needs no credentials (contract PKG-019), and a URL that is unsigned, forged,
altered or expired is refused with ``403`` (PKG-020). The list and the same-origin package
URLs still require the token (AUTH-016, PKG-004).

The listener is started by :func:`mock_vendor.testing.serve` and ``cckit vendor serve``
(:func:`mock_vendor.app.create_origin_app` builds its app), which then set
:attr:`~mock_vendor.state.VendorState.package_origin_url`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from urllib.parse import quote

import flask

from mock_vendor.errors import APIError
from mock_vendor.model import CourseRecord
from mock_vendor.packages import check_head_allowed
from mock_vendor.packages import send_package
from mock_vendor.state import VendorState
from mock_vendor.state import get_state

bp = flask.Blueprint("origin", __name__)

#: Expiries are rounded up to this many seconds, so that list pages made within the
#: same minute name the same URLs (and the page cache can serve them).
EXPIRY_STEP = 60


def signature(key: bytes, client_id: str, course_id: str, expires: int) -> str:
    """The signature of a package URL (URL-safe base64 of an HMAC-SHA256)."""
    message = f"{client_id}\n{course_id}\n{expires}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def served_elsewhere(mode: str | None, record: CourseRecord) -> bool:
    """Whether the course's package URL is on the second origin in this mode."""
    return mode == "all" or (mode == "some" and record.seq % 2 == 0)


def expiry(state: VendorState) -> int:
    """Expiry of the URLs made now: at least the URL lifetime away, on the mock clock."""
    now = state.clock.now().timestamp() + state.package_url_ttl
    return math.ceil(now / EXPIRY_STEP) * EXPIRY_STEP


def origin_base(state: VendorState) -> str:
    """The second origin's base URL.

    Raises:
        APIError: 503 when the mode is on but no listener runs (nothing to link to).
    """
    base = state.package_origin_url
    if not base:
        message = (
            "PACKAGE_ORIGIN is on but no package origin listener runs: start the mock with "
            "mock_vendor.testing.serve or cckit vendor serve, or set PACKAGE_ORIGIN_URL."
        )
        state.record_problem(message)
        raise APIError(503, "package_origin_unavailable", message)
    return base.rstrip("/")


def signed_url(state: VendorState, base: str, client_id: str, course_id: str, expires: int) -> str:
    """The signed DownloadPackageUrl of a course on the second origin."""
    sig = signature(state.signing_key, client_id, course_id, expires)
    return (
        f"{base}/signed/{quote(client_id, safe='')}/{quote(course_id, safe='')}/package.zip"
        f"?expires={expires}&signature={sig}"
    )


def _check_signature(state: VendorState, client_id: str, course_id: str) -> None:
    expires_text = flask.request.args.get("expires", "")
    given = flask.request.args.get("signature", "")
    if not expires_text.isdigit() or len(expires_text) > 12 or not given:
        raise APIError(403, "forbidden", "This package URL is not signed (expires, signature).")
    expires = int(expires_text)
    expected = signature(state.signing_key, client_id, course_id, expires)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise APIError(403, "forbidden", "The signature of this package URL is not valid.")
    if expires <= state.clock.now().timestamp():
        raise APIError(403, "expired", "This package URL has expired: list the courses again.")


@bp.route("/signed/<client_id>/<course_id>/package.zip", methods=["GET", "HEAD"])
def signed_package(client_id: str, course_id: str) -> flask.Response:
    """A package by signed URL: no credentials, a valid unexpired signature instead."""
    check_head_allowed()
    state = get_state()
    _check_signature(state, client_id, course_id)
    with state.lock:
        tenant = state.tenants.get(client_id)
        record = tenant.by_id.get(course_id) if tenant is not None else None
    if record is None:
        raise APIError(404, "not_found", f"There is no course with ID {course_id!r}.")
    if not record.is_active:
        raise APIError(404, "not_found", f"Course {course_id!r} is inactive: no package.")
    flask.g.client_id = client_id
    return send_package(record)
