"""``GET /api/v1/courses``: the course list, with If-Modified-Since and stable paging.

Paging walks the tenant's courses in order of their immutable insertion number ``seq``.
The opaque cursor of a ``next`` link carries the last ``seq`` served, the
If-Modified-Since instant of the first page, and the highest ``seq`` that existed when
the first page was served (the snapshot bound). Each page holds the next courses with
``last < seq <= bound`` that match the filter *at the time of that page*. Hence:

- no ID is served twice in one walk, because ``seq`` strictly increases across pages;
- a course that exists unchanged during the walk is served, because its ``seq`` is at
  most the bound and its filter result never changes;
- courses added during the walk are left to the next sync (their stamps are later than
  the walk's start, so the next If-Modified-Since request returns them), which also
  guarantees that a walk ends.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import NamedTuple

import flask
from werkzeug.http import parse_date

from mock_vendor.auth import authenticate
from mock_vendor.errors import APIError
from mock_vendor.model import CourseRecord
from mock_vendor.model import Tenant
from mock_vendor.model import dumps as model_dumps
from mock_vendor.model import json_string_body
from mock_vendor.model import package_path
from mock_vendor.origin import expiry
from mock_vendor.origin import origin_base
from mock_vendor.origin import served_elsewhere
from mock_vendor.origin import signed_url
from mock_vendor.state import VendorState
from mock_vendor.state import get_state
from mock_vendor.state import note_fault

bp = flask.Blueprint("catalog", __name__)

_CURSOR_VERSION = 1


def encode_cursor(last_seq: int, bound: int, ims: datetime | None, client_id: str) -> str:
    """Make the opaque ``cursor`` value of a next link."""
    payload = {
        "v": _CURSOR_VERSION,
        "s": last_seq,
        "b": bound,
        "i": None if ims is None else int(ims.timestamp() * 1000),
        "c": client_id,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, client_id: str) -> tuple[int, int, datetime | None]:
    """Read a cursor back: ``(last_seq, bound, if_modified_since)``.

    Raises:
        APIError: 400 ``invalid_cursor`` when the cursor is not one this vendor made for
            this client.
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("v") != _CURSOR_VERSION:
            raise ValueError("unknown cursor version")
        last_seq, bound, ims = payload["s"], payload["b"], payload["i"]
        if not all(isinstance(v, int) and v >= 0 for v in (last_seq, bound)):
            raise ValueError("bad positions")
        if ims is not None and not isinstance(ims, int):
            raise ValueError("bad instant")
        if payload.get("c") != client_id:
            raise ValueError("cursor of another client")
        instant = None if ims is None else datetime.fromtimestamp(ims / 1000, tz=UTC)
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError, OSError) as exc:
        raise APIError(400, "invalid_cursor", f"The cursor parameter is not valid: {exc}.") from exc
    return last_seq, bound, instant


def if_modified_since() -> datetime | None:
    """The request's If-Modified-Since instant; ``None`` when absent or unparseable."""
    value = flask.request.headers.get("If-Modified-Since")
    if not value:
        return None
    try:
        parsed = parse_date(value)
    except (ValueError, OverflowError):  # pragma: no cover - parse_date returns None
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


#: ``(scheme, Host header) -> request.host_url``: werkzeug rebuilds it (with IRI decoding)
#: on every request, a tenth of a cached list page's cost.
_HOST_URLS: dict[tuple[str, str, str, str], str] = {}


def base_url(state: VendorState) -> str:
    """The base of DownloadPackageUrl: ``PUBLIC_BASE_URL`` or the request's host URL."""
    configured = state.config["PUBLIC_BASE_URL"]
    if configured:
        return str(configured).rstrip("/")
    request = flask.request
    environ = request.environ
    # Everything host_url is made of (without a Host header it uses the server's name).
    key = (
        request.scheme,
        str(environ.get("HTTP_HOST", "")),
        str(environ.get("SERVER_NAME", "")),
        str(environ.get("SERVER_PORT", "")),
    )
    found = _HOST_URLS.get(key)
    if found is None:
        found = request.host_url.rstrip("/")
        if len(_HOST_URLS) > 256:
            _HOST_URLS.clear()
        _HOST_URLS[key] = found
    return found


