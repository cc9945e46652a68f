"""Showing untrusted (vendor) text: escaped, with invisible characters made visible.

Jinja2 autoescaping already turns ``<script>`` into text. What it does not do is show
characters that change how the rest of a line reads: terminal escapes (``\\x1b``),
bidirectional overrides (``\\u202e``), zero-width characters. :func:`visible` escapes the
text and replaces each of them by a marked ``\\xNN`` / ``\\uNNNN`` token, so an admin sees
exactly what the vendor sent.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from markupsafe import Markup
from markupsafe import escape

#: Unicode categories shown as escapes: controls, format characters (bidi, zero-width),
#: line/paragraph separators, private use, surrogates and unassigned code points.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


def _token(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def is_hidden(char: str, *, keep_newlines: bool = False) -> bool:
    """True when ``char`` would be invisible or would reorder/alter the text around it."""
    if keep_newlines and char in "\n\t":
        return False
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def visible(value: Any, keep_newlines: bool = False) -> Markup:
    """Escape ``value`` for HTML and show hidden characters as ``<span class="ctl">``.

    Args:
        value: Any value; ``None`` gives an empty string.
        keep_newlines: Leave line breaks and tabs as they are (for descriptions).
    """
    if value is None:
        return Markup("")
    text = str(value)
    if not any(is_hidden(ch, keep_newlines=keep_newlines) for ch in text):
        return escape(text)
    parts: list[str] = []
    for ch in text:
        if is_hidden(ch, keep_newlines=keep_newlines):
            parts.append(f'<span class="ctl" title="hidden character">{_token(ch)}</span>')
        else:
            parts.append(str(escape(ch)))
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped or ours


def when(value: dt.datetime | str | None, zone: Any = None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS UTC`` (or in ``zone``), or ``never``."""
    if value is None or value == "":
        return "never"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if zone is not None:
        local = value.astimezone(zone)
        return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def size(value: int | None) -> str:
    """Bytes as a short human size (``12.3 KiB``)."""
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"  # pragma: no cover - loop always returns


def duration(seconds: float | None) -> str:
    """Seconds as ``1 h 02 min``, ``3 min 04 s`` or ``5.2 s``; empty when unknown."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


__all__ = ["duration", "is_hidden", "size", "visible", "when"]
