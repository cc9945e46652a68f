"""The validator: :func:`validate` = :func:`aicc.reader.read` + every rule of the catalogue.

Rules are documented in ``docs/aicc-rules.md`` and listed in :mod:`aicc.rules`. Each is
checked by a small function registered against its rule ID (:mod:`._registry`), in one
module per file type: :mod:`.crs`, :mod:`.au`, :mod:`.des`, :mod:`.cst`, :mod:`.ort`,
:mod:`.pre`, :mod:`.cmp`, then :mod:`.cross_file`; :mod:`.package` holds the package-level
outcomes. The package rules PKG001-PKG013 and the table rules are the reader's.

The validator never raises on content: an internal failure becomes a ``PKG999`` error
diagnostic instead of a traceback. Only a source that cannot be opened at all raises
:class:`aicc.errors.SourceError`.
"""

from __future__ import annotations

from aicc._package import Source
from aicc._package import ZipLimits
from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Report
from aicc.errors import SourceError
from aicc.model import Course
from aicc.reader import ParsedCourse
from aicc.reader import parse_source

# The check modules register their checks on import (each into its own slot, in the
# order they are defined; the slots run in the order of SLOTS).
from aicc.validator import au as au
from aicc.validator import cmp as cmp
from aicc.validator import cross_file as cross_file
from aicc.validator import crs as crs
from aicc.validator import cst as cst
from aicc.validator import des as des
from aicc.validator import ort as ort
from aicc.validator import pre as pre
from aicc.validator._context import Context
from aicc.validator._registry import CHECKS
from aicc.validator._registry import SLOTS
from aicc.validator.package import internal_error
from aicc.validator.package import promote

__all__ = ["check_course", "validate"]


def validate(source: Source, strict: bool = False, *, limits: ZipLimits | None = None) -> Report:
    """Read a source and check every rule of the catalogue.

    Args:
        source: A folder or zip path, zip bytes, or a mapping of file names to bytes.
        strict: Promote the interoperability warnings (rules marked promotable in
            :mod:`aicc.rules`, listed in ``docs/aicc-rules.md``) to errors.
        limits: Zip safety caps.

    Returns:
        The report: courses read and every diagnostic, sorted by file and position.

    Raises:
        SourceError: The path does not exist or cannot be opened (never for content).
    """
    courses: list[Course] = []
    diagnostics: list[Diagnostic] = []
    try:
        parsed, read_diagnostics = parse_source(source, limits=limits)
        diagnostics.extend(read_diagnostics)
    except SourceError:
        raise
    except Exception as exc:
        # Never a traceback on any input: a bug in the reader is reported as PKG999.
        return Report([], [internal_error(exc)])
    for course in parsed:
        courses.append(course.course)
        try:
            diagnostics.extend(check_course(course))
        except Exception as exc:
            diagnostics.append(internal_error(exc, course.path("crs")))
    if strict:
        diagnostics = [promote(d) for d in diagnostics]
    diagnostics.sort(key=Diagnostic.sort_key)
    return Report(courses, diagnostics)


def _slot_readable(parsed: ParsedCourse, slot: str) -> bool:
    """Whether the checks of a slot can run (a missing or unusable file was reported)."""
    if slot == "course":
        return True
    if slot == "crs":
        return parsed.crs is not None
    return parsed.usable(slot)


def check_course(parsed: ParsedCourse) -> list[Diagnostic]:
    """Run every registered check over one parsed course, file type by file type."""
    ctx = Context(parsed)
    for slot in SLOTS:
        if _slot_readable(parsed, slot):
            for registered in CHECKS[slot]:
                registered.function(ctx)
    return ctx.out
