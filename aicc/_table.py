"""An RFC 4180-like reader for the comma-separated tables (.au .des .cst .ort .pre .cmp).

Fields may be quoted (``"..."``, ``""`` is an escaped quote) or not; white space outside
quotes is trimmed. Every field keeps its line and column. Malformed quoting is reported
(``TBL006`` unterminated quote, ``TBL007`` stray quote or text after a closing quote)
rather than guessed at silently. The first non-blank record is the header.

Speed matters (10,000-AU courses): a line without quotes is split with ``str.split``, a
line of simple quoted fields with one ``str.split('","')``; only other lines go through
the general field-by-field tokenizer. Columns of fast-path rows are computed on demand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field

from aicc.diagnostics import Diagnostic
from aicc.diagnostics import Severity
from aicc.rules import diag

__all__ = ["Row", "Table", "parse_table"]

# The body of a quoted field after its opening quote, up to and including the closing
# quote; [^"] also matches "\n", so a field may continue on the next lines.
_QUOTED_BODY = re.compile(r'((?:[^"]|"")*)"')
# Only spaces and tabs count as white space outside quotes.
_BLANK = " \t"
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# How many following lines a quoted field may swallow before it counts as unterminated.
_MAX_FIELD_LINES = 20


@dataclass(slots=True)
class Row:
    """One record.

    Attributes:
        line: 1-based line where the record starts.
        values: Field values (unquoted, trimmed outside quotes).
        raw: The source line for fast-path rows (columns computed on demand).
        quoted: True/False when every field is/is not quoted, else one flag per field.
        positions: (line, column) of each field, or None until :meth:`position` needs it.
        end_line: Last line of the record (a quoted field may span lines).
    """

    line: int
    values: list[str]
    raw: str | None = None
    quoted: bool | list[bool] = True
    positions: list[tuple[int, int]] | None = None
    end_line: int = 0

    def is_quoted(self, index: int) -> bool:
        """Whether field ``index`` was enclosed in quotes."""
        if isinstance(self.quoted, bool):
            return self.quoted
        return self.quoted[index]

    def position(self, index: int) -> tuple[int, int]:
        """(line, column) of field ``index`` (1-based; past the end -> end of the line)."""
        if self.positions is None:
            self.positions = _fast_positions(self.raw or "", self.line, self.quoted is True)
        if 0 <= index < len(self.positions):
            return self.positions[index]
        return (self.line, len(self.raw or "") + 1)

    def column(self, index: int) -> int:
        """1-based column of field ``index``."""
        return self.position(index)[1]

    def get(self, index: int | None) -> str:
        """Value of field ``index``; empty when the index is None or past the end."""
        if index is None or index >= len(self.values):
            return ""
        return self.values[index]


def _fast_positions(raw: str, line: int, quoted: bool) -> list[tuple[int, int]]:
    positions: list[tuple[int, int]] = []
    start = 0
    if quoted:
        # "a","b": a field starts at its opening quote, which is the last character of
        # the '","' separator before its part (or the first character of the line).
        for index, part in enumerate(raw.split('","')):
            positions.append((line, start if index else 1))
            start += len(part) + 3
        return positions
    for part in raw.split(","):
        lead = len(part) - len(part.lstrip(_BLANK))
        positions.append((line, start + lead + 1))
        start += len(part) + 1
    return positions


@dataclass(slots=True)
class Table:
    """A parsed table file.

    Attributes:
        file: File name used in diagnostics.
        header: Header names as written (trimmed, unquoted); empty when the file is blank.
        header_row: The header record (for positions), or None.
        rows: The data records (blank lines skipped).
        diagnostics: Syntax findings (``TBL005`` - ``TBL010``, ``TBL013``).
    """

    file: str | None
    header: list[str] = field(default_factory=list)
    header_row: Row | None = None
    rows: list[Row] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        """Header names case-folded (the comparison keys)."""
        return [name.casefold() for name in self.header]

    def index(self, name: str) -> int | None:
        """Index of the first column called ``name`` (case-insensitive), or None."""
        wanted = name.casefold()
        for position, key in enumerate(self.keys):
            if key == wanted:
                return position
        return None


class _Tokenizer:
    """The general, field-by-field path for lines the fast paths cannot take."""

    def __init__(self, lines: list[str], file: str | None, diagnostics: list[Diagnostic]):
        self.lines = lines
        self.file = file
        self.diagnostics = diagnostics

    def record(self, first: int) -> tuple[Row, int]:
        """Parse the record starting at line index ``first``; return it and the next index."""
        self.first = first
        self.buf = self.lines[first]
        self.last = first
        self.values: list[str] = []
        self.quoted: list[bool] = []
        self.positions: list[tuple[int, int]] = []
        pos: int | None = 0
        while pos is not None:
            pos = self._field(pos)
        row = Row(first + 1, self.values, None, self.quoted, self.positions, self.last + 1)
        return row, self.last + 1

    def _field(self, pos: int) -> int | None:
        """Parse the field at ``pos``; return where the next one starts (None: record end)."""
        buf = self.buf
        length = len(buf)
        start = pos
        while start < length and buf[start] in " \t":
            start += 1
        line_no, column = self._where(buf, start, self.first)
        self.positions.append((line_no, column))
        if start < length and buf[start] == '"':
            return self._quoted_field(start, line_no, column)
        return self._plain_field(start)

    def _quoted_field(self, start: int, line_no: int, column: int) -> int | None:
        match = _QUOTED_BODY.match(self.buf, start + 1)
        closing_ok = match is not None and self._closes(self.buf, match.end())
        if match is None:
            match = self._across_lines(start)
            closing_ok = match is not None
        if match is None:
            self._unclosed(start, line_no, column)
            return None
        if not closing_ok:
            return self._text_after_quote(match, line_no, column)
        value = match.group(1)
        if "\n" in value:
            self._multiline(line_no, column)
        self.values.append(value.replace('""', '"'))
        self.quoted.append(True)
        buf, end = self.buf, match.end()
        length = len(buf)
        while end < length and buf[end] in " \t":
            end += 1
        return None if end >= length else end + 1  # past the comma (_closes guaranteed one)

    def _across_lines(self, start: int) -> re.Match[str] | None:
        """A quoted field that a later line closes properly (followed by a comma or line end).

        One regex over a bounded window keeps hostile input (a quote on every line)
        linear in the file size. On success the record's text grows to that line.
        """
        buf = self.buf
        window = self.lines[self.last + 1 : self.last + 1 + _MAX_FIELD_LINES]
        candidate = buf + "\n" + "\n".join(window) if window else buf
        found = _QUOTED_BODY.match(candidate, start + 1)
        if found is None or not self._closes(candidate, found.end()):
            return None
        line_end = candidate.find("\n", found.end())
        line_end = len(candidate) if line_end < 0 else line_end
        self.last += candidate.count("\n", len(buf), line_end)
        self.buf = candidate[:line_end]
        return found

    def _unclosed(self, start: int, line_no: int, column: int) -> None:
        """No closing quote at all: take the rest of the line as the field."""
        self.diagnostics.append(
            diag(
                "TBL006",
                "quoted field is never closed; the rest of the line was taken as its value",
                self.file,
                line_no,
                column,
            )
        )
        buf = self.buf
        end_of_line = buf.find("\n", start)
        end_of_line = len(buf) if end_of_line < 0 else end_of_line
        self.values.append(buf[start + 1 : end_of_line].replace('""', '"'))
        self.quoted.append(True)
        # Only text up to that line end belongs to this record.
        self.buf = buf[:end_of_line]

    def _text_after_quote(self, match: re.Match[str], line_no: int, column: int) -> int | None:
        """Closed, but followed by text: report it and keep the text."""
        buf = self.buf
        end = match.end()
        value = match.group(1)
        comma = buf.find(",", end)
        stop = len(buf) if comma < 0 else comma
        trailing = buf[end:stop]
        tline, tcol = self._where(buf, end, self.first)
        self.diagnostics.append(
            diag(
                "TBL007",
                f"text {trailing.strip()[:40]!r} after the closing quote of "
                f"field {len(self.values) + 1}",
                self.file,
                tline,
                tcol,
            )
        )
        self.values.append((value + trailing).replace('""', '"').rstrip(_BLANK))
        self.quoted.append(True)
        if "\n" in value:
            self._multiline(line_no, column)
        return None if comma < 0 else comma + 1

    def _plain_field(self, start: int) -> int | None:
        buf = self.buf
        comma = buf.find(",", start)
        stop = len(buf) if comma < 0 else comma
        value = buf[start:stop].rstrip(_BLANK)
        if '"' in value:
            qline, qcol = self._where(buf, start + value.index('"'), self.first)
            self.diagnostics.append(
                diag(
                    "TBL007",
                    f"stray quote in unquoted field {value[:40]!r}",
                    self.file,
                    qline,
                    qcol,
                )
            )
        self.values.append(value)
        self.quoted.append(False)
        return None if comma < 0 else comma + 1

    @staticmethod
    def _closes(buf: str, end: int) -> bool:
        """A closing quote must be followed (after blanks) by a comma or a line end."""
        length = len(buf)
        while end < length and buf[end] in " \t":
            end += 1
        return end >= length or buf[end] in ",\n"

    def _where(self, buf: str, offset: int, first: int) -> tuple[int, int]:
        newline = buf.rfind("\n", 0, offset)
        if newline < 0:
            return first + 1, offset + 1
        return first + 1 + buf.count("\n", 0, offset), offset - newline

    def _multiline(self, line: int, column: int) -> None:
        self.diagnostics.append(
            diag("TBL009", "quoted field continues on the next line", self.file, line, column)
        )


def parse_table(text: str, file: str | None) -> Table:
    """Parse a table file.

    Args:
        text: Decoded text with ``"\\n"`` line ends.
        file: File name for diagnostics.

    Returns:
        The table: header, rows and syntax diagnostics. Never raises.
    """
    table = Table(file)
    diagnostics = table.diagnostics
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    tokenizer = _Tokenizer(lines, file, diagnostics)
    rows = table.rows
    append = rows.append
    blank_lines: list[int] = []
    count = len(lines)
    index = 0
    while index < count:
        line = lines[index]
        if '"' not in line:
            if not line.strip(_BLANK):
                blank_lines.append(index + 1)
                index += 1
                continue
            append(Row(index + 1, [v.strip(_BLANK) for v in line.split(",")], line, False))
            index += 1
        elif line[0] == '"' and line[-1] == '"' and len(line) > 1:
            # "a","b","": if every inner quote belongs to a '","' separator, the split
            # is exact (no escaped quotes, no unquoted fields, no spaces around commas).
            inner = line[1:-1]
            parts = inner.split('","')
            if inner.count('"') == 2 * (len(parts) - 1):
                append(Row(index + 1, parts, line, True))
                index += 1
            else:
                row, index = tokenizer.record(index)
                append(row)
        else:
            row, index = tokenizer.record(index)
            append(row)
    if rows:
        header_row = rows.pop(0)
        table.header_row = header_row
        table.header = header_row.values
        header_line = header_row.line
    else:
        header_line = count + 1
    _report_blank_lines(table, blank_lines, header_line)
    _report_widths(table)
    _report_unquoted(table)
    return table


def _report_blank_lines(table: Table, blank_lines: list[int], header_line: int) -> None:
    if not blank_lines:
        return
    last_record = max((r.end_line or r.line for r in table.rows), default=header_line)
    inner = [n for n in blank_lines if header_line < n < last_record]
    leading = [n for n in blank_lines if n < header_line]
    trailing = [n for n in blank_lines if n > last_record]
    for group, where, severity in (
        (leading, "before the header", Severity.WARNING),
        (inner, "between records", Severity.WARNING),
        (trailing, "at the end of the file", Severity.INFO),
    ):
        if group:
            more = f" (and {len(group) - 1} more)" if len(group) > 1 else ""
            table.diagnostics.append(
                diag(
                    "TBL010",
                    f"blank line {where}{more}",
                    table.file,
                    group[0],
                    None,
                    severity=severity,
                )
            )


def _report_widths(table: Table) -> None:
    width = len(table.header)
    if not width:
        return
    for row in table.rows:
        if len(row.values) != width:
            table.diagnostics.append(
                diag(
                    "TBL005",
                    f"record has {len(row.values)} fields, the header has {width}",
                    table.file,
                    row.line,
                    None,
                    hint=(
                        "A value with a comma (such as C,N) must be quoted; give every "
                        "record the header's field count."
                    ),
                )
            )


def _report_unquoted(table: Table) -> None:
    """Aggregate unquoted fields: TBL008 for text, TBL013 for numbers (one each per file)."""
    text_first: tuple[int, int, str] | None = None
    text_count = 0
    number_first: tuple[int, int, str] | None = None
    number_count = 0
    records = [table.header_row, *table.rows] if table.header_row is not None else []
    match_number = _NUMBER.fullmatch
    for row in records:
        if row.quoted is True:
            continue
        for index, value in enumerate(row.values):
            if not value or row.is_quoted(index):
                continue
            if match_number(value):
                number_count += 1
                if number_first is None:
                    number_first = (*row.position(index), value)
            else:
                text_count += 1
                if text_first is None:
                    text_first = (*row.position(index), value)
    if text_first is not None:
        more = f" ({text_count} unquoted fields in this file)" if text_count > 1 else ""
        table.diagnostics.append(
            diag(
                "TBL008",
                f"field {text_first[2][:40]!r} is not enclosed in quotes{more}",
                table.file,
                text_first[0],
                text_first[1],
            )
        )
    if number_first is not None:
        more = f" ({number_count} in this file)" if number_count > 1 else ""
        table.diagnostics.append(
            diag(
                "TBL013",
                f"numeric field {number_first[2]!r} is not enclosed in quotes{more}",
                table.file,
                number_first[0],
                number_first[1],
            )
        )
