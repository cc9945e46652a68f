"""Write a :class:`~aicc.model.Course` as canonical AICC CMI001 course structure files.

Canonical form (what every LMS importer handles, Moodle included):

* lower-case extensions, all files named ``<base_name>.<ext>``;
* UTF-8 without a BOM (pure ASCII when the model is ASCII), CR LF after every line,
  the last one included;
* ``.crs``: ``[Course]``, ``[Course_Behavior]``, ``[Course_Description]`` in that order,
  one ``Keyword=value`` per line, no blank lines; the description is written raw (its
  trailing blank lines, which the format cannot distinguish from file layout, are not);
* tables: a header row, every field of every row quoted (``"`` inside a value doubled,
  RFC 4180), CST/ORT rows padded with empty ``Member`` fields to the widest row;
* totals and ``Max_Fields_*`` are *computed* from the model, never copied from the
  declared values: ``Max_Fields_ORT`` is written only with an ORT, ``Total_Objectives``
  only with an ORT or objectives, ``Total_Complex_Obj`` only with complex objectives;
* ``.ort``, ``.pre`` and ``.cmp`` are written only when they have records.

The same model always gives the same bytes; :func:`write_zip` fixes zip timestamps too.
Values the format cannot carry raise :class:`~aicc.errors.WriteError` (see
:func:`write`).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

from aicc.errors import WriteError
from aicc.model import AU_COLUMNS
from aicc.model import CMP_COLUMNS
from aicc.model import DES_COLUMNS
from aicc.model import EXTENSIONS
from aicc.model import PRE_COLUMNS
from aicc.model import AssignableUnit
from aicc.model import Course
from aicc.model import id_key

CRLF = "\r\n"


# The reader's group-header pattern (reference section 10.2): a description line that
# matches it would end the description early.
_GROUP_HEADER = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*$")
# C0 controls except TAB, and DEL: they make a file look binary (NUL = UTF-16 sniffing).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BAD_BASE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def write(course: Course) -> dict[str, bytes]:
    """Write a course as its structure files.

    Args:
        course: The course. Declared totals are ignored: computed ones are written.

    Returns:
        File name -> bytes, in the order crs, au, des, cst (then ort, pre, cmp when the
        course has such records).

    Raises:
        WriteError: The model holds something the files cannot carry: a line break or
            control character in a value, a CRS value with surrounding white space or
            quotes, a description line that looks like a group header, an empty or
            blank-padded System_ID or member, a duplicate or clashing extra AU column,
            or a base name that is not a plain file stem.
    """
    base = course.base_name
    if not base or base != base.strip() or _BAD_BASE_CHARS.search(base) or base in (".", ".."):
        raise WriteError(f"base name {base!r} is not a plain file stem", field="base_name")
    files: dict[str, str] = {
        f"{base}.crs": _crs_text(course, f"{base}.crs"),
        f"{base}.au": _au_text(course, f"{base}.au"),
        f"{base}.des": _des_text(course, f"{base}.des"),
        f"{base}.cst": _cst_text(course, f"{base}.cst"),
    }
    if course.objective_relations:
        files[f"{base}.ort"] = _ort_text(course, f"{base}.ort")
    if course.prerequisites:
        files[f"{base}.pre"] = _pre_text(course, f"{base}.pre")
    if course.completion_requirements:
        files[f"{base}.cmp"] = _cmp_text(course, f"{base}.cmp")
    return {name: text.encode("utf-8") for name, text in files.items()}


def write_zip(
    course: Course,
    extra_files: Mapping[str, bytes] | None = None,
    folder: str | None = None,
) -> bytes:
    """Write a course as a zip package.

    Args:
        course: The course.
        extra_files: Content files to add (zip path -> bytes), e.g. the AUs' HTML.
        folder: Put every entry under this folder instead of the zip root (importers
            prefer the root; the validator warns about a folder).

    Returns:
        The zip bytes: structure files first (crs, au, des, cst, ort, pre, cmp), then the
        extra files sorted by name; fixed timestamps and attributes, so the same input
        always gives the same bytes.

    Raises:
        WriteError: As :func:`write`, or an extra file path is absolute, contains ``..``
            or a backslash, or collides with a structure file.
    """
    prefix = ""
    if folder is not None:
        _check_zip_path(folder, "folder")
        prefix = folder.strip("/") + "/"
    entries = list(write(course).items())
    taken = {name.casefold() for name, _ in entries}
    for name in sorted(extra_files or {}):
        _check_zip_path(name, "extra_files")
        if name.casefold() in taken:
            raise WriteError(f"extra file {name!r} collides with a course structure file")
        taken.add(name.casefold())
        entries.append((name, (extra_files or {})[name]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(prefix + name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the host: keeps the bytes identical.
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=6)
    return buffer.getvalue()


def _check_zip_path(name: str, what: str) -> None:
    parts = name.strip("/").split("/")
    if (
        not name.strip("/")
        or name.startswith("/")
        or "\\" in name
        or any(part in ("", ".", "..") for part in parts)
        or _CONTROL.search(name)
    ):
        raise WriteError(f"{what} path {name!r} is not a safe relative zip path")


# --------------------------------------------------------------------------- CRS


def _crs_text(course: Course, file: str) -> str:
    objectives = course.objectives
    complex_count = sum(1 for o in objectives if o.complex)
    pairs: list[tuple[str, str]] = [
        ("Course_Creator", course.course_creator),
        ("Course_ID", course.course_id),
        ("Course_System", course.course_system),
        ("Course_Title", course.course_title),
        ("Level", course.level),
        ("Max_Fields_CST", str(course.computed_max_fields_cst)),
    ]
    if course.objective_relations:
        pairs.append(("Max_Fields_ORT", str(course.computed_max_fields_ort)))
    pairs += [
        ("Total_AUs", str(course.computed_total_aus)),
        ("Total_Blocks", str(course.computed_total_blocks)),
    ]
    if course.objective_relations or objectives:
        pairs.append(("Total_Objectives", str(len(objectives))))
    if complex_count:
        pairs.append(("Total_Complex_Obj", str(complex_count)))
    pairs.append(("Version", course.version))
    lines = ["[Course]"]
    for keyword, value in pairs:
        _check_crs_value(value, file, keyword)
        lines.append(f"{keyword}={value}")
    # Max_Normal is declared, not computed: None (absent) is written as an empty value.
    max_normal = "" if course.max_normal is None else str(course.max_normal)
    lines += ["[Course_Behavior]", f"Max_Normal={max_normal}", "[Course_Description]"]
    lines += _description_lines(course.description, file)
    return CRLF.join(lines) + CRLF


def _check_crs_value(value: str, file: str, keyword: str) -> None:
    if "\r" in value or "\n" in value:
        raise WriteError("a CRS value cannot contain a line break", file=file, field=keyword)
    if _CONTROL.search(value):
        raise WriteError("control character in value", file=file, field=keyword)
    if value != value.strip():
        # Readers trim keyword values: the white space would be lost.
        raise WriteError(
            f"value {value!r} has leading or trailing white space", file=file, field=keyword
        )
    if len(value) >= 2 and value[0] == value[-1] == '"':
        # Readers strip surrounding double quotes from INI values.
        raise WriteError(f"value {value!r} is enclosed in double quotes", file=file, field=keyword)


def _description_lines(description: str, file: str) -> list[str]:
    if "\r" in description:
        raise WriteError(
            "description must use \\n line breaks only", file=file, field="Course_Description"
        )
    if _CONTROL.search(description.replace("\n", "")):
        raise WriteError("control character in description", file=file, field="Course_Description")
    lines = description.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        match = _GROUP_HEADER.match(line)
        # "[]" inside the description is kept raw by readers; any named header is not.
        if match is not None and match.group(1):
            raise WriteError(
                f"description line {number} {line!r} would be read as a group header",
                file=file,
                field="Course_Description",
            )
    return lines


# --------------------------------------------------------------------------- tables


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [",".join(_quote(h) for h in header)]
    lines.extend(",".join(_quote(v) for v in row) for row in rows)
    return CRLF.join(lines) + CRLF


def _check_field(value: str, file: str, element: str, field: str) -> str:
    if "\r" in value or "\n" in value:
        raise WriteError(
            "a table field cannot contain a line break in canonical output",
            file=file,
            element=element,
            field=field,
        )
    if _CONTROL.search(value):
        raise WriteError("control character in value", file=file, element=element, field=field)
    return value


def _check_id(value: str, file: str, field: str, element: str = "") -> str:
    if not value or value != value.strip():
        raise WriteError(
            f"ID {value!r} is empty or has leading/trailing white space",
            file=file,
            element=element or value,
            field=field,
        )
    return _check_field(value, file, element or value, field)


def _au_text(course: Course, file: str) -> str:
    extra_columns = _extra_columns(course.aus, file)
    header = [name for name, _ in AU_COLUMNS] + extra_columns
    rows: list[list[str]] = []
    for au in course.aus:
        _check_id(au.system_id, file, "System_ID")
        row = [au.system_id]
        for column, attribute in AU_COLUMNS[1:]:
            row.append(_check_field(getattr(au, attribute), file, au.system_id, column))
        for column in extra_columns:
            row.append(_check_field(au.extra.get(column, ""), file, au.system_id, column))
        rows.append(row)
    return _table(header, rows)


def _extra_columns(aus: Sequence[AssignableUnit], file: str) -> list[str]:
    known = {id_key(name) for name, _ in AU_COLUMNS}
    columns: list[str] = []
    seen: dict[str, str] = {}
    for au in aus:
        for name in au.extra:
            key = id_key(name)
            if seen.get(key) == name:
                continue
            if not name or name != name.strip() or "\r" in name or "\n" in name:
                raise WriteError(f"extra column name {name!r} is not usable", file=file)
            if key in known or key in seen:
                raise WriteError(
                    f"extra column {name!r} clashes with another column", file=file, field=name
                )
            seen[key] = name
            columns.append(name)
    return columns


def _des_text(course: Course, file: str) -> str:
    rows: list[list[str]] = []
    for descriptor in course.descriptors:
        _check_id(descriptor.system_id, file, "System_ID")
        rows.append(
            [descriptor.system_id]
            + [
                _check_field(getattr(descriptor, attribute), file, descriptor.system_id, column)
                for column, attribute in DES_COLUMNS[1:]
            ]
        )
    return _table([name for name, _ in DES_COLUMNS], rows)


def _membership_table(
    first: str, keyed: Sequence[tuple[str, Sequence[str]]], width: int, file: str
) -> str:
    header = [first] + ["Member"] * (width - 1)
    rows: list[list[str]] = []
    for key, members in keyed:
        _check_id(key, file, first)
        row = [key] + [_check_id(m, file, "Member", key) for m in members]
        rows.append(row + [""] * (width - len(row)))
    return _table(header, rows)


def _cst_text(course: Course, file: str) -> str:
    return _membership_table(
        "Block",
        [(b.system_id, b.members) for b in course.blocks],
        course.computed_max_fields_cst,
        file,
    )


def _ort_text(course: Course, file: str) -> str:
    return _membership_table(
        "Course_Element",
        [(r.course_element, r.members) for r in course.objective_relations],
        course.computed_max_fields_ort,
        file,
    )


def _pre_text(course: Course, file: str) -> str:
    rows = [
        [
            _check_id(p.element, file, PRE_COLUMNS[0]),
            _check_field(p.expression, file, p.element, PRE_COLUMNS[1]),
        ]
        for p in course.prerequisites
    ]
    return _table(PRE_COLUMNS, rows)


def _cmp_text(course: Course, file: str) -> str:
    rows: list[list[str]] = []
    for requirement in course.completion_requirements:
        _check_id(requirement.element, file, CMP_COLUMNS[0][0])
        rows.append(
            [requirement.element]
            + [
                _check_field(getattr(requirement, attribute), file, requirement.element, column)
                for column, attribute in CMP_COLUMNS[1:]
            ]
        )
    return _table([name for name, _ in CMP_COLUMNS], rows)


__all__ = ["EXTENSIONS", "write", "write_zip"]
