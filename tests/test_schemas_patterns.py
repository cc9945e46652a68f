"""Every pattern of the contract means the same in Python ``re``, ``jsonschema``,
``jsonschema-rs`` and a real ECMA-262 engine (``regress``, the Rust engine of ECMA-262
regular expressions): the same strings, fed to each, get the same answer.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
import regress
import yaml
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

import schemas


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def _all_patterns() -> list[str]:
    found: set[str] = set()
    for name in schemas.schema_names():
        found |= set(_patterns(schemas.load(name)))
    text = resources.files("schemas").joinpath("openapi.yaml").read_text("utf-8")
    found |= set(_patterns(yaml.safe_load(text)))
    return sorted(found)


PATTERNS = _all_patterns()
#: Characters where the engines' ideas of "end" and "white space" differ.
EDGES = ["\n", "\r", "\r\n", "\n\n", " ", "\t", "\x0b", "\x1c", "\x1f", "\x85", "\xa0"]
EDGES += ["\u2028", "\u2029", "\ufeff", "\u3000", ""]


@functools.cache
def _engines(pattern: str) -> tuple[Any, Any, Any]:
    schema = {"type": "string", "pattern": pattern}
    return (
        jsonschema.Draft202012Validator(schema),
        jsonschema_rs.validator_for(schema),
        regress.Regex(pattern, "u"),
    )


def _answers(pattern: str, value: str) -> dict[str, bool]:
    python_schema, rust_schema, ecma = _engines(pattern)
    return {
        "re": re.search(pattern, value) is not None,
        "jsonschema": python_schema.is_valid(value),
        "jsonschema-rs": rust_schema.is_valid(value),
        "ecma-262 (regress)": ecma.find(value) is not None,
    }


def _near_misses(pattern: str) -> st.SearchStrategy[str]:
    """Strings the pattern accepts in Python, with an edge character added around them."""
    valid = st.from_regex(pattern)
    edge = st.sampled_from(EDGES)
    return st.one_of(
        valid,
        st.tuples(valid, edge).map("".join),
        st.tuples(edge, valid).map("".join),
        st.lists(st.sampled_from([*"aZ09-_:.Tz/", *EDGES]), max_size=12).map("".join),
    )


def test_the_contract_has_patterns() -> None:
    assert schemas.ID_PATTERN in PATTERNS
    assert len(PATTERNS) >= 8


@pytest.mark.parametrize("pattern", PATTERNS)
@given(data=st.data())
def test_every_engine_agrees_on_every_pattern(pattern: str, data: st.DataObject) -> None:
    value = data.draw(_near_misses(pattern), label="value")
    answers = _answers(pattern, value)
    assert len(set(answers.values())) == 1, (pattern, value, answers)


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        (schemas.ID_PATTERN, "CRS-1\n"),
        (schemas.UTC_PATTERN, "2026-11-26T10:00:00Z\n"),
        (schemas.CULTURE_PATTERN, "en-US\n"),
        (schemas.DURATION_PATTERN, "00:45:00\n"),
    ],
)
def test_a_final_newline_is_refused_everywhere(pattern: str, value: str) -> None:
    assert _answers(pattern, value) == dict.fromkeys(_answers(pattern, "x"), False)
    assert _answers(pattern, value.rstrip("\n")) == dict.fromkeys(_answers(pattern, "x"), True)


VALID_COURSE = json.loads(
    sorted((resources.files("schemas") / "examples" / "course" / "valid").iterdir(), key=str)[
        0
    ].read_text("utf-8")
)


@example("CRS-1\n")
@example("0\n")
@given(st.from_regex(schemas.ID_PATTERN).map(lambda s: s + "\n"))
def test_course_validator_refuses_an_id_with_a_final_newline(course_id: str) -> None:
    assert schemas.validator("course").is_valid(VALID_COURSE)
    assert not schemas.validator("course").is_valid(VALID_COURSE | {"ID": course_id})
    assert schemas.ID_RE.search(course_id) is None
