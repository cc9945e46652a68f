"""PRE/CMP logic expressions: parsing, precedence, errors, evaluation, canonical text."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicc import LogicStatusError
from aicc import LogicSyntaxError
from aicc.logic import And
from aicc.logic import Comparison
from aicc.logic import Expr
from aicc.logic import Not
from aicc.logic import Or
from aicc.logic import Ref
from aicc.logic import SetExpr
from aicc.logic import find_mixed_and_or
from aicc.logic import normalize_status
from aicc.logic import parse
from aicc.strategies import expressions

A, B, C = Ref("A"), Ref("B"), Ref("C")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A1", Ref("A1")),
        ("  A1  ", Ref("A1")),
        ("A & B", And((A, B))),
        ("A&B&C", And((A, B, C))),
        ("A | B | C", Or((A, B, C))),
        ("~A", Not(A)),
        ("~~A", Not(Not(A))),
        ("(A)", A),
        ("A & (B | C)", And((A, Or((B, C))))),
        ("A & (B & C)", And((A, And((B, C))))),
        ("~(A | B)", Not(Or((A, B)))),
        ("A33=Passed", Comparison("A33", "=", "passed")),
        ("A33 <> F", Comparison("A33", "<>", "failed")),
        ('A1="completed"', Comparison("A1", "=", "completed")),
        ("A1='b'", Comparison("A1", "=", "browsed")),
        ("A1 = not   attempted", Comparison("A1", "=", "not attempted")),
        ("A1=N", Comparison("A1", "=", "not attempted")),
        ("2*{A1,A2,A3}", SetExpr(2, ("A1", "A2", "A3"))),
        ("2 * { A1 , A2 }", SetExpr(2, ("A1", "A2"))),
        ("~A1=I", Not(Comparison("A1", "=", "incomplete"))),
        ("B1&B2&S1", And((Ref("B1"), Ref("B2"), Ref("S1")))),
        ("A_1-x.y", Ref("A_1-x.y")),
        ("12", Ref("12")),
    ],
)
def test_parse_valid_expressions(text: str, expected: Expr) -> None:
    assert parse(text) == expected


def test_and_binds_tighter_than_or_and_not_tighter_than_and() -> None:
    assert parse("A & B | C") == Or((And((A, B)), C))
    assert parse("A | B & C") == Or((A, And((B, C))))
    assert parse("~A & B") == And((Not(A), B))


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("A &", 3, "end of expression"),
        ("& A", 0, "identifier"),
        ("(A", 0, "never closed"),
        ("A)", 1, "unbalanced"),
        ("A B", 2, "'B'"),
        ("A AND B", 2, "AND"),
        ("A;B", 1, "use & for AND"),
        ("A &amp; B", 6, "XML escape"),
        ("A < B", 2, "<>"),
        ("A =", 3, "status"),
        ("x*{A}", 0, "set count"),
        ("2*A", 2, "'{'"),
        ("2*{A", 0, "never closed"),
        ("2*{}", 3, "identifier in the set"),
        ("2*{A B}", 5, "',' or '}'"),
        ('A="passed', 2, "unterminated"),
        ('"A"', 0, "quoted text"),
        ("A\x01", 1, "control character"),
    ],
)
def test_syntax_errors_name_the_problem_and_position(
    text: str, position: int, fragment: str
) -> None:
    with pytest.raises(LogicSyntaxError) as caught:
        parse(text)
    assert caught.value.position == position
    assert fragment in caught.value.message


def test_unknown_status_is_its_own_error_class() -> None:
    with pytest.raises(LogicStatusError) as caught:
        parse("A1 = done")
    assert caught.value.position == 5
    assert isinstance(caught.value, LogicSyntaxError)


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    with pytest.raises(LogicSyntaxError, match="nested deeper"):
        parse("(" * 1000 + "A" + ")" * 1000)
    with pytest.raises(LogicSyntaxError, match="nested deeper"):
        parse("~" * 1000 + "A")


STATUSES = ["passed", "completed", "failed", "incomplete", "browsed", "not attempted"]


@pytest.mark.parametrize("status", STATUSES)
def test_bare_identifier_is_true_only_when_passed_or_completed(status: str) -> None:
    assert parse("A").evaluate({"A": status}) is (status in ("passed", "completed"))
    assert parse("~A").evaluate({"A": status}) is (status not in ("passed", "completed"))
    # ~A35 is defined as (A35<>Passed & A35<>Completed)
    assert parse("~A").evaluate({"A": status}) == parse("A<>P & A<>C").evaluate({"A": status})


@pytest.mark.parametrize(("a", "b"), list(itertools.product([True, False], repeat=2)))
def test_and_or_truth_tables(a: bool, b: bool) -> None:
    statuses = {"A": "passed" if a else "failed", "B": "completed" if b else "incomplete"}
    assert parse("A & B").evaluate(statuses) is (a and b)
    assert parse("A | B").evaluate(statuses) is (a or b)
    assert parse("~(A & B)").evaluate(statuses) is not (a and b)


def test_comparisons_use_the_first_letter_and_ignore_case() -> None:
    assert parse("A=passed").evaluate({"A": "P"})
    assert parse("A=P").evaluate({"A": "PASSED"})
    assert parse("A<>failed").evaluate({"A": "incomplete"})
    assert parse("A=browsed").evaluate({"A": " b "})


def test_missing_or_empty_statuses_count_as_not_attempted() -> None:
    assert parse("A=not attempted").evaluate({})
    assert parse("A=N").evaluate({"A": ""})
    assert not parse("A").evaluate({})


def test_status_keys_match_case_insensitively() -> None:
    assert parse("a1").evaluate({"A1": "passed"})


def test_a_bad_status_value_raises_value_error() -> None:
    with pytest.raises(ValueError, match="'done'"):
        parse("A").evaluate({"A": "done"})


@pytest.mark.parametrize(("done", "expected"), [(0, False), (1, False), (2, True), (3, True)])
def test_set_is_true_when_at_least_n_members_are_done(done: int, expected: bool) -> None:
    statuses = {f"A{i}": "passed" if i < done else "failed" for i in range(3)}
    assert parse("2*{A0,A1,A2}").evaluate(statuses) is expected


def test_references_lists_every_identifier() -> None:
    expr = parse("A1 & (~B1 | 2*{A2,A3,A1}) & J1=passed")
    assert expr.references() == {"A1", "B1", "A2", "A3", "J1"}


def test_canonical_text() -> None:
    assert str(parse("A&B|C")) == "(A & B) | C"
    assert str(parse("~(A|B)&c=p")) == "~(A | B) & c=passed"
    assert str(parse("2 * {A, B}")) == "2*{A,B}"
    assert str(parse("A<>'n'")) == "A<>not attempted"


def test_mixed_and_or_without_parentheses_is_found() -> None:
    assert find_mixed_and_or("A & B | C") == 6
    assert find_mixed_and_or("A | B & C") == 2
    assert find_mixed_and_or("(A & B) | C") is None
    assert find_mixed_and_or("A | (B & C)") is None
    assert find_mixed_and_or("A & B & C") is None


def test_normalize_status() -> None:
    assert normalize_status(" 'Completed' ") == "completed"
    assert normalize_status("not  attempted") == "not attempted"
    assert normalize_status("x") is None
    assert normalize_status("passing") is None


def test_nodes_reject_invalid_construction() -> None:
    with pytest.raises(ValueError, match="two operands"):
        And((A,))
    with pytest.raises(ValueError, match="two operands"):
        Or(())
    with pytest.raises(ValueError, match="identifier"):
        Ref("A B")
    with pytest.raises(ValueError, match="status"):
        Comparison("A", "=", "P")
    with pytest.raises(ValueError, match="member"):
        SetExpr(1, ())


IDS = ["A1", "A2", "B1", "J1", "x_9"]


@given(expressions(IDS, max_leaves=10))
def test_canonical_text_parses_back_to_an_equal_tree(expr: Expr) -> None:
    assert parse(str(expr)) == expr
    assert find_mixed_and_or(str(expr)) is None  # canonical text never mixes unparenthesised


@given(
    expressions(IDS, max_leaves=10),
    st.fixed_dictionaries({i: st.sampled_from(STATUSES) for i in IDS}),
)
def test_reparsed_text_evaluates_the_same(expr: Expr, statuses: dict[str, str]) -> None:
    assert parse(str(expr)).evaluate(statuses) == expr.evaluate(statuses)
    assert Not(expr).evaluate(statuses) is not expr.evaluate(statuses)


@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_logic_syntax_error(text: str) -> None:
    position = None
    try:
        expr = parse(text)
    except LogicSyntaxError as error:
        position = error.position
    if position is None:
        assert parse(str(expr)) == expr
    else:
        assert 0 <= position <= len(text)


def test_set_count_must_be_ascii_digits() -> None:
    # "²".isdigit() is True but int("²") raises ValueError: found by fuzzing.
    with pytest.raises(LogicSyntaxError, match="set count"):
        parse("²*{A1,A2}")
