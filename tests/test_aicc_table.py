"""The RFC 4180-like table reader: fast paths, quoting errors, positions, blank lines."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aicc._table import Row
from aicc._table import _Tokenizer
from aicc._table import parse_table
from aicc.diagnostics import Severity


def _rules(text: str) -> list[str]:
    return [d.rule for d in parse_table(text, "t.au").diagnostics]


def test_header_and_rows_all_quoted() -> None:
    table = parse_table('"System_ID","Title"\n"A1","One"\n"A2",""\n', "t.des")
    assert table.header == ["System_ID", "Title"]
    assert [r.values for r in table.rows] == [["A1", "One"], ["A2", ""]]
    assert [r.line for r in table.rows] == [2, 3]
    assert table.index("system_id") == 0
    assert table.index("TITLE") == 1
    assert table.index("Description") is None
    assert table.diagnostics == []


def test_unquoted_fields_are_trimmed_and_aggregated() -> None:
    table = parse_table('"System_ID","Max_Score","Type"\n A1 , 100 ,lesson\n', "t.au")
    assert table.rows[0].values == ["A1", "100", "lesson"]
    assert [(d.rule, d.line, d.column) for d in table.diagnostics] == [
        ("TBL008", 2, 2),
        ("TBL013", 2, 7),
    ]
    assert "2 unquoted fields" in table.diagnostics[0].message


def test_mixed_quoting_escaped_quotes_and_spaces_around_commas() -> None:
    table = parse_table('"a","b","c","d"\n"x ""q"" y" , 7,,"C,N"\n', "t.au")
    assert table.rows[0].values == ['x "q" y', "7", "", "C,N"]
    assert table.rows[0].quoted == [True, False, False, True]
    assert [r.is_quoted(1) for r in table.rows] == [False]


def test_positions_of_fast_and_general_rows() -> None:
    table = parse_table(
        '"Block","Member","Member"\n"root","A1","A22"\nB1, A1 ,x\n"B2", "A3",""\n', "t"
    )
    quoted, unquoted, general = table.rows
    assert [quoted.position(i) for i in range(3)] == [(2, 1), (2, 8), (2, 13)]
    assert [unquoted.position(i) for i in range(3)] == [(3, 1), (3, 5), (3, 9)]
    assert [general.position(i) for i in range(3)] == [(4, 1), (4, 7), (4, 12)]
    assert quoted.column(5) == len('"root","A1","A22"') + 1  # past the end: end of line


def test_ragged_rows_are_reported() -> None:
    table = parse_table('"a","b"\n"1","2","3"\n"1"\n"1","2"\n', "t.au")
    assert [(d.rule, d.line) for d in table.diagnostics] == [("TBL005", 2), ("TBL005", 3)]


def test_unterminated_quote_takes_the_rest_of_the_line() -> None:
    table = parse_table('"a","b"\n"1","open\n"2","x"\n', "t.des")
    assert table.rows[0].values == ["1", "open"]
    assert table.rows[1].values == ["2", "x"]
    tbl006 = next(d for d in table.diagnostics if d.rule == "TBL006")
    assert (tbl006.line, tbl006.column) == (2, 5)


def test_text_after_closing_quote_and_stray_quote_are_reported() -> None:
    table = parse_table('"a","b","c"\n"x"y,ab"c,"z"\n', "t.des")
    assert table.rows[0].values == ["xy", 'ab"c', "z"]
    assert [(d.rule, d.line, d.column) for d in table.diagnostics if d.rule == "TBL007"] == [
        ("TBL007", 2, 4),
        ("TBL007", 2, 8),
    ]


def test_quoted_field_may_span_lines_with_a_warning() -> None:
    table = parse_table('"a","b"\n"1","line one\nline two"\n"2","x"\n', "t.des")
    assert table.rows[0].values == ["1", "line one\nline two"]
    assert table.rows[0].end_line == 3
    assert table.rows[1].line == 4
    assert [(d.rule, d.line) for d in table.diagnostics] == [("TBL009", 2)]


def test_blank_lines_between_records_warn_and_at_the_end_inform() -> None:
    table = parse_table('\n"a"\n"1"\n   \n"2"\n\n\n', "t.au")
    assert [r.values for r in table.rows] == [["1"], ["2"]]
    found = [(d.rule, d.line, d.severity) for d in table.diagnostics if d.rule == "TBL010"]
    assert found == [
        ("TBL010", 1, Severity.WARNING),
        ("TBL010", 4, Severity.WARNING),
        ("TBL010", 6, Severity.INFO),
    ]


def test_empty_text_has_no_header() -> None:
    table = parse_table("", "t.au")
    assert table.header == []
    assert table.header_row is None
    assert table.rows == []


def test_row_get_outside_the_record_is_empty() -> None:
    row = Row(1, ["a"])
    assert row.get(0) == "a"
    assert row.get(3) == ""
    assert row.get(None) == ""


_FIELD = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\r"), max_size=12
)


@given(st.lists(st.lists(_FIELD, min_size=1, max_size=6), min_size=1, max_size=6))
def test_quoted_records_round_trip(rows: list[list[str]]) -> None:
    width = len(rows[0])
    rows = [(r + [""] * width)[:width] for r in rows]
    lines = [",".join('"' + v.replace('"', '""') + '"' for v in row) for row in rows]
    table = parse_table("\n".join(["h" + ",h" * (width - 1), *lines]) + "\n", "t")
    assert [r.values for r in table.rows] == rows


@given(st.lists(st.lists(_FIELD, min_size=1, max_size=6), min_size=1, max_size=6))
def test_minimally_quoted_records_round_trip(rows: list[list[str]]) -> None:
    def cell(value: str) -> str:
        needs = any(c in value for c in ',"\n') or value != value.strip(" \t") or not value
        return '"' + value.replace('"', '""') + '"' if needs else value

    lines = [",".join(cell(v) for v in row) for row in rows]
    table = parse_table("\n".join(["header", *lines]) + "\n", "t")
    assert [r.values for r in table.rows] == rows
    assert not any(d.rule in ("TBL006", "TBL007") for d in table.diagnostics)


@given(
    st.lists(
        st.text(
            alphabet=st.characters(exclude_categories=("Cs",), exclude_characters='"\r\n'),
            max_size=10,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_fast_path_positions_match_the_general_tokenizer(values: list[str]) -> None:
    line = ",".join(f'"{v}"' for v in values)
    fast = parse_table(f"h\n{line}\n", "t").rows[0]
    general, _ = _Tokenizer(["h", line], "t", []).record(1)
    assert fast.values == general.values
    assert [fast.position(i) for i in range(len(values))] == [
        general.position(i) for i in range(len(values))
    ]


@given(st.text(max_size=300))
def test_any_text_parses_without_raising(text: str) -> None:
    table = parse_table(text.replace("\r", "\n"), "t")
    for row in table.rows:
        for index in range(len(row.values) + 1):
            line, column = row.position(index)
            assert line >= 1
            assert column >= 1
