"""Hostile input: random and mutated bytes never raise and never hit an internal error.

``validate`` turns an internal bug into a PKG999 diagnostic instead of a traceback; these
tests fail on PKG999 too, so a bug cannot hide behind that safety net.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from aicc.diagnostics import Report
from aicc.reader import read
from aicc.strategies import course_files
from aicc.validator import validate

FIXTURES = Path(__file__).parent / "fixtures" / "aicc"
BASES = [
    {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    for folder in (
        FIXTURES / "valid" / "level3b-complex-objectives",
        FIXTURES / "valid" / "level2-blocks-prerequisites",
        FIXTURES / "valid" / "quirk-multiline-des-description",
        FIXTURES / "valid" / "quirk-unquoted-numbers-lowercase-headers",
    )
]
NAMES = ["c.crs", "c.au", "c.des", "c.cst", "c.ort", "c.pre", "c.cmp"]
INSERTS = [
    b'"',
    b"\r\n",
    b"\n",
    b"\r",
    b",",
    b'""',
    b"[",
    b"]",
    b"=",
    b"\x00",
    b"\xff",
    b"&",
    b"*{",
]


def _check(source: object) -> Report:
    for strict in (False, True):
        report = validate(source, strict=strict)  # type: ignore[arg-type]
        assert isinstance(report, Report)
        assert not [d for d in report.diagnostics if d.rule == "PKG999"], [
            d.format() for d in report.diagnostics if d.rule == "PKG999"
        ]
        for diagnostic in report.diagnostics:
            diagnostic.format()
            assert diagnostic.line is None or diagnostic.line >= 1
            assert diagnostic.column is None or diagnostic.column >= 1
        report.to_dict("x")
    reread = read(source)  # type: ignore[arg-type]
    assert not [d for d in reread.diagnostics if d.rule == "PKG999"]
    return report


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@st.composite
def _mutated(draw: st.DrawFn) -> dict[str, bytes]:
    files = dict(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(files)))
        data = bytearray(files[name])
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "drop"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.sampled_from(INSERTS))
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, 40))]
        elif kind == "drop":
            files.pop(name)
            continue
        files[name] = bytes(data)
    return files


@given(_mutated())
@settings(max_examples=150)
def test_mutated_files_in_a_mapping(files: dict[str, bytes]) -> None:
    _check(files)


@given(_mutated())
@settings(max_examples=60)
def test_mutated_files_in_a_zip(files: dict[str, bytes]) -> None:
    _check(_zip(files))


@given(st.dictionaries(st.sampled_from(NAMES), st.binary(max_size=300), max_size=7))
def test_random_bytes_as_files(files: dict[str, bytes]) -> None:
    _check(files)


@given(
    st.dictionaries(
        st.sampled_from(NAMES),
        st.text(alphabet='",\r\n[]=;&|~(){}*AJB0123 \t.:xrootRoOtMember', max_size=200).map(
            str.encode
        ),
        max_size=7,
    )
)
def test_random_structured_text_as_files(files: dict[str, bytes]) -> None:
    _check(files)


@given(st.binary(max_size=600))
def test_random_bytes_as_a_zip(data: bytes) -> None:
    _check(data)


@given(st.binary(min_size=30, max_size=2000), st.integers(0, 10_000), st.integers(0, 255))
@settings(max_examples=60)
def test_corrupted_zip_bytes(tail: bytes, position: int, value: int) -> None:
    data = bytearray(_zip(BASES[0]))
    data[position % len(data)] = value
    _check(bytes(data))
    _check(bytes(data[: position % len(data)]) + tail)


@st.composite
def _mutated_generated(draw: st.DrawFn) -> dict[str, bytes]:
    files = dict(draw(course_files()))
    name = draw(st.sampled_from(sorted(files)))
    data = bytearray(files[name])
    position = draw(st.integers(0, max(len(data) - 1, 0)))
    data[position:position] = draw(st.sampled_from(INSERTS))
    files[name] = bytes(data)
    return files


@given(_mutated_generated())
@settings(max_examples=40)
def test_mutated_generated_courses(files: dict[str, bytes]) -> None:
    _check(files)
