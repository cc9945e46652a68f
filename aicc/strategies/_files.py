"""Defects of the package, the encoding, the .crs and the table syntax."""

from __future__ import annotations

from hypothesis import strategies as st

from aicc.model import REQUIRED_BEHAVIOR_KEYWORDS
from aicc.model import REQUIRED_COURSE_KEYWORDS
from aicc.model import REQUIRED_EXTENSIONS
from aicc.model import Course
from aicc.strategies._inject import _WITH_OBJECTIVES
from aicc.strategies._inject import Files
from aicc.strategies._inject import _column_index
from aicc.strategies._inject import _defect
from aicc.strategies._inject import _join
from aicc.strategies._inject import _lines
from aicc.strategies._inject import _name
from aicc.strategies._inject import _rows
from aicc.strategies._inject import _set_keyword
from aicc.strategies._inject import _table
from aicc.writer import write

# -- package and encoding


@_defect("PKG001")
def _no_crs(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    del files[_name(course, "crs")]
    return files


@_defect("PKG002")
def _missing_required_file(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    del files[_name(course, draw(st.sampled_from(["au", "des", "cst"])))]
    return files


@_defect("PKG008")
def _empty_file(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    files[_name(course, draw(st.sampled_from(REQUIRED_EXTENSIONS)))] = draw(
        st.sampled_from([b"", b"  \r\n", b"\xef\xbb\xbf"])
    )
    return files


@_defect("ENC002")
def _utf16(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, draw(st.sampled_from(REQUIRED_EXTENSIONS)))
    files[name] = files[name].decode("utf-8").encode(draw(st.sampled_from(["utf-16", "utf-32"])))
    return files


# -- CRS


@_defect("CRS001")
def _no_course_group(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, "crs")
    files[name] = _join(line for line in _lines(files[name]) if line != "[Course]")
    return files


@_defect("CRS002")
def _no_behavior_group(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, "crs")
    files[name] = _join(
        line
        for line in _lines(files[name])
        if line != "[Course_Behavior]" and not line.startswith("Max_Normal=")
    )
    return files


@_defect("CRS003")
def _no_description_group(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, "crs")
    lines = _lines(files[name])
    files[name] = _join(lines[: lines.index("[Course_Description]")])
    return files


_REQUIRED_KEYWORDS = (*REQUIRED_COURSE_KEYWORDS, *REQUIRED_BEHAVIOR_KEYWORDS)


@_defect("CRS004")
def _missing_keyword(draw: st.DrawFn, course: Course) -> Files:
    return _set_keyword(write(course), course, draw(st.sampled_from(_REQUIRED_KEYWORDS)), None)


@_defect("CRS005")
def _empty_keyword(draw: st.DrawFn, course: Course) -> Files:
    keyword = draw(st.sampled_from([k for k in _REQUIRED_KEYWORDS if k != "Level"]))
    return _set_keyword(write(course), course, keyword, "")


@_defect("CRS006")
def _non_integer_keyword(draw: st.DrawFn, course: Course) -> Files:
    keyword = draw(st.sampled_from(["Max_Fields_CST", "Total_AUs", "Total_Blocks", "Max_Normal"]))
    value = draw(st.sampled_from(["abc", "-1", "1.5", "12x", "+3"]))
    return _set_keyword(write(course), course, keyword, value)


@_defect("CRS007")
def _max_normal_out_of_range(draw: st.DrawFn, course: Course) -> Files:
    value = draw(st.sampled_from(["0", "100", "250"]))
    return _set_keyword(write(course), course, "Max_Normal", value)


@_defect("CRS020", _WITH_OBJECTIVES)
def _missing_max_fields_ort(draw: st.DrawFn, course: Course) -> Files:
    return _set_keyword(write(course), course, "Max_Fields_ORT", None)


# -- tables


@_defect("TBL002")
def _required_column_missing(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    ext, column = draw(
        st.sampled_from(
            [
                ("au", "Command_Line"),
                ("au", "File_Name"),
                ("au", "Core_Vendor"),
                ("des", "Title"),
            ]
        )
    )
    name = _name(course, ext)
    rows = _rows(files[name])
    index = _column_index(rows, column)
    files[name] = _table([v for i, v in enumerate(row) if i != index] for row in rows)
    return files


@_defect("TBL003")
def _duplicate_column(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    ext, column = draw(st.sampled_from([("au", "Type"), ("au", "File_Name"), ("des", "Title")]))
    name = _name(course, ext)
    rows = _rows(files[name])
    index = _column_index(rows, column)
    files[name] = _table([*row, row[index]] for row in rows)
    return files


@_defect("TBL004")
def _empty_column_name(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, draw(st.sampled_from(["au", "des"])))
    rows = _rows(files[name])
    files[name] = _table([*row, ""] for row in rows)
    return files


@_defect("TBL005")
def _row_width(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, draw(st.sampled_from(["au", "des"])))
    rows = _rows(files[name])
    index = draw(st.integers(1, len(rows) - 1))
    rows[index] = [*rows[index], "surplus"] if draw(st.booleans()) else rows[index][:-1]
    files[name] = _table(rows)
    return files


@_defect("TBL006")
def _unterminated_quote(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, draw(st.sampled_from(["au", "des", "cst"])))
    # Drop the closing quote of the last field: the field runs to the end of the file.
    files[name] = files[name][: -len(b'"\r\n')] + b"\r\n"
    return files


@_defect("TBL007")
def _text_after_quote(draw: st.DrawFn, course: Course) -> Files:
    files = write(course)
    name = _name(course, draw(st.sampled_from(["au", "des", "cst"])))
    lines = _lines(files[name])
    index = draw(st.integers(1, len(lines) - 1))
    # The first field is an ID without quotes inside, so its closing quote is at a known
    # place: add text right after it.
    closing = lines[index].index('"', 1)
    lines[index] = lines[index][: closing + 1] + "x" + lines[index][closing + 1 :]
    files[name] = _join(lines)
    return files
