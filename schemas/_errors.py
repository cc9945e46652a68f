"""Exceptions raised by the :mod:`schemas` package."""

from __future__ import annotations


class SchemasError(Exception):
    """Base class for every error the :mod:`schemas` package raises."""


class UnknownSchemaError(SchemasError, KeyError):
    """A schema name that the package does not ship was asked for."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown schema {name!r}; known schemas: {', '.join(known)}")

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message and wrap it in quotes.
        return str(self.args[0])


class UnknownRequirementError(SchemasError, KeyError):
    """A requirement ID that ``requirements.json`` does not list was asked for."""

    def __init__(self, requirement_id: str) -> None:
        self.requirement_id = requirement_id
        super().__init__(
            f"unknown requirement ID {requirement_id!r}; "
            "see schemas/requirements.json for the catalogue"
        )

    def __str__(self) -> str:
        return str(self.args[0])
