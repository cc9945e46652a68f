"""The contract's patterns and limits for Python code, read from the JSON Schemas.

The course schema is the one source of the ID, UTC timestamp, culture code and duration
patterns; code that checks those values outside a JSON Schema validator (the mock's
folder loader, the conformance suite's messages) uses these constants, never a copy.

Anchoring. Every pattern is written ``^...$(?!\\n)`` so that Python's :mod:`re` (and so
``jsonschema``), ``jsonschema-rs`` and ECMA-262 engines accept exactly the same strings:
in Python ``$`` also matches just before a final ``"\\n"`` (``"CRS-1\\n"`` would pass a
bare ``^...$``), while ECMA-262 ``$`` only matches at the end. The negative look-ahead
rules out that one extra position in Python and is always true at an ECMA-262 end.
``\\Z`` is not used: ECMA-262 has no such escape.

White space. ``\\s`` means different sets in each engine (Python adds ``\\x1c-\\x1f`` and
``\\x85``, ECMA-262 adds ``\\ufeff``), so "not white space" is written as the class
``[^\\s\\x1c-\\x1f\\x85\\ufeff]``: white space in any of them. ``tests/test_schemas_patterns.py``
feeds the same strings to every engine and compares.
"""

from __future__ import annotations

import re
from typing import Any

from schemas._errors import SchemasError
from schemas._schemas import load

__all__ = [
    "CULTURE_PATTERN",
    "CULTURE_RE",
    "DURATION_PATTERN",
    "DURATION_RE",
    "ID_PATTERN",
    "ID_RE",
    "MAX_PACKAGE_BYTES",
    "UTC_PATTERN",
    "UTC_RE",
]


def _course_pattern(*path: str) -> str:
    node: Any = load("course")["properties"]
    for step in path:
        node = node[step]
    pattern = node["pattern"]
    if not isinstance(pattern, str):
        raise SchemasError(f"schemas/course.schema.json: {'/'.join(path)} has no pattern")
    return pattern


#: Course ID (COURSE-002): 1-50 letters, digits, ``_`` and ``-``, starting with a letter
#: or digit.
ID_PATTERN: str = _course_pattern("ID")
#: UTC timestamp (COURSE-008/009): ``YYYY-MM-DDTHH:MM:SS(.fraction)Z``.
UTC_PATTERN: str = _course_pattern("LastModifiedUTC")
#: Culture code (COURSE-011): ``xx-XX``.
CULTURE_PATTERN: str = _course_pattern("Languages", "items")
#: Duration (COURSE-012): ``HH:MM:SS``, hours may exceed 99.
DURATION_PATTERN: str = _course_pattern("Duration")

#: The same, compiled (anchored: use ``.search`` or ``.match``).
ID_RE = re.compile(ID_PATTERN)
UTC_RE = re.compile(UTC_PATTERN)
CULTURE_RE = re.compile(CULTURE_PATTERN)
DURATION_RE = re.compile(DURATION_PATTERN)

#: Default package size cap in bytes (PKG-016: "250 MB", counted as 250 MiB).
MAX_PACKAGE_BYTES: int = 250 * 1024 * 1024
