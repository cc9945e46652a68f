"""Hypothesis strategies for AICC course structures: valid models and broken file sets.

This is the only module of :mod:`aicc` that imports hypothesis; import it in tests only.
Vendors reuse it in their own property tests::

    from hypothesis import given
    from aicc import strategies

    @given(strategies.course_files(level="2"))
    def test_my_lms_imports_every_valid_course(files):
        assert my_lms.import_aicc(files).ok

    @given(strategies.broken_courses())
    def test_my_lms_rejects_broken_courses(example):
        files, rule_id = example        # rule_id names the defect, e.g. "CST005"
        assert not my_lms.import_aicc(files).ok

Strategies:

* :func:`courses` -- valid :class:`~aicc.model.Course` models, levels ``1``, ``2``,
  ``3a``, ``3b``: nested blocks from level 2, prerequisites and block completion
  requirements from level 2, objectives (ORT) from 3a, complex objectives (CMP on
  objectives) at 3b. Every model writes, validates without errors and reads back equal.
* :func:`course_files` / :func:`course_zips` -- the same, written by :mod:`aicc.writer`.
* :func:`broken_courses` -- ``(files, rule_id)``: a valid course written by the writer
  with exactly one defect injected; the validator reports ``rule_id`` as an error.
  :func:`broken_course_zips` packs the same examples as zip bytes.
* :func:`expressions` -- logic expression ASTs over given identifiers.
"""

from __future__ import annotations

import copy
import io
import zipfile
from collections.abc import Iterable

from hypothesis import strategies as st

# The defect modules register their injectors on import.
from aicc.strategies import _files as _files
from aicc.strategies import _structure as _structure
from aicc.strategies._inject import _DEFECTS
from aicc.strategies._inject import Files
from aicc.strategies._inject import _Defect
from aicc.strategies._valid import LEVELS
from aicc.strategies._valid import course_files
from aicc.strategies._valid import course_zips
from aicc.strategies._valid import courses
from aicc.strategies._valid import expressions

__all__ = [
    "DEFECT_RULES",
    "LEVELS",
    "broken_course_zips",
    "broken_courses",
    "course_files",
    "course_zips",
    "courses",
    "expressions",
]

#: Every rule ID :func:`broken_courses` can inject (before filtering by the catalogue).
DEFECT_RULES: tuple[str, ...] = tuple(sorted({d.rule for d in _DEFECTS}))


def _error_rules() -> set[str]:
    """Rules the catalogue (:mod:`aicc.rules`) defines with severity error."""
    from aicc.diagnostics import Severity
    from aicc.rules import RULES

    return {rule_id for rule_id, rule in RULES.items() if rule.severity is Severity.ERROR}


def broken_courses(
    rules: Iterable[str] | None = None,
) -> st.SearchStrategy[tuple[Files, str]]:
    """Valid courses written as files, with exactly one named defect injected.

    Args:
        rules: Restrict to these rule IDs (default: every rule in :data:`DEFECT_RULES`
            that the catalogue in :mod:`aicc.rules` defines as an error).

    Returns:
        A strategy of ``(files, rule_id)``: file name -> bytes as
        :func:`aicc.validate` accepts them, and the ID of the rule the defect breaks.
        Other diagnostics may accompany it (a missing file also leaves references
        dangling), but ``rule_id`` is always among the errors.

    Raises:
        ValueError: ``rules`` names a rule this module cannot inject.
    """
    available = [d for d in _DEFECTS if d.rule in _error_rules()]
    if rules is not None:
        wanted = set(rules)
        unknown = wanted - {d.rule for d in available}
        if unknown:
            raise ValueError(f"cannot inject defects for rules: {', '.join(sorted(unknown))}")
        available = [d for d in available if d.rule in wanted]
    return st.sampled_from(available).flatmap(_broken)


def _broken(defect: _Defect) -> st.SearchStrategy[tuple[Files, str]]:
    @st.composite
    def build(draw: st.DrawFn) -> tuple[Files, str]:
        course = copy.deepcopy(draw(courses(draw(st.sampled_from(defect.levels)))))
        return defect.inject(draw, course), defect.rule

    return build()


def broken_course_zips(
    rules: Iterable[str] | None = None,
) -> st.SearchStrategy[tuple[bytes, str]]:
    """The examples of :func:`broken_courses` packed as zip bytes: ``(zip, rule_id)``.

    For importers that take packages rather than loose files. The files are stored at the
    zip root with fixed timestamps.
    """
    return broken_courses(rules).map(lambda example: (_zip(example[0]), example[1]))


def _zip(files: Files) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()
