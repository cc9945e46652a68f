"""Bytes -> text: BOMs, UTF-8, the Windows-1252 fallback, line ends and ENC diagnostics."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicc._decode import decode
from aicc._decode import line_col


def _rules(data: bytes) -> list[str]:
    return [d.rule for d in decode(data, "f.crs").diagnostics]


@pytest.mark.parametrize(
    ("bom", "codec", "rule"),
    [
        (codecs.BOM_UTF8, "utf-8", "ENC001"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "ENC002"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "ENC002"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "ENC002"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "ENC002"),
    ],
)
def test_bom_is_honoured_stripped_and_reported(bom: bytes, codec: str, rule: str) -> None:
    decoded = decode(bom + "[Course]\r\nCourse_ID=é1\r\n".encode(codec), "f.crs")
    assert decoded.text == "[Course]\nCourse_ID=é1\n"
    assert decoded.encoding == codec
    assert decoded.diagnostics[0].rule == rule
    assert "ENC004" in [d.rule for d in decoded.diagnostics]  # the é


def test_plain_ascii_crlf_has_no_diagnostics() -> None:
    decoded = decode(b'"a","b"\r\n"c","d"\r\n', "f.au")
    assert decoded.text == '"a","b"\n"c","d"\n'
    assert decoded.newline == "crlf"
    assert decoded.diagnostics == []


def test_valid_utf8_is_utf8_and_non_ascii_is_located() -> None:
    decoded = decode("x\r\nSafety \u2014 basics\r\n".encode(), "f.crs")
    assert decoded.encoding == "utf-8"
    (diagnostic,) = decoded.diagnostics
    assert (diagnostic.rule, diagnostic.line, diagnostic.column) == ("ENC004", 2, 8)


def test_invalid_utf8_falls_back_to_windows_1252_with_the_line() -> None:
    data = b"line one\r\nline two\r\nLe\xe7on \x80\r\n"
    decoded = decode(data, "f.des")
    assert decoded.encoding == "cp1252"
    assert decoded.text.splitlines()[2] == "Leçon €"
    enc003 = next(d for d in decoded.diagnostics if d.rule == "ENC003")
    assert enc003.line == 3
    assert "0xE7" in enc003.message


def test_bytes_undefined_in_windows_1252_still_decode() -> None:
    decoded = decode(b"\x81\x8d\x8f\x90\x9d\r\n", "f.des")
    assert decoded.text == "\x81\x8d\x8f\x90\x9d\n"
    assert "ENC003" in [d.rule for d in decoded.diagnostics]


def test_big5_bytes_are_read_as_windows_1252() -> None:
    decoded = decode("第一課\r\n".encode("big5"), "f.des")
    assert decoded.encoding == "cp1252"
    assert {"ENC003", "ENC004"} <= {d.rule for d in decoded.diagnostics}


@pytest.mark.parametrize(
    ("data", "newline", "rules"),
    [
        (b"a\r\nb\r\n", "crlf", []),
        (b"a\nb\n", "lf", ["ENC005"]),
        (b"a\rb\r", "cr", ["ENC006"]),
        (b"a\r\nb\nc\r", "mixed", ["ENC006"]),
        (b"single line", "none", ["ENC007"]),
    ],
)
def test_line_ends(data: bytes, newline: str, rules: list[str]) -> None:
    decoded = decode(data, "f.cst")
    assert decoded.newline == newline
    assert [d.rule for d in decoded.diagnostics] == rules
    assert "\r" not in decoded.text


def test_missing_final_line_break_names_the_last_line() -> None:
    decoded = decode(b"a\r\nb\r\nc", "f.cst")
    (diagnostic,) = decoded.diagnostics
    assert (diagnostic.rule, diagnostic.line) == ("ENC007", 3)


def test_control_characters_are_reported_once_with_a_count() -> None:
    decoded = decode(b"ab\r\nc\x01d\x02\r\n", "f.au")
    (diagnostic,) = decoded.diagnostics
    assert (diagnostic.rule, diagnostic.line, diagnostic.column) == ("ENC008", 2, 2)
    assert "1 more" in diagnostic.message


def test_utf16_without_bom_is_sniffed() -> None:
    decoded = decode('"System_ID","Title"\r\n'.encode("utf-16-le"), "f.des")
    assert decoded.text == '"System_ID","Title"\n'
    assert decoded.diagnostics[0].rule == "ENC002"


def test_line_col() -> None:
    text = "ab\ncde\n"
    assert line_col(text, 0) == (1, 1)
    assert line_col(text, 4) == (2, 2)
    assert line_col(text, len(text)) == (3, 1)


@given(
    st.lists(
        st.text(
            alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"),
            max_size=20,
        )
    )
)
def test_line_numbers_survive_any_line_end_style(lines: list[str]) -> None:
    for separator in ("\r\n", "\n", "\r"):
        decoded = decode(separator.join(lines).encode("utf-8"), "f")
        if lines and decoded.encoding == "utf-8" and not decoded.text.startswith("\ufeff"):
            assert decoded.text.split("\n") == lines


@given(st.binary(max_size=400))
def test_any_bytes_decode_without_raising(data: bytes) -> None:
    decoded = decode(data, "f")
    assert "\r" not in decoded.text
    assert all(d.rule.startswith("ENC") for d in decoded.diagnostics)
