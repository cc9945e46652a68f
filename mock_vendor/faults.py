"""The fault library: named, switchable ways in which the mock breaks the contract.

Each fault is a :class:`FaultSpec` in :data:`FAULTS`, named by the requirement ID of
``schemas/requirements.json`` it violates, or ``"transport"`` when it simulates a
network or server failure that the contract does not forbid but a client must survive.
Faults are switched on at start (config ``FAULTS``, ``cckit vendor serve --fault``) or
through the admin API, with the text form ``NAME[:ARG][@SCOPE]``:

- ``ARG`` is the fault's argument (see each spec's ``arg_help``);
- ``SCOPE`` narrows where it applies: ``token``, ``list``, ``package`` (only among the
  operations the fault supports) or ``course:<ID>`` (only that course's list entry or
  package).

Examples: ``latency:250``, ``server_error:2@package``, ``server_error:0.1``,
``rate_limit:3,2``, ``aicc_defect@course:CRS-00007``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from mock_vendor.errors import UnknownFaultError

#: The operations a fault can apply to.
OPERATIONS = ("token", "list", "package")


def _no_arg(text: str | None) -> None:
    if text not in (None, ""):
        raise ValueError("takes no argument")


def _int_arg(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise ValueError(f"must be an integer >= {minimum}")
        return value

    return parse


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise ValueError("must be a fraction in (0, 1]")
    return value


def _count_or_fraction(text: str) -> float:
    """``N`` (first N calls) as an int-valued float, or a fraction ``0 < f < 1``."""
    if "." in text:
        value = float(text)
        if not 0.0 < value < 1.0:
            raise ValueError("a fraction must be in (0, 1)")
        return value
    count = int(text)
    if count < 1:
        raise ValueError("a count must be >= 1")
    return float(count)


def _rate_limit(text: str) -> tuple[int, int]:
    count_text, _, retry_text = text.partition(",")
    count = int(count_text)
    retry_after = int(retry_text) if retry_text else 1
    if count < 1 or retry_after < 0:
        raise ValueError("expected N[,SECONDS] with N >= 1 and SECONDS >= 0")
    return count, retry_after


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text.strip()


@dataclass(frozen=True)
class FaultSpec:
    """A named fault and what it breaks.

    Attributes:
        name: The name used in ``--fault`` and the admin API.
        requirement: The requirement ID it violates, or ``"transport"``.
        summary: One line saying what the mock does while the fault is on.
        operations: The operations it applies to (subset of ``token``/``list``/``package``).
        arg_help: What ``ARG`` means (empty when the fault takes none).
        default_arg: The argument used when none is given (already parsed).
        parse: Parses the argument text (raises ``ValueError`` with a reason).
    """

    name: str
    requirement: str
    summary: str
    operations: frozenset[str]
    arg_help: str = ""
    default_arg: Any = None
    parse: Callable[[str], Any] = field(default=_no_arg, repr=False, compare=False)

    @property
    def takes_arg(self) -> bool:
        """Whether the fault accepts an argument."""
        return bool(self.arg_help)

    @property
    def course_scopable(self) -> bool:
        """Whether ``@course:<ID>`` makes sense (it acts per course)."""
        return bool(self.operations & {"list", "package"})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (used by the admin API and the docs table)."""
        return {
            "name": self.name,
            "requirement": self.requirement,
            "summary": self.summary,
            "operations": sorted(self.operations),
            "arg": self.arg_help or None,
            "default_arg": self.default_arg,
        }


def _spec(
    name: str,
    requirement: str,
    operations: str,
    summary: str,
    arg_help: str = "",
    default_arg: Any = None,
    parse: Callable[[str], Any] = _no_arg,
) -> FaultSpec:
    return FaultSpec(
        name=name,
        requirement=requirement,
        summary=summary,
        operations=frozenset(operations.split()),
        arg_help=arg_help,
        default_arg=default_arg,
        parse=parse,
    )