def package_url(state: VendorState, course_id: str, base: str | None = None) -> str:
    """The absolute DownloadPackageUrl of a course (``base`` from :func:`base_url`)."""
    prefix = base if base is not None else base_url(state)
    return prefix + package_path(course_id)


def _matches(state: VendorState, record: CourseRecord, ims: datetime | None) -> bool:
    if ims is None:
        # LIST-007: every active course; inactive ones only when LIST_INACTIVE says so.
        return record.is_active or state.features["LIST_INACTIVE"]
    if record.changed_at <= ims:
        return False
    if not record.is_active and state.faults.get("drop_deactivations", "list", record.course_id):
        note_fault("drop_deactivations")
        return False
    return True


class Links(NamedTuple):
    """Everything the DownloadPackageUrl of a list page depends on (part of its cache key)."""

    base: str
    client_id: str
    origin_mode: str | None = None
    origin_base: str | None = None
    expires: int = 0

    def url(self, state: VendorState, record: CourseRecord) -> str:
        """The DownloadPackageUrl of ``record``: same origin, or signed on the second one."""
        if self.origin_base is not None and served_elsewhere(self.origin_mode, record):
            return signed_url(
                state, self.origin_base, self.client_id, record.course_id, self.expires
            )
        return package_url(state, record.course_id, self.base)


def links(state: VendorState, tenant: Tenant) -> Links:
    """The :class:`Links` of a list page served now to ``tenant``."""
    mode = state.package_origin_mode
    if mode is None:
        return Links(base_url(state), tenant.client_id)
    return Links(base_url(state), tenant.client_id, mode, origin_base(state), expiry(state))


def _course_json(state: VendorState, record: CourseRecord, link: Links) -> dict[str, Any]:
    body = record.to_json(link.url(state, record))
    if state.faults.get("bad_timestamp", "list", record.course_id):
        note_fault("bad_timestamp")
        body["LastModifiedUTC"] = record.last_modified.strftime("%Y-%m-%d %H:%M:%S")
    if state.faults.get("title_mismatch", "list", record.course_id):
        note_fault("title_mismatch")
        body["Title"] = f"{body['Title']} (updated edition)"
    return body


def _page(
    state: VendorState, tenant: Tenant, last_seq: int, bound: int, ims: datetime | None
) -> tuple[list[CourseRecord], bool]:
    consuming = state.faults.get("consuming_get", "list")
    selected: list[CourseRecord] = []
    more = False
    for record in tenant.after(last_seq, bound):
        if not _matches(state, record, ims):
            continue
        if consuming and tenant.delivered.get(record.course_id) == record.change:
            note_fault("consuming_get")
            continue
        if len(selected) == state.page_size:
            more = True
            break
        selected.append(record)
    if consuming:
        for record in selected:
            tenant.delivered[record.course_id] = record.change
    return selected, more


def _next_link(cursor: str) -> str:
    return f'<{flask.request.base_url}?cursor={cursor}>; rel="next"'


def _serialise(body: Any) -> bytes:
    """A list body as JSON bytes (compact, UTF-8, key order kept, final newline).

    orjson, not the standard encoder: a 1,000-course page costs 2 ms instead of 19 ms,
    which is most of what a first walk of a large catalog takes. Pages built while a
    fault is on use it; :func:`_listing_body` splices the same bytes for the others.
    """
    return model_dumps(body) + b"\n"


