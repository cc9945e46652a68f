"""``cckit aicc``: validate AICC course structure files, show a course, list the rules.

The commands only call the :mod:`aicc` library; exit codes: 0 when no PATH has an
error, 1 when any has, 2 for usage errors (missing or unreadable PATH, bad option).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import click

from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Report
from aicc.errors import SourceError
from aicc.model import Course
from aicc.reader import read
from aicc.rules import RULES
from aicc.validator import validate as validate_source

_PATH = click.Path(exists=True, dir_okay=True, file_okay=True, readable=True)


@click.group(name="aicc")
def aicc() -> None:
    """AICC CMI001 course structure files (.crs .au .des .cst .ort .pre .cmp).

    PATH is a folder holding the files, or a .zip package.
    """


@aicc.command(short_help="Validate course structure files (exit 1 on any error).")
@click.argument("paths", metavar="PATH...", nargs=-1, required=True, type=_PATH)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one line per diagnostic then a summary; json: a list, one object per PATH.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Promote interoperability warnings to errors (see docs/aicc-rules.md).",
)
@click.option("--hints", is_flag=True, help="Add the fix-it hint to each text line.")
def validate(paths: Sequence[str], output_format: str, strict: bool, hints: bool) -> None:
    """Validate course structure files; exit 1 when any PATH has an error."""
    reports = [(path, _validate(path, strict)) for path in paths]
    if output_format == "json":
        click.echo(json.dumps([report.to_dict(path) for path, report in reports], indent=2))
    else:
        for path, report in reports:
            for diagnostic in report.diagnostics:
                click.echo(_located(path, diagnostic, hints))
        for path, report in reports:
            verdict = "valid" if report.valid else "INVALID"
            ids = ", ".join(repr(c.course_id or c.base_name) for c in report.courses)
            courses = f"{len(report.courses)} course(s)" + (f" ({ids})" if ids else "")
            click.echo(f"{path}: {verdict}: {courses}; {report.summary()}")
    if any(not report.valid for _, report in reports):
        click.get_current_context().exit(1)


@aicc.command(short_help="Show each course as a tree of blocks and AUs.")
@click.argument("path", metavar="PATH", type=_PATH)
def show(path: str) -> None:
    """Print each course in PATH as a tree: blocks, AUs with titles and launch files."""
    report = _read(path)
    if not report.courses:
        for diagnostic in report.errors:
            click.echo(_located(path, diagnostic, False), err=True)
        raise click.ClickException(f"no AICC course found in {path}")
    for index, course in enumerate(report.courses):
        if index:
            click.echo()
        click.echo(_course_tree(course))
    if report.errors:
        click.echo(
            f"\n{len(report.errors)} error(s) while reading; run `cckit aicc validate {path}`.",
            err=True,
        )


@aicc.command(short_help="List the validator's rules.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one line per rule; json: a list of objects.",
)
def rules(output_format: str) -> None:
    """List every rule: ID, default severity, whether --strict promotes it, and its title."""
    catalogue = sorted(RULES.values(), key=lambda rule: rule.id)
    if output_format == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "id": rule.id,
                        "severity": rule.severity.value,
                        "strict_promotes": rule.promotable,
                        "title": rule.title,
                        "hint": rule.hint,
                    }
                    for rule in catalogue
                ],
                indent=2,
            )
        )
        return
    for rule in catalogue:
        strict = " (error with --strict)" if rule.promotable else ""
        click.echo(f"{rule.id}  {rule.severity.value:<7}  {rule.title}{strict}")


def _validate(path: str, strict: bool) -> Report:
    try:
        return validate_source(path, strict=strict)
    except SourceError as error:
        raise click.BadParameter(error.reason, param_hint=repr(path)) from None


def _read(path: str) -> Report:
    try:
        return read(path)
    except SourceError as error:
        raise click.BadParameter(error.reason, param_hint=repr(path)) from None


def _located(path: str, diagnostic: Diagnostic, hints: bool) -> str:
    """``path/file:line:col: severity RULE message`` -- a location an editor can open."""
    where = os.path.join(path, diagnostic.file) if diagnostic.file else path
    if diagnostic.line is not None:
        where += f":{diagnostic.line}"
        if diagnostic.column is not None:
            where += f":{diagnostic.column}"
    text = f"{where}: {diagnostic.severity.value} {diagnostic.rule} {diagnostic.message}"
    if hints and diagnostic.hint:
        text += f" (hint: {diagnostic.hint})"
    return text


def _course_tree(course: Course) -> str:
    aus = len(course.aus)
    blocks = course.computed_total_blocks
    objectives = len(course.objectives)
    lines = [
        f"{course.course_title or '(untitled)'}  [Course_ID {course.course_id or '?'}, "
        f"level {course.level or '?'}, {aus} AU(s), {blocks} block(s), "
        f"{objectives} objective(s); files {course.base_name}.*]"
    ]
    placed: set[str] = set()
    for node in course.walk():
        indent = "    " * node.depth
        title = course.title_of(node.system_id)
        if node.kind == "au":
            placed.add(node.system_id.casefold())
            unit = course.au(node.system_id)
            launch = unit.launch if unit is not None else ""
            lines.append(f"{indent}{node.system_id}  {title}  -> {launch or '(no launch file)'}")
        elif node.kind == "block":
            label = node.system_id if node.depth else "root"
            lines.append(f"{indent}[{label}]  {title}".rstrip())
        else:
            lines.append(f"{indent}{node.system_id}  (unknown element)")
    if course.root is None:
        lines.append("(no root record in the .cst file)")
    unplaced = [a for a in course.aus if a.system_id.casefold() not in placed]
    if unplaced:
        lines.append("Not in the structure:")
        lines += [
            f"    {a.system_id}  {course.title_of(a.system_id)}  -> {a.launch}" for a in unplaced
        ]
    if objectives:
        lines.append("Objectives:")
        for objective in course.objectives:
            kind = " (complex)" if objective.complex else ""
            related = ", ".join(objective.related_elements)
            lines.append(
                f"    {objective.system_id}  {course.title_of(objective.system_id)}{kind}"
                + (f"  <- {related}" if related else "")
            )
    return "\n".join(lines)