_SPECS = [
    # --- transport failures a client must survive -------------------------------------
    _spec("latency", "transport", "token list package",
          "Delay every answer by ARG milliseconds.",
          "milliseconds (default 500)", 500, _int_arg(0)),
    _spec("server_error", "transport", "token list package",
          "Answer 500 to the first N calls, or to a seeded random fraction of calls.",
          "N (first N calls, default 1) or a fraction such as 0.2", 1.0, _count_or_fraction),
    _spec("rate_limit", "transport", "token list package",
          "Answer 429 with Retry-After to the first N calls.",
          "N[,SECONDS]: N calls (default 1), Retry-After SECONDS (default 1)", (1, 1),
          _rate_limit),
    _spec("token_endpoint_down", "transport", "token",
          "The token endpoint answers 503 temporarily_unavailable."),
    _spec("truncated_download", "transport", "package",
          "Send the full Content-Length but only the first ARG fraction of the body, then "
          "close the connection.",
          "fraction of the body sent (default 0.5)", 0.5, _fraction),
    _spec("slow_download", "transport", "package",
          "Dribble the package body at ARG bytes per second.",
          "bytes per second (default 16384)", 16384, _int_arg(1)),
    # --- AUTH ---------------------------------------------------------------------------
    _spec("token_expires_after", "AUTH-006", "list package",
          "Tokens stop working after K uses although expires_in promised more.",
          "K uses (default 1)", 1, _int_arg(1)),
    _spec("short_token_ttl", "AUTH-006", "token",
          "Tokens are issued with expires_in ARG seconds (below the 60 s minimum).",
          "seconds (default 30)", 30, _int_arg(1)),
    _spec("missing_no_store", "AUTH-007", "token",
          "The token response lacks Cache-Control: no-store."),
    _spec("invalid_client_400", "AUTH-009", "token",
          "Wrong client credentials get 400 instead of 401 (tolerated with a warning)."),
    _spec("token_wrong_secret", "AUTH-013", "token",
          "A token is granted for a known client ID with a wrong secret."),
    _spec("no_auth_list", "AUTH-016", "list",
          "The course list is served without checking credentials."),
    # --- LIST ---------------------------------------------------------------------------
    _spec("list_wrong_content_type", "LIST-001", "list",
          "The course list is sent as text/html."),
    _spec("list_wrapped", "LIST-002", "list",
          'The course list is wrapped in an object {"courses": [...]}.'),
    _spec("not_modified_304", "LIST-003", "list",
          "With If-Modified-Since and nothing changed, answer 304 instead of []."),
    _spec("duplicate_ids", "LIST-004", "list",
          "Every page after the first repeats the last course of the previous page."),
    _spec("drop_deactivations", "LIST-006", "list",
          "Under If-Modified-Since, deactivated courses are left out."),
    _spec("next_link_loop", "LIST-013", "list",
          'The last page carries a rel="next" link back to the first page.'),
    _spec("consuming_get", "LIST-014", "list",
          "A list GET marks the courses it returned as delivered; later GETs omit them."),
    # --- COURSE -------------------------------------------------------------------------
    _spec("bad_timestamp", "COURSE-008", "list",
          "LastModifiedUTC is sent as '2026-11-26 10:00:00' (no T, no Z)."),
    # --- PKG ----------------------------------------------------------------------------
    _spec("no_auth_package", "PKG-004", "package",
          "Packages are served without checking credentials."),
    _spec("wrong_content_type", "PKG-002", "package",
          "The package is sent with another Content-Type.",
          "the Content-Type (default text/html)", "text/html", _text),
    _spec("lying_content_length", "PKG-003", "package",
          "Content-Length claims ARG more bytes than the body has; the connection closes "
          "after the body.",
          "extra bytes claimed (default 1024)", 1024, _int_arg(1)),
    _spec("no_range", "PKG-008", "package",
          "Range requests are ignored: always 200 with the whole body."),
    _spec("corrupt_zip", "PKG-009", "package",
          "The package bytes are not a valid zip (central directory overwritten)."),
    # --- AICC ---------------------------------------------------------------------------
    _spec("aicc_defect", "AICC-001", "package",
          "Each package carries one AICC defect that the aicc validator reports as an "
          "error (the kind rotates per course)."),
    _spec("title_mismatch", "AICC-002", "list",
          "The list Title differs from the CRS Course_Title."),
]  # fmt: skip

#: Every fault by name. Conformance tooling iterates over this.
FAULTS: Mapping[str, FaultSpec] = {spec.name: spec for spec in _SPECS}


