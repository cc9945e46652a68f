"""AICC logic expressions: the PRE ``Prerequisite`` and CMP ``Requirement`` language.

Grammar (reference section 5; white space between tokens is insignificant)::

    expr       := or_expr
    or_expr    := and_expr ( '|' and_expr )*
    and_expr   := unary ( '&' unary )*
    unary      := '~' unary | primary
    primary    := '(' expr ')' | set | comparison | ident
    comparison := ident ( '=' | '<>' ) status
    set        := count '*' '{' ident ( ',' ident )* '}'
    status     := passed | completed | failed | incomplete | browsed | not attempted
                  | P | C | F | I | B | N      (case-insensitive, optionally quoted)

Precedence: ``()`` > ``~`` > ``&`` > ``|`` (how Moodle and other importers evaluate).

Semantics: an element is *done* when its status is ``passed`` or ``completed``. A bare
identifier is true when the element is done; ``~X`` negates; ``X=S`` / ``X<>S`` compare
the status; ``n*{a,b,c}`` is true when at least ``n`` of the listed elements are done.
Elements missing from the status mapping count as ``not attempted``.

:func:`parse` returns an immutable AST; ``str(expr)`` is a canonical text that parses
back to an equal AST (``&``/``|`` groups nested in one another are always
parenthesised, status words are written in full).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from aicc.errors import LogicStatusError
from aicc.errors import LogicSyntaxError

#: Canonical status words, keyed by their (significant) first letter.
STATUSES: dict[str, str] = {
    "p": "passed",
    "c": "completed",
    "f": "failed",
    "i": "incomplete",
    "b": "browsed",
    "n": "not attempted",
}

#: Statuses that make an element *done* (a bare identifier is true).
DONE_STATUSES: frozenset[str] = frozenset({"passed", "completed"})

#: Characters that can never be part of an identifier.
OPERATOR_CHARS = frozenset("&|~(){},*=<>\"';")

# Deep nesting would exhaust the Python stack in the recursive parser and in str()/
# evaluate(); no real expression comes anywhere near this.
MAX_DEPTH = 100


def normalize_status(value: str) -> str | None:
    """Return the canonical status word for a status text, or None if it is not one.

    Accepts the full words and their one-letter abbreviations, case-insensitively, with
    optional surrounding quotes; ``not attempted`` may be spaced freely.
    """
    text = value.strip().strip("\"'").strip().casefold()
    text = " ".join(text.split())
    if len(text) == 1:
        return STATUSES.get(text)
    return text if text in STATUSES.values() else None


class Expr:
    """Base class of logic expression nodes (immutable, comparable, hashable)."""

    __slots__ = ()

    def evaluate(self, statuses: Mapping[str, str]) -> bool:
        """Evaluate the expression.

        Args:
            statuses: Element ID -> status text (``passed``, ``C``, ``not attempted`` ...).
                IDs are matched case-insensitively; missing elements are not attempted.

        Returns:
            The truth value of the expression.

        Raises:
            ValueError: A status in ``statuses`` that is needed is not a status value.
        """
        return self._eval(_StatusLookup(statuses))

    def references(self) -> set[str]:
        """Return every element ID the expression mentions, as written."""
        found: set[str] = set()
        self._collect(found)
        return found

    def _eval(self, lookup: _StatusLookup) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def _collect(self, found: set[str]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class _StatusLookup:
    """Case-insensitive, normalising view of a status mapping."""

    __slots__ = ("_by_key",)

    def __init__(self, statuses: Mapping[str, str]) -> None:
        self._by_key = {key.strip().casefold(): value for key, value in statuses.items()}

    def status(self, name: str) -> str:
        raw = self._by_key.get(name.strip().casefold())
        if raw is None or not raw.strip():
            return "not attempted"
        status = normalize_status(raw)
        if status is None:
            raise ValueError(f"status of {name!r} is {raw!r}, not a status value")
        return status

    def done(self, name: str) -> bool:
        return self.status(name) in DONE_STATUSES


@dataclass(frozen=True, slots=True)
class Ref(Expr):
    """A bare element ID: true when the element is passed or completed."""

    name: str

    def __post_init__(self) -> None:
        _check_ident(self.name)

    def __str__(self) -> str:
        return self.name

    def _eval(self, lookup: _StatusLookup) -> bool:
        return lookup.done(self.name)

    def _collect(self, found: set[str]) -> None:
        found.add(self.name)


@dataclass(frozen=True, slots=True)
class Comparison(Expr):
    """``name=status`` or ``name<>status``; ``status`` is a canonical status word."""

    name: str
    op: Literal["=", "<>"]
    status: str

    def __post_init__(self) -> None:
        _check_ident(self.name)
        if self.op not in ("=", "<>"):
            raise ValueError(f"comparison operator must be '=' or '<>', not {self.op!r}")
        if self.status not in STATUSES.values():
            raise ValueError(f"{self.status!r} is not a canonical status word")

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.status}"

    def _eval(self, lookup: _StatusLookup) -> bool:
        equal = lookup.status(self.name) == self.status
        return equal if self.op == "=" else not equal

    def _collect(self, found: set[str]) -> None:
        found.add(self.name)


@dataclass(frozen=True, slots=True)
class SetExpr(Expr):
    """``count*{a,b,...}``: true when at least ``count`` of the members are done.

    The parser accepts any count; whether it is between 1 and the set size is a
    validation rule, not a syntax rule.
    """

    count: int
    members: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("set count must not be negative")
        if not self.members:
            raise ValueError("a set needs at least one member")
        for member in self.members:
            _check_ident(member)

    def __str__(self) -> str:
        return f"{self.count}*{{{','.join(self.members)}}}"

    def _eval(self, lookup: _StatusLookup) -> bool:
        return sum(1 for member in self.members if lookup.done(member)) >= self.count

    def _collect(self, found: set[str]) -> None:
        found.update(self.members)


@dataclass(frozen=True, slots=True)
class Not(Expr):
    """``~operand``."""

    operand: Expr

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"~({inner})" if isinstance(self.operand, And | Or) else f"~{inner}"

    def _eval(self, lookup: _StatusLookup) -> bool:
        return not self.operand._eval(lookup)

    def _collect(self, found: set[str]) -> None:
        self.operand._collect(found)


@dataclass(frozen=True, slots=True)
class And(Expr):
    """``a & b & ...`` (two or more operands, in order)."""

    operands: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if len(self.operands) < 2:
            raise ValueError("And needs at least two operands")

    def __str__(self) -> str:
        return " & ".join(_grouped(o) for o in self.operands)

    def _eval(self, lookup: _StatusLookup) -> bool:
        return all(o._eval(lookup) for o in self.operands)

    def _collect(self, found: set[str]) -> None:
        for operand in self.operands:
            operand._collect(found)


@dataclass(frozen=True, slots=True)
class Or(Expr):
    """``a | b | ...`` (two or more operands, in order)."""

    operands: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if len(self.operands) < 2:
            raise ValueError("Or needs at least two operands")

    def __str__(self) -> str:
        return " | ".join(_grouped(o) for o in self.operands)

    def _eval(self, lookup: _StatusLookup) -> bool:
        return any(o._eval(lookup) for o in self.operands)

    def _collect(self, found: set[str]) -> None:
        for operand in self.operands:
            operand._collect(found)


def _grouped(operand: Expr) -> str:
    # Nested &/| groups are always parenthesised: that keeps the canonical text exact
    # under either precedence reading, and never triggers the mixed-operator warning.
    return f"({operand})" if isinstance(operand, And | Or) else str(operand)


def _check_ident(name: str) -> None:
    if not name or any(c.isspace() or c in OPERATOR_CHARS or not c.isprintable() for c in name):
        raise ValueError(f"{name!r} is not a valid identifier in a logic expression")


# --------------------------------------------------------------------------- tokenizer

TokenKind = Literal["ident", "quoted", "op", "end"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "<":
            if text.startswith("<>", i):
                tokens.append(_Token("op", "<>", i))
                i += 2
            else:
                raise LogicSyntaxError("'<' must be part of '<>'", i)
        elif c in "&|~(){},*=":
            tokens.append(_Token("op", c, i))
            i += 1
        elif c in "\"'":
            end = text.find(c, i + 1)
            if end < 0:
                raise LogicSyntaxError(f"unterminated quoted text starting with {c}", i)
            tokens.append(_Token("quoted", text[i + 1 : end], i))
            i = end + 1
        elif c in OPERATOR_CHARS:
            hint = " (use & for AND)" if c == ";" else ""
            if text.endswith("&amp", 0, i):
                hint = " ('&amp;' is an XML escape: write '&')"
            raise LogicSyntaxError(f"unexpected character {c!r}{hint}", i)
        elif not c.isprintable():
            raise LogicSyntaxError(f"control character {c!r} in expression", i)
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in OPERATOR_CHARS:
                if not text[i].isprintable():
                    break
                i += 1
            tokens.append(_Token("ident", text[start:i], start))
    tokens.append(_Token("end", "", n))
    return tokens


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        #: Position of the first '|' whose operands include an unparenthesised '&' group.
        self.mixed_at: int | None = None

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_op(self, op: str) -> bool:
        token = self.current
        return token.kind == "op" and token.text == op

    def expect_op(self, op: str, what: str) -> _Token:
        if not self.at_op(op):
            raise LogicSyntaxError(f"expected {what}, found {_describe(self.current)}", self.pos)
        return self.advance()

    @property
    def pos(self) -> int:
        return self.current.pos

    def at_end(self) -> bool:
        return self.current.kind == "end"

    def parse(self) -> Expr:
        if self.at_end():
            raise LogicSyntaxError("empty expression", 0)
        expr = self.or_expr()
        if not self.at_end():
            token = self.current
            if token.kind == "op" and token.text == ")":
                raise LogicSyntaxError("unbalanced ')'", token.pos)
            raise LogicSyntaxError(
                f"expected '&', '|' or end of expression, found {_describe(token)}"
                + _keyword_hint(token),
                token.pos,
            )
        return expr

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LogicSyntaxError(f"expression nested deeper than {MAX_DEPTH} levels", self.pos)

    def or_expr(self) -> Expr:
        operands = [self.and_expr()]
        while self.at_op("|"):
            bar = self.advance()
            operands.append(self.and_expr())
            if self.mixed_at is None and any(isinstance(o, _AndGroup) for o in operands):
                self.mixed_at = bar.pos
        if len(operands) == 1:
            return operands[0]
        return Or(tuple(operands))

    def and_expr(self) -> Expr:
        operands = [self.unary()]
        while self.at_op("&"):
            self.advance()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else _AndGroup(tuple(operands))

    def unary(self) -> Expr:
        if self.at_op("~"):
            self.advance()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return Not(_plain(operand))
        return self.primary()

    def primary(self) -> Expr:
        token = self.current
        if token.kind == "op" and token.text == "(":
            self.advance()
            self.enter()
            inner = _plain(self.or_expr())
            self.depth -= 1
            if not self.at_op(")"):
                if self.current.kind == "end":
                    raise LogicSyntaxError("'(' is never closed", token.pos)
                raise LogicSyntaxError(
                    f"expected ')', found {_describe(self.current)}" + _keyword_hint(self.current),
                    self.pos,
                )
            self.advance()
            return inner
        if token.kind == "ident":
            self.advance()
            if self.at_op("*"):
                return self.set_expr(token)
            if self.at_op("=") or self.at_op("<>"):
                op_token = self.advance()
                return self.comparison(token, op_token)
            return Ref(token.text)
        if token.kind == "end":
            raise LogicSyntaxError("unexpected end of expression", token.pos)
        if token.kind == "quoted":
            raise LogicSyntaxError(
                "quoted text is only allowed as a status after = or <>", token.pos
            )
        raise LogicSyntaxError(f"expected an identifier, found {_describe(token)}", token.pos)

    def set_expr(self, count_token: _Token) -> Expr:
        # isdigit() alone accepts characters such as '²' that int() refuses.
        if not (count_token.text.isascii() and count_token.text.isdigit()):
            raise LogicSyntaxError(
                f"set count must be a number, not {count_token.text!r}", count_token.pos
            )
        self.advance()  # '*'
        self.expect_op("{", "'{' after 'n*'")
        members: list[str] = []
        while True:
            token = self.current
            if token.kind != "ident":
                raise LogicSyntaxError(
                    f"expected an identifier in the set, found {_describe(token)}", token.pos
                )
            members.append(token.text)
            self.advance()
            if self.at_op(","):
                self.advance()
                continue
            if self.at_op("}"):
                self.advance()
                break
            if self.current.kind == "end":
                raise LogicSyntaxError("'{' is never closed", count_token.pos)
            raise LogicSyntaxError(
                f"expected ',' or '}}' in the set, found {_describe(self.current)}", self.pos
            )
        return SetExpr(int(count_token.text), tuple(members))

    def comparison(self, name: _Token, op_token: _Token) -> Expr:
        token = self.current
        if token.kind == "quoted":
            self.advance()
            word = token.text
        elif token.kind == "ident":
            self.advance()
            word = token.text
            nxt = self.current
            if (
                word.casefold() == "not"
                and nxt.kind == "ident"
                and nxt.text.casefold() == ("attempted")
            ):
                self.advance()
                word = "not attempted"
        else:
            raise LogicSyntaxError(
                f"expected a status after {op_token.text!r}, found {_describe(token)}", token.pos
            )
        status = normalize_status(word)
        if status is None:
            raise LogicStatusError(
                f"{word!r} is not a status (passed, completed, failed, incomplete, browsed, "
                "not attempted, or P/C/F/I/B/N)",
                token.pos,
            )
        op: Literal["=", "<>"] = "=" if op_token.text == "=" else "<>"
        return Comparison(name.text, op, status)


@dataclass(frozen=True, slots=True)
class _AndGroup(And):
    """An ``&`` group produced without parentheses (only used while parsing)."""


def _plain(expr: Expr) -> Expr:
    """Turn parse-time ``_AndGroup`` nodes into plain ``And`` (recursively at the top)."""
    if isinstance(expr, _AndGroup):
        return And(expr.operands)
    if isinstance(expr, Or):
        return Or(tuple(_plain(o) for o in expr.operands))
    return expr


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "end of expression"
    if token.kind == "quoted":
        return f"quoted text {token.text!r}"
    return repr(token.text)


def _keyword_hint(token: _Token) -> str:
    if token.kind == "ident" and token.text.casefold() in ("and", "or", "not"):
        return "; use &, | and ~ instead of AND, OR and NOT"
    return ""


def parse(text: str) -> Expr:
    """Parse a PRE/CMP logic expression.

    Args:
        text: The expression, e.g. ``"A1 & (A2 | ~A3)"`` or ``"2*{A1,A2,A3}"``.

    Returns:
        The immutable AST.

    Raises:
        LogicSyntaxError: The text does not parse; ``position`` is the 0-based offset.
        LogicStatusError: A comparison names a word that is not a status value.
    """
    parser = _Parser(text)
    return _plain(parser.parse())


def find_mixed_and_or(text: str) -> int | None:
    """Return the position of a ``|`` mixed with an unparenthesised ``&`` group, if any.

    ``A & B | C`` mixes the operators without parentheses; the sources disagree on
    whether ``&`` binds tighter, so the validator warns about it.

    Raises:
        LogicSyntaxError: The text does not parse.
    """
    parser = _Parser(text)
    parser.parse()
    return parser.mixed_at


__all__ = [
    "DONE_STATUSES",
    "STATUSES",
    "And",
    "Comparison",
    "Expr",
    "Not",
    "Or",
    "Ref",
    "SetExpr",
    "find_mixed_and_or",
    "normalize_status",
    "parse",
]
