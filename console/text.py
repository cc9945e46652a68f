"""Showing untrusted (vendor) text: escaped, with invisible characters made visible.

Jinja2 autoescaping already turns ``<script>`` into text. What it does not do is show
characters that change how the rest of a line reads: terminal escapes (``\\x1b``),
bidirectional overrides (``\\u202e``). :func:`visible` escapes the text and replaces each
character that :func:`schemas.visible` (the one definition, shared by every text output)
escapes by a marked ``\\xNN`` / ``\\uNNNN`` token, so an admin sees exactly what the vendor
sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup
from markupsafe import escape

from schemas import visible as show_escaped


def _token(char: str) -> str | None:
    """The escape :func:`schemas.visible` shows for ``char``, or None if it is shown as is."""
    shown = show_escaped(char)
    return shown if shown != char else None


def visible(value: Any, keep_newlines: bool = False) -> Markup:
    """Escape ``value`` for HTML and mark each character :func:`schemas.visible`
    escapes (controls, bidi overrides) as a ``<span class="ctl">\\x1b</span>``.

    Args:
        value: Any value; ``None`` gives an empty string.
        keep_newlines: Leave line breaks and tabs as they are (for descriptions).
    """
    if value is None:
        return Markup("")
    text = str(value)
    if show_escaped(text) == text:
        return escape(text)
    parts: list[str] = []
    for ch in text:
        token = None if keep_newlines and ch in "\n\t" else _token(ch)
        if token is None:
            parts.append(str(escape(ch)))
        else:
            parts.append(f'<span class="ctl" title="hidden character">{escape(token)}</span>')
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


__all__ = ["duration", "size", "visible", "when"]
