"""Bytes -> text for course structure files.

Decoding order (reference section 2.3): a BOM (UTF-8/16/32) is honoured and stripped;
otherwise strict UTF-8; otherwise Windows-1252. Whatever was done is reported as an
``ENC`` diagnostic. Line ends (CR LF, LF, CR) are normalised to ``"\\n"``, one terminator
per line, so line numbers in the normalised text are the line numbers of the file.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from dataclasses import field

from aicc.diagnostics import Diagnostic
from aicc.rules import diag

__all__ = ["DecodedText", "decode", "line_col"]

# Longest BOMs first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)


def _build_cp1252_table() -> str:
    # Windows-1252 leaves five bytes undefined; map those to the Latin-1 code point so
    # decoding can never fail (the file is still reported as not UTF-8).
    chars = []
    for value in range(256):
        try:
            chars.append(bytes([value]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(chr(value))
    return "".join(chars)


_CP1252_TABLE = _build_cp1252_table()
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(slots=True)
class DecodedText:
    """A decoded file.

    Attributes:
        text: The text with line ends normalised to ``"\\n"`` and any BOM removed.
        encoding: The codec used (``"utf-8"``, ``"cp1252"``, ``"utf-16-le"`` ...).
        newline: ``"crlf"``, ``"lf"``, ``"cr"``, ``"mixed"`` or ``"none"`` (single line).
        diagnostics: ``ENC`` findings.
    """

    text: str
    encoding: str
    newline: str
    diagnostics: list[Diagnostic] = field(default_factory=list)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset in ``"\\n"``-normalised text."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _sniff_utf16(data: bytes) -> str | None:
    """Guess UTF-16 without a BOM from the pattern of NUL bytes in ASCII-heavy text."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    if odd >= half * 0.6 and even <= half * 0.1:
        return "utf-16-le"
    if even >= half * 0.6 and odd <= half * 0.1:
        return "utf-16-be"
    return None


def decode(data: bytes, file: str | None = None) -> DecodedText:
    """Decode the bytes of one course structure file.

    Args:
        data: Raw file content.
        file: File name used in diagnostics.

    Returns:
        The decoded, line-end-normalised text with ``ENC`` diagnostics. Never raises.
    """
    diagnostics: list[Diagnostic] = []
    text, encoding = _decode_bytes(data, file, diagnostics)
    newline = _newline_style(text)
    if "\r" in text:
        text = _normalise(text)
    _check_line_ends(text, newline, file, diagnostics)
    _check_characters(text, file, diagnostics)
    return DecodedText(text, encoding, newline, diagnostics)


def _decode_bytes(data: bytes, file: str | None, out: list[Diagnostic]) -> tuple[str, str]:
    """(text, encoding): by byte order mark, else sniffed UTF-16, else UTF-8 or cp1252."""
    decoded = _decode_bom(data, file, out)
    if decoded is None and b"\x00" in data:
        decoded = _decode_sniffed(data, file, out)
    if decoded is not None:
        return decoded
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        text = codecs.charmap_decode(data, "strict", _CP1252_TABLE)[0]
        # cp1252 maps one byte to one character, so the byte offset is a text offset.
        line = _normalise(text[: exc.start]).count("\n") + 1
        out.append(
            diag(
                "ENC003",
                f"byte 0x{data[exc.start]:02X} at line {line} is not valid UTF-8; "
                "the file was decoded as Windows-1252",
                file,
                line,
                None,
            )
        )
        return text, "cp1252"


def _decode_bom(data: bytes, file: str | None, out: list[Diagnostic]) -> tuple[str, str] | None:
    for bom, codec, label in _BOMS:
        if not data.startswith(bom):
            continue
        body = data[len(bom) :]
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            text = body.decode(codec, errors="replace")
            out.append(
                diag(
                    "ENC003",
                    f"bytes after the {label} byte order mark are not valid {label}; "
                    "invalid sequences were replaced with U+FFFD",
                    file,
                    1,
                    1,
                )
            )
        if codec == "utf-8":
            out.append(diag("ENC001", "UTF-8 byte order mark at the start (stripped)", file, 1, 1))
        else:
            out.append(diag("ENC002", f"file is encoded as {label} (byte order mark)", file, 1, 1))
        return text, codec
    return None


def _decode_sniffed(data: bytes, file: str | None, out: list[Diagnostic]) -> tuple[str, str] | None:
    guessed = _sniff_utf16(data)
    if guessed is None:
        return None
    try:
        text = data.decode(guessed)
    except UnicodeDecodeError:
        return None
    out.append(
        diag(
            "ENC002",
            f"file looks like {guessed.upper()} without a byte order mark "
            "(NUL bytes between characters)",
            file,
            1,
            1,
        )
    )
    return text, guessed


def _check_line_ends(text: str, newline: str, file: str | None, out: list[Diagnostic]) -> None:
    if newline == "lf":
        out.append(diag("ENC005", "line ends are LF only (CR LF expected)", file, None, None))
    elif newline in ("mixed", "cr"):
        what = "bare CR line ends" if newline == "cr" else "mixed line ends"
        out.append(diag("ENC006", f"{what} (CR LF expected)", file, None, None))
    if text and not text.endswith("\n"):
        line, _ = line_col(text, len(text))
        out.append(diag("ENC007", "the last line has no line break", file, line, None))


def _check_characters(text: str, file: str | None, out: list[Diagnostic]) -> None:
    if not text.isascii():
        match = _NON_ASCII.search(text)
        if match is not None:
            line, column = line_col(text, match.start())
            out.append(
                diag(
                    "ENC004",
                    f"non-ASCII character {match.group()!r} (U+{ord(match.group()):04X})",
                    file,
                    line,
                    column,
                )
            )
    match = _CONTROL.search(text)
    if match is not None:
        line, column = line_col(text, match.start())
        count = len(_CONTROL.findall(text))
        out.append(
            diag(
                "ENC008",
                f"control character U+{ord(match.group()):04X}"
                + (f" (and {count - 1} more)" if count > 1 else ""),
                file,
                line,
                column,
            )
        )


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _newline_style(text: str) -> str:
    crlf = text.count("\r\n")
    cr = text.count("\r") - crlf
    lf = text.count("\n") - crlf
    kinds = (crlf > 0) + (cr > 0) + (lf > 0)
    if kinds == 0:
        return "none"
    if kinds > 1:
        return "mixed"
    if crlf:
        return "crlf"
    return "cr" if cr else "lf"
