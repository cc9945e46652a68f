"""The vendor contract v1 as data: JSON Schemas, the requirement catalogue, OpenAPI.

Typical use::

    import schemas

    schemas.validator("course").is_valid(course)      # JSON Schema, formats checked
    schemas.is_allowed_package_url(course["DownloadPackageUrl"])  # the loopback rule
    schemas.requirement("LIST-010").level             # "MUST"
    schemas.openapi_document(bundled=True)            # self-contained OpenAPI 3.1 dict
    schemas.ID_RE.search(course_id)                   # contract patterns, one source
"""

from __future__ import annotations

from schemas._errors import SchemasError
from schemas._errors import UnknownRequirementError
from schemas._errors import UnknownSchemaError
from schemas._patterns import CULTURE_PATTERN
from schemas._patterns import CULTURE_RE
from schemas._patterns import DURATION_PATTERN
from schemas._patterns import DURATION_RE
from schemas._patterns import ID_PATTERN
from schemas._patterns import ID_RE
from schemas._patterns import MAX_PACKAGE_BYTES
from schemas._patterns import UTC_PATTERN
from schemas._patterns import UTC_RE
from schemas._requirements import FAMILIES
from schemas._requirements import LEVELS
from schemas._requirements import Requirement
from schemas._requirements import requirement
from schemas._requirements import requirements
from schemas._schemas import BASE_URI
from schemas._schemas import load
from schemas._schemas import openapi_document
from schemas._schemas import openapi_path
from schemas._schemas import registry
from schemas._schemas import schema_names
from schemas._schemas import validator
from schemas._text import visible
from schemas._urls import is_allowed_package_url
from schemas._urls import is_loopback_host

__all__ = [
    "BASE_URI",
    "CULTURE_PATTERN",
    "CULTURE_RE",
    "DURATION_PATTERN",
    "DURATION_RE",
    "FAMILIES",
    "ID_PATTERN",
    "ID_RE",
    "LEVELS",
    "MAX_PACKAGE_BYTES",
    "UTC_PATTERN",
    "UTC_RE",
    "Requirement",
    "SchemasError",
    "UnknownRequirementError",
    "UnknownSchemaError",
    "is_allowed_package_url",
    "is_loopback_host",
    "load",
    "openapi_document",
    "openapi_path",
    "registry",
    "requirement",
    "requirements",
    "schema_names",
    "validator",
    "visible",
]
