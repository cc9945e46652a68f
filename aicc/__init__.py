"""AICC CMI001 course structure toolkit: read, validate, model, write.

Standard library only (:mod:`aicc.strategies` additionally needs hypothesis)::

    import aicc

    report = aicc.validate("course.zip")   # or a folder, zip bytes, {name: bytes}
    for course in report.courses: ...
    files = aicc.write(course)        # {"course.crs": b"...", ...}
    data = aicc.write_zip(course)     # zip bytes
    expr = aicc.logic.parse("A1 & (A2 | ~A3)")
"""

from __future__ import annotations

from aicc import errors
from aicc import logic
from aicc import zipsafety
from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Report
from aicc.diagnostics import Severity
from aicc.errors import AiccError
from aicc.errors import LogicStatusError
from aicc.errors import LogicSyntaxError
from aicc.errors import SourceError
from aicc.errors import WriteError
from aicc.model import OPTIONAL_EXTENSIONS
from aicc.model import REQUIRED_EXTENSIONS
from aicc.model import AssignableUnit
from aicc.model import Block
from aicc.model import CompletionRequirement
from aicc.model import Course
from aicc.model import Descriptor
from aicc.model import Objective
from aicc.model import ObjectiveRelation
from aicc.model import Prerequisite
from aicc.model import TreeNode
from aicc.reader import read
from aicc.validator import validate
from aicc.writer import write
from aicc.writer import write_zip

__all__ = [
    "OPTIONAL_EXTENSIONS",
    "REQUIRED_EXTENSIONS",
    "AiccError",
    "AssignableUnit",
    "Block",
    "CompletionRequirement",
    "Course",
    "Descriptor",
    "Diagnostic",
    "LogicStatusError",
    "LogicSyntaxError",
    "Objective",
    "ObjectiveRelation",
    "Prerequisite",
    "Report",
    "Severity",
    "SourceError",
    "TreeNode",
    "WriteError",
    "errors",
    "logic",
    "read",
    "validate",
    "write",
    "write_zip",
    "zipsafety",
]
