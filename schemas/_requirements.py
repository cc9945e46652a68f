"""The requirement catalogue of contract v1 (``requirements.json``)."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal
from typing import cast

from schemas._errors import SchemasError
from schemas._errors import UnknownRequirementError

Level = Literal["MUST", "SHOULD", "MAY"]
Role = Literal["vendor", "client"]

#: The vendor's requirement families in contract order (sections 1-5 of docs/spec.md).
FAMILIES: tuple[str, ...] = ("AUTH", "LIST", "COURSE", "PKG", "AICC")
#: The client's requirement families (section 9, "Client obligations"), in order.
CLIENT_FAMILIES: tuple[str, ...] = ("CAUTH", "CLIST", "CPKG", "CCAT", "CNET")
LEVELS: tuple[Level, ...] = ("MUST", "SHOULD", "MAY")
ROLES: tuple[Role, ...] = ("vendor", "client")
ID_PATTERN = re.compile(r"^(AUTH|LIST|COURSE|PKG|AICC)-[0-9]{3}$")
CLIENT_ID_PATTERN = re.compile(r"^(CAUTH|CLIST|CPKG|CCAT|CNET)-[0-9]{3}$")
SECTION_PATTERN = re.compile(r"^[1-5]\.[0-9]+$")
CLIENT_SECTION_PATTERN = re.compile(r"^9\.[0-9]+$")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One rule of the vendor contract.

    Attributes:
        id: Requirement ID such as ``"AUTH-002"``.
        level: ``"MUST"``, ``"SHOULD"`` or ``"MAY"`` (RFC 2119 sense).
        title: One-line statement of the rule.
        section: Section number of docs/spec.md that states the rule, e.g. ``"1.1"``.
        role: Whom the rule binds: ``"vendor"`` (sections 1-5, checked by the conformance
            suite) or ``"client"`` (section 9, checked by the LMS check).
    """

    id: str
    level: Level
    title: str
    section: str
    role: Role = "vendor"

    @property
    def family(self) -> str:
        """The ID's family prefix, e.g. ``"AUTH"``."""
        return self.id.split("-", 1)[0]


def _parse(raw: object) -> tuple[Requirement, ...]:
    # Checked here as well as in tests so that a hand edit that breaks the file fails loudly
    # at first use instead of producing half-valid Requirement objects.
    if not isinstance(raw, dict) or not isinstance(raw.get("requirements"), list):
        raise SchemasError(
            "requirements.json: top level must be an object with a 'requirements' list"
        )
    out: list[Requirement] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw["requirements"]):
        where = f"requirements.json: requirements[{index}]"
        keys = {"id", "level", "title", "section"}
        if not isinstance(entry, dict) or set(entry) - {"role"} != keys:
            raise SchemasError(
                f"{where}: must be an object with exactly id, level, title, section "
                "(and an optional role)"
            )
        rid, level, title, section = entry["id"], entry["level"], entry["title"], entry["section"]
        role = entry.get("role", "vendor")
        if role not in ROLES:
            raise SchemasError(f"{where}: bad role {role!r} (vendor or client)")
        id_pattern, section_pattern = (
            (ID_PATTERN, SECTION_PATTERN)
            if role == "vendor"
            else (CLIENT_ID_PATTERN, CLIENT_SECTION_PATTERN)
        )
        if not isinstance(rid, str) or not id_pattern.match(rid):
            raise SchemasError(f"{where}: bad id {rid!r}")
        if rid in seen:
            raise SchemasError(f"{where}: duplicate id {rid}")
        if level not in LEVELS:
            raise SchemasError(f"{where} ({rid}): bad level {level!r}")
        if not isinstance(title, str) or not title.strip():
            raise SchemasError(f"{where} ({rid}): empty title")
        if not isinstance(section, str) or not section_pattern.match(section):
            raise SchemasError(f"{where} ({rid}): bad section {section!r}")
        seen.add(rid)
        out.append(
            Requirement(
                id=rid,
                level=cast(Level, level),
                title=title,
                section=section,
                role=cast(Role, role),
            )
        )
    return tuple(out)


@functools.cache
def _catalogue() -> tuple[Requirement, ...]:
    text = resources.files("schemas").joinpath("requirements.json").read_text(encoding="utf-8")
    return _parse(json.loads(text))


@functools.cache
def _index() -> dict[str, Requirement]:
    return {req.id: req for req in _catalogue()}


def requirements(role: Role | None = "vendor") -> list[Requirement]:
    """Return the requirements of contract v1 that bind ``role``, in catalogue order.

    Args:
        role: ``"vendor"`` (the default: what the conformance suite checks), ``"client"``
            (the client obligations the LMS check grades) or ``None`` for both.

    Returns:
        A new list of :class:`Requirement` objects (AUTH, LIST, COURSE, PKG, AICC order,
        then CAUTH, CLIST, CPKG, CCAT, CNET).
    """
    return [req for req in _catalogue() if role is None or req.role == role]


def requirement(requirement_id: str) -> Requirement:
    """Return one requirement by ID.

    Args:
        requirement_id: An ID such as ``"LIST-010"``.

    Returns:
        The matching :class:`Requirement`.

    Raises:
        UnknownRequirementError: The catalogue has no such ID (a ``KeyError`` subclass).
    """
    try:
        return _index()[requirement_id]
    except KeyError:
        raise UnknownRequirementError(requirement_id) from None