@dataclass
class ActiveFault:
    """A fault that is switched on, with its parsed argument, scope and call counter."""

    spec: FaultSpec
    arg: Any
    scope: str | None = None
    calls: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    @property
    def name(self) -> str:
        """The fault's name."""
        return self.spec.name

    def matches(self, operation: str, course_id: str | None = None) -> bool:
        """Whether the fault applies to this operation (and course)."""
        if operation not in self.spec.operations:
            return False
        if self.scope is None:
            return True
        if self.scope.startswith("course:"):
            return course_id is not None and self.scope[len("course:") :] == course_id
        return self.scope == operation

    def fire_counted(self) -> bool:
        """Count one call; true when a "first N calls / fraction" fault hits this call."""
        self.calls += 1
        count = float(self.arg[0]) if isinstance(self.arg, tuple) else float(self.arg)
        if count < 1.0:
            return self._rng.random() < count
        return self.calls <= count

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for the admin API."""
        arg = list(self.arg) if isinstance(self.arg, tuple) else self.arg
        return {
            "name": self.name,
            "requirement": self.spec.requirement,
            "arg": arg,
            "scope": self.scope,
            "calls": self.calls,
        }


def parse_fault(text: str) -> ActiveFault:
    """Parse ``NAME[:ARG][@SCOPE]`` into an :class:`ActiveFault`.

    Raises:
        UnknownFaultError: Unknown name, bad argument or a scope the fault cannot take.
    """
    body, _, scope = text.strip().partition("@")
    name, _, arg_text = body.partition(":")
    return make_fault(name.strip(), arg_text.strip() or None, scope.strip() or None)


def make_fault(name: str, arg: Any = None, scope: str | None = None) -> ActiveFault:
    """Build an :class:`ActiveFault` from its parts (as given to the admin API).

    Args:
        name: A key of :data:`FAULTS`.
        arg: The argument as text or number; ``None`` for the default.
        scope: ``token``/``list``/``package``/``course:<ID>`` or ``None``.

    Raises:
        UnknownFaultError: With a message naming the fault and the problem.
    """
    spec = FAULTS.get(name)
    if spec is None:
        raise UnknownFaultError(
            f"unknown fault {name!r}; known faults: {', '.join(sorted(FAULTS))}"
        )
    if arg is None or arg == "":
        value = spec.default_arg
    elif not spec.takes_arg:
        raise UnknownFaultError(f"fault {name!r} takes no argument (got {arg!r})")
    else:
        try:
            value = spec.parse(str(arg))
        except ValueError as exc:
            raise UnknownFaultError(
                f"fault {name!r}: bad argument {arg!r}: {exc} (expected {spec.arg_help})"
            ) from exc
    if scope is not None:
        if scope.startswith("course:"):
            if not spec.course_scopable or not scope[len("course:") :]:
                raise UnknownFaultError(f"fault {name!r} cannot be scoped to {scope!r}")
        elif scope not in spec.operations:
            raise UnknownFaultError(
                f"fault {name!r}: scope {scope!r} is not one of "
                f"{', '.join(sorted(spec.operations))} or course:<ID>"
            )
    return ActiveFault(spec=spec, arg=value, scope=scope)


class FaultSet:
    """The faults switched on in one app (guarded by the state lock of its owner)."""

    def __init__(self) -> None:
        self._active: dict[str, ActiveFault] = {}

    def add(self, fault: ActiveFault) -> None:
        """Switch a fault on (replacing one of the same name, counters reset)."""
        self._active[fault.name] = fault

    def remove(self, name: str) -> bool:
        """Switch a fault off; false when it was not on."""
        return self._active.pop(name, None) is not None

    def clear(self) -> None:
        """Switch every fault off."""
        self._active.clear()

    def get(self, name: str, operation: str, course_id: str | None = None) -> ActiveFault | None:
        """The active fault ``name`` when it applies to this operation, else ``None``."""
        fault = self._active.get(name)
        if fault is not None and fault.matches(operation, course_id):
            return fault
        return None

    def __contains__(self, name: object) -> bool:
        return name in self._active

    def __len__(self) -> int:
        return len(self._active)

    def to_list(self) -> list[dict[str, Any]]:
        """JSON-ready view of every active fault."""
        return [fault.to_dict() for fault in self._active.values()]