def _listing_body(state: VendorState, records: list[CourseRecord], link: Links) -> bytes:
    """``_serialise`` of the page's course objects when no fault rewrites them.

    The same bytes, from each record's once-encoded JSON (a first walk of a 46k-course
    catalog no longer encodes every course on the way). On the same origin the URL is
    the page's base, escaped once, and the course's path, encoded with the course.
    """
    if link.origin_base is not None:
        courses = [record.listing_json(link.url(state, record)) for record in records]
        return b"[" + b",".join(courses) + b"]\n"
    prefix = b',"DownloadPackageUrl":"' + json_string_body(link.base)
    parts: list[bytes] = []
    for record in records:
        head, path, tail = record.encode_listing()
        if record.is_active:
            parts += (b",", head, prefix, path, b'",', tail)
        else:
            parts += (b",", head, b",", tail)
    if not parts:
        return b"[]\n"
    parts[0] = b"["  # the first separator opens the list
    return b"".join(parts) + b"]\n"


def _json_response(body: Any) -> flask.Response:
    return flask.Response(_serialise(body), mimetype="application/json")


def _cached_page(state: VendorState, tenant: Tenant, cursor: str | None) -> flask.Response:
    """The list page when no fault is on: served from :attr:`VendorState.pages`.

    A page depends on the tenant's catalog, the walk position (cursor or
    If-Modified-Since) and the base of the package URLs; the key holds all of them plus
    the state's change counters, so a cached page is never stale.
    """
    if cursor:
        last_seq, bound, ims = decode_cursor(cursor, tenant.client_id)
    else:
        last_seq, bound, ims = 0, len(tenant.records), if_modified_since()

    def key(link: Links) -> tuple[Any, ...]:
        # Every change of the catalog moves change_counter (under the state lock, with
        # the change) and every admin call or reset moves version, so a page made before
        # a change is never found after it.
        counters = (tenant.change_counter, state.version, state.clock.moves)
        return (tenant.client_id, *counters, last_seq, bound, ims, link)

    # A hit needs no state lock (the cache has its own); a miss builds under it.
    page = state.pages.get(key(links(state, tenant)))
    if page is None:
        with state.lock:
            link = links(state, tenant)
            records, more = _page(state, tenant, last_seq, bound, ims)
            body = _listing_body(state, records, link)
            page = (body, records[-1].seq if more else None)
            state.pages.put(key(link), page)
    body, next_seq = page
    response = flask.Response(body, mimetype="application/json")
    if next_seq is not None:
        response.headers["Link"] = _next_link(encode_cursor(next_seq, bound, ims, tenant.client_id))
    return response


@bp.get("/api/v1/courses")
def list_courses() -> flask.Response:
    """The course list (contract section 2)."""
    tenant = authenticate("list")
    state = get_state()
    cursor = flask.request.args.get("cursor")
    if not state.faults:
        return _cached_page(state, tenant, cursor)
    with state.lock:
        if cursor:
            last_seq, bound, ims = decode_cursor(cursor, tenant.client_id)
        else:
            last_seq, bound, ims = 0, len(tenant.records), if_modified_since()
        records, more = _page(state, tenant, last_seq, bound, ims)
        if state.faults.get("duplicate_ids", "list") and last_seq > 0:
            previous = tenant.records[last_seq - 1]
            if _matches(state, previous, ims):
                note_fault("duplicate_ids")
                records.insert(0, previous)
        link = links(state, tenant)
        courses = [_course_json(state, record, link) for record in records]
        loop = state.faults.get("next_link_loop", "list")
        wrapped = state.faults.get("list_wrapped", "list")
        html = state.faults.get("list_wrong_content_type", "list")
        not_modified = state.faults.get("not_modified_304", "list")
    if not courses and ims is not None and not cursor and not_modified:
        note_fault("not_modified_304")
        return flask.Response(status=304)
    body: Any = courses
    if wrapped:
        note_fault("list_wrapped")
        body = {"courses": courses, "count": len(courses)}
    response = _json_response(body)
    if html:
        note_fault("list_wrong_content_type")
        response.mimetype = "text/html"
    if more:
        response.headers["Link"] = _next_link(
            encode_cursor(records[-1].seq, bound, ims, tenant.client_id)
        )
    elif loop:
        note_fault("next_link_loop")
        response.headers["Link"] = f'<{flask.request.base_url}>; rel="next"'
    return response
