"""Every bound the connector puts on a vendor: bytes, seconds, pages, attempts.

The vendor is untrusted (docs/connector.md, "Security model"): nothing it sends may cost
unbounded memory or time. :class:`Limits` gathers every bound of a sync's network side in
one frozen value with a documented default; an integration stores only the values an
admin changed (:meth:`Limits.to_mapping`) and :meth:`Limits.from_mapping` checks them.

A limit that is hit raises :class:`LimitExceeded`, whose message names the limit by the
option name an admin would set, its value and the URL it was hit on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.errors import ConnectorError

__all__ = ["DEFAULT_LIMITS", "LimitExceeded", "Limits"]

_KIB = 1024
#: Limits where 0 means "none" (no wait between attempts, no redirect followed).
_ZERO_ALLOWED = frozenset({"backoff_base_s", "max_redirects"})
_MIB = 1024 * 1024


class LimitExceeded(ConnectorError):
    """A vendor exceeded one of the :class:`Limits`.

    Attributes:
        limit: the limit's option name (``max_page_bytes``).
        value: its configured value.
        url: where it was exceeded (without credentials).
    """

    def __init__(self, limit: str, value: float, url: str, what: str) -> None:
        shown = _show(value)
        super().__init__(f"{url}: {what} (limit {limit}={shown})")
        self.limit = limit
        self.value = value
        self.url = url


def _show(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Limits:
    """The bounds of one integration's syncs (defaults suit a nightly run of a big vendor).

    Time (seconds, wall clock):

    Attributes:
        connect_timeout_s: to open a connection (TCP and TLS handshake).
        read_timeout_s: the longest silence between two reads of a response.
        request_deadline_s: one token or list request from connect to the last body byte,
            whatever the vendor's pace (a vendor dripping one byte a second is cut here).
        package_deadline_s: one package download, all attempts and waits included.
        run_deadline_s: one whole sync run; past it every request fails and the run is
            recorded as failed with this limit as its reason.

    Retries (the only retry layer; urllib3's own is off):

    Attributes:
        attempts: tries of one request (list page, token) or one package download
            (first try, resumes and restarts together); ``1`` disables retries.
        backoff_base_s: first wait between attempts; doubles each time, with full jitter.
        backoff_max_s: the longest single wait.
        retry_budget_s: the total waiting allowed for one request or one course's package;
            a ``Retry-After`` that does not fit in what is left ends the retries at once.

    Sizes:

    Attributes:
        max_page_bytes: one course list page, counted after decompression (a gzip bomb is
            refused when the inflated bytes pass it, never inflated in full).
        max_course_bytes: one course object of a page (JSON text); a bigger one fails that
            course, the page is kept.
        max_json_depth: nesting of one course object; a deeper one fails that course.
        max_token_bytes: the token endpoint's response (so also the ``access_token``).
        max_error_body_bytes: how much of an error answer is read (it is only quoted).

    Paging and redirects:

    Attributes:
        max_pages: pages of one list walk.
        max_pages_without_new_course: consecutive pages that add no course not seen in this
            walk before the walk is stopped as runaway paging.
        max_redirects: redirect hops followed for one request (each hop re-checked).
    """

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    request_deadline_s: float = 300.0
    package_deadline_s: float = 3600.0
    run_deadline_s: float = 6 * 3600.0
    attempts: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    retry_budget_s: float = 120.0
    max_page_bytes: int = 32 * _MIB
    max_course_bytes: int = 256 * _KIB
    max_json_depth: int = 32
    max_token_bytes: int = 16 * _KIB
    max_error_body_bytes: int = 64 * _KIB
    max_pages: int = 100_000
    max_pages_without_new_course: int = 10
    max_redirects: int = 5

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            _check(spec.name, getattr(self, spec.name), spec.type)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in declaration order."""
        return tuple(spec.name for spec in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Limits:
        """Build limits from overrides (stored JSON, CLI ``--limit name=value``).

        Args:
            values: option name -> value; numbers may be given as strings.

        Returns:
            The defaults with the given values replaced.

        Raises:
            ValueError: an unknown name or an unusable value, in one line naming both.
        """
        known = {spec.name: spec.type for spec in dataclasses.fields(cls)}
        changes: dict[str, Any] = {}
        for name, raw in values.items():
            if name not in known:
                raise ValueError(f"unknown limit {name!r} (known: {', '.join(sorted(known))})")
            changes[name] = _convert(name, raw, known[name])
        return cls(**changes)

    def to_mapping(self) -> dict[str, int | float]:
        """The values that differ from the defaults (what an integration stores)."""
        default = DEFAULT_LIMITS
        return {
            name: getattr(self, name)
            for name in self.names()
            if getattr(self, name) != getattr(default, name)
        }


def _is_int_type(annotation: object) -> bool:
    return annotation in (int, "int")


def _convert(name: str, raw: object, annotation: object) -> int | float:
    value: object = raw
    if isinstance(raw, str):
        text = raw.strip()
        try:
            value = int(text) if _is_int_type(annotation) else float(text)
        except ValueError:
            kind = "a whole number" if _is_int_type(annotation) else "a number"
            raise ValueError(f"limit {name}: {raw[:40]!r} is not {kind}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"limit {name}: {type(raw).__name__} is not a number")
    if _is_int_type(annotation):
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"limit {name}: {value} is not a whole number")
            value = int(value)
        return value
    return float(value)


def _check(name: str, value: object, annotation: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"limit {name}: {type(value).__name__} is not a number")
    if _is_int_type(annotation) and not isinstance(value, int):
        raise ValueError(f"limit {name}: {value} is not a whole number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"limit {name}: {value} is not a finite number")
    if name in _ZERO_ALLOWED:
        if value < 0:
            raise ValueError(f"limit {name}: {value} is below 0")
    elif value <= 0:
        raise ValueError(f"limit {name}: {value} must be above 0")


#: The defaults (what an integration without overrides uses).
DEFAULT_LIMITS = Limits()
