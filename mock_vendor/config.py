"""Configuration keys of the mock vendor and their defaults.

Set them with ``create_app({...})``, or from the environment with the ``CCKIT_MOCK_``
prefix (values parsed as JSON when they can be: ``CCKIT_MOCK_PAGE_SIZE=20``,
``CCKIT_MOCK_FAULTS='["latency:100"]'``).
"""

from __future__ import annotations

from typing import Any

#: Every key the mock reads, with its default.
DEFAULTS: dict[str, Any] = {
    # "oauth2" (token endpoint + Bearer) or "basic" (HTTP Basic on every call).
    "AUTH_MODE": "oauth2",
    # Single-tenant credentials; CLIENT_SECRET None means "generate one".
    "CLIENT_ID": "cckit-demo",
    "CLIENT_SECRET": None,
    # Bearer token of the admin API; None means "generate one".
    "ADMIN_TOKEN": None,
    # Lifetime of access tokens in seconds of mock time (the contract asks >= 60).
    "TOKEN_TTL": 3600,
    # Generated catalog: number of courses and seed.
    "COURSES": 25,
    "SEED": 0,
    # A folder of AICC zips to serve instead of a generated catalog.
    "CATALOG": None,
    # Several tenants: [{"client_id", "client_secret", "courses", "seed", "catalog"}, ...].
    "TENANTS": None,
    # Courses per list page.
    "PAGE_SIZE": 50,
    # Where generated packages are cached (None: the user cache dir of cckit).
    "CACHE_DIR": None,
    # Upper bound of the media file in generated packages (sizes are log-uniform).
    "MAX_ASSET_BYTES": 2_000_000,
    # Build every generated package in a background thread at start.
    "PREBUILD": False,
    # RFC 3339 instant the mock clock starts at (None: now); frozen clocks move only
    # through the admin API.
    "CLOCK_START": None,
    "CLOCK_FROZEN": False,
    # Faults switched on at start: "NAME[:ARG][@SCOPE]" strings or {"name", "arg", "scope"}.
    "FAULTS": [],
    # Entries kept in the request journal.
    "JOURNAL_SIZE": 10_000,
    # Test hook: validate every JSON response against schemas/ and fail loudly.
    "VALIDATE_RESPONSES": False,
    # Base URL used in DownloadPackageUrl (None: the URL the request came in on).
    "PUBLIC_BASE_URL": None,
    # The list without If-Modified-Since holds inactive courses too (LIST-007 allows it).
    # Off, it holds only active ones; on, a client can see deactivations in the full list
    # (the conformance suite needs that to catch the drop_deactivations fault, LIST-006).
    "LIST_INACTIVE": False,
    # SHOULD features of the contract, each on by default. Switch them off to play a
    # vendor that implements only the MUST rules (it must still pass the conformance
    # suite, with warnings).
    # ETag on packages, If-None-Match (304) and If-Range (PKG-005).
    "ETAG": True,
    # Last-Modified on packages (PKG-006).
    "LAST_MODIFIED_HEADER": True,
    # HEAD on packages; off, HEAD gets 405 with Allow: GET (PKG-007).
    "HEAD_SUPPORT": True,
    # Byte Range requests on packages (206/416); off, Range is ignored (PKG-008).
    "RANGE_SUPPORT": True,
    # client_id/client_secret form fields on the token endpoint; off, only HTTP Basic
    # client authentication is accepted (AUTH-003).
    "FORM_CLIENT_AUTH": True,
    # Request body caps in bytes (413 with a small JSON body above them): the token
    # endpoint's form, the admin calls that carry a package, and everything else.
    "MAX_TOKEN_BODY_BYTES": 16 * 1024,
    "MAX_UPLOAD_BYTES": 64 * 1024 * 1024,
    "MAX_BODY_BYTES": 1024 * 1024,
    # Packages from a second origin (a CDN with signed, expiring URLs): None (off),
    # "all" courses or "some" (those with an even sequence number, so that the list
    # mixes both kinds). The listener runs on PACKAGE_ORIGIN_HOST:PACKAGE_ORIGIN_PORT
    # (started by mock_vendor.testing.serve and cckit vendor serve, which set
    # PACKAGE_ORIGIN_URL; set it yourself when you run that listener another way).
    "PACKAGE_ORIGIN": None,
    "PACKAGE_ORIGIN_HOST": "127.0.0.1",
    "PACKAGE_ORIGIN_PORT": 0,
    "PACKAGE_ORIGIN_URL": None,
    # Lifetime of signed package URLs in seconds of mock time (at least 60), and the HMAC
    # key that signs them (None: generated at start).
    "PACKAGE_URL_TTL": 600,
    "PACKAGE_SIGNING_KEY": None,
}

#: The values ``PACKAGE_ORIGIN`` may take besides ``None``.
PACKAGE_ORIGIN_MODES: tuple[str, ...] = ("all", "some")

#: The boolean feature switches among :data:`DEFAULTS` (validated as booleans).
FEATURE_KEYS: tuple[str, ...] = (
    "LIST_INACTIVE",
    "ETAG",
    "LAST_MODIFIED_HEADER",
    "HEAD_SUPPORT",
    "RANGE_SUPPORT",
    "FORM_CLIENT_AUTH",
)
