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

#: The requirement families in contract order, matching the sections of docs/spec.md.
FAMILIES: tuple[str, ...] = ("AUTH", "LIST", "COURSE", "PKG", "AICC")
LEVELS: tuple[Level, ...] = ("MUST", "SHOULD", "MAY")
ID_PATTERN = re.compile(r"^(AUTH|LIST|COURSE|PKG|AICC)-[0-9]{3}$")
SECTION_PATTERN = re.compile(r"^[1-5]\.[0-9]+$")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One rule of the vendor contract.

    Attributes:
        id: Requirement ID such as ``"AUTH-002"``.
        level: ``"MUST"``, ``"SHOULD"`` or ``"MAY"`` (RFC 2119 sense).
        title: One-line statement of the rule.
        section: Section number of docs/spec.md that states the rule, e.g. ``"1.1"``.
    """

    id: str
    level: Level
    title: str
    section: str

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
        if not isinstance(entry, dict) or set(entry) != {"id", "level", "title", "section"}:
            raise SchemasError(f"{where}: must be an object with exactly id, level, title, section")
        rid, level, title, section = entry["id"], entry["level"], entry["title"], entry["section"]
        if not isinstance(rid, str) or not ID_PATTERN.match(rid):
            raise SchemasError(f"{where}: bad id {rid!r}")
        if rid in seen:
            raise SchemasError(f"{where}: duplicate id {rid}")
        if level not in LEVELS:
            raise SchemasError(f"{where} ({rid}): bad level {level!r}")
        if not isinstance(title, str) or not title.strip():
            raise SchemasError(f"{where} ({rid}): empty title")
        if not isinstance(section, str) or not SECTION_PATTERN.match(section):
            raise SchemasError(f"{where} ({rid}): bad section {section!r}")
        seen.add(rid)
        out.append(Requirement(id=rid, level=cast(Level, level), title=title, section=section))
    return tuple(out)


@functools.cache
def _catalogue() -> tuple[Requirement, ...]:
    text = resources.files("schemas").joinpath("requirements.json").read_text(encoding="utf-8")
    return _parse(json.loads(text))


@functools.cache
def _index() -> dict[str, Requirement]:
    return {req.id: req for req in _catalogue()}


def requirements() -> list[Requirement]:
    """Return every requirement of contract v1 in catalogue order.

    Returns:
        A new list of :class:`Requirement` objects (AUTH, LIST, COURSE, PKG, AICC order).
    """
    return list(_catalogue())


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
