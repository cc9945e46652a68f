"""Showing vendor text safely: control and bidi-override characters made visible.

Vendor strings (titles, IDs, error messages) are stored exactly as received, but a
terminal, a log file or an HTML report must never *act* on them: an ESC starts a
terminal escape sequence (colours, cursor moves, OSC 8 links, window titles), CR and
BS overwrite what was printed, a newline forges a whole output line, and the Unicode
bidi overrides (U+202A-U+202E, U+2066-U+2069) reorder what a reader sees. Every text
output of every wing passes vendor text through :func:`visible`; JSON output stays
exact (JSON escapes control characters itself).
"""

from __future__ import annotations

import unicodedata

#: Characters shown as escapes besides C0, DEL and C1 controls: bidi embeddings,
#: overrides and isolates, the Arabic letter mark, and the line/paragraph separators.
_FORMAT_CHARS = (
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0x061C,
    0x200E,
    0x200F,
    0x2028,
    0x2029,
)


def _escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


_TABLE: dict[int, str] = {
    code: _escape(code) for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_FORMAT_CHARS)
}


def visible(text: object) -> str:
    """``text`` as a string with control and bidi characters replaced by escapes.

    ``"\\x1b[31mRed"`` becomes ``"\\\\x1b[31mRed"`` (a backslash, ``x1b``, then the
    rest), ``"\\u202e"`` becomes ``"\\\\u202e"``; tabs and newlines are escaped too,
    because one table cell or one log line must stay one line. Printable text, accents
    and every script are left as they are.

    Args:
        text: Any value; non-strings are converted with ``str`` first.

    Returns:
        Text safe to write to a terminal, a log line or (after HTML escaping) a page.
    """
    value = text if isinstance(text, str) else str(text)
    if value.isprintable():  # the common case costs one C-level scan
        return value
    escaped = value.translate(_TABLE)
    # Other unprintable code points (unassigned, private use stay; surrogates) are
    # rare; escape the ones Unicode calls controls or format characters not above.
    if not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in escaped):
        return escaped
    return "".join(
        _escape(ord(ch)) if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in escaped
    )
