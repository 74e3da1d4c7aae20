"""The XLSForm expression subset: parsing (with the position of what is refused),
evaluation with ODK's semantics, and the canonical spelling that parses back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows import expressions as ex


@pytest.mark.parametrize(
    ("source", "values", "this", "expected"),
    [
        ("${a} = 'yes'", {"a": "yes"}, "", True),
        ("${a} != 'yes'", {}, "", True),  # unanswered is ''
        ("${age} >= 18", {"age": "18"}, "", True),
        ("${age} >= 18", {"age": ""}, "", False),  # not a number: ordering is false
        ("${age} < 18", {"age": ""}, "", False),
        ("${n} = 3", {"n": "3.0"}, "", True),  # numbers compare as numbers
        ("${t} = '3'", {"t": "3.0"}, "", False),  # text compares as text
        ("selected(${m}, 'b')", {"m": "a b c"}, "", True),
        ("selected(${m}, 'd')", {"m": "a b c"}, "", False),
        ("count-selected(${m}) >= 2", {"m": "a c"}, "", True),
        ("string-length(.) <= 3", {}, "abcd", False),
        (". >= 0 and . <= 120", {}, "120", True),
        (". >= 0 and . <= 120", {}, "-1", False),
        ("not(${a} = 'x' or ${b} = 'y')", {"b": "y"}, "", False),
        ("true() and not(false())", {}, "", True),
        ('${a} = "double"', {"a": "double"}, "", True),
    ],
)
def test_evaluation(source: str, values: dict[str, str], this: str, expected: bool) -> None:
    assert ex.evaluate(ex.parse(source), values, this) is expected


@pytest.mark.parametrize(
    ("source", "message", "position"),
    [
        ("${a} + 1 > 2", "unexpected '+ 1 > 2'", 5),
        ("today() > ${d}", "the function 'today()' is not supported", 0),
        ("${a} = ", "", 7),
        ("selected(${a})", "", 13),
        ("(${a} = 1", "", 9),
        ("${a b} = 1", "", 0),
    ],
)
def test_refusals_say_where(source: str, message: str, position: int) -> None:
    with pytest.raises(ex.ExpressionError) as refused:
        ex.parse(source)
    assert message in str(refused.value)
    assert refused.value.position == position


def test_references_self_and_compared_options() -> None:
    expr = ex.parse("selected(${m}, 'cash') and ${a} = 'yes' and count-selected(.) > 1")
    assert [r.name for r in ex.references(expr)] == ["m", "a"]
    assert ex.uses_self(expr)
    assert ex.compared_options(expr) == [("m", "cash"), ("a", "yes")]


NAMES = st.sampled_from(["a", "age", "q_1", "x.y"])
OPERANDS: st.SearchStrategy[ex.Operand] = st.one_of(
    NAMES.map(ex.Ref),
    st.just(ex.Self()),
    st.integers(-1000, 1000).map(lambda n: ex.Literal_(Decimal(n))),
    st.sampled_from(["", "yes", "no_1"]).map(ex.Literal_),
    st.builds(
        ex.Call,
        st.sampled_from(["count-selected", "string-length"]),
        st.one_of(NAMES.map(ex.Ref), st.just(ex.Self())),
    ),
)
LEAVES: st.SearchStrategy[ex.Expr] = st.one_of(
    st.builds(ex.Compare, OPERANDS, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), OPERANDS),
    st.builds(ex.Selected, NAMES.map(ex.Ref), st.sampled_from(["a", "b_2"])),
    st.booleans().map(ex.Constant),
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        inner.map(ex.Not),
        st.builds(ex.BoolOp, st.sampled_from(["and", "or"]), st.tuples(inner, inner)),
    ),
    max_leaves=8,
)


@given(TREES)
def test_the_canonical_spelling_parses_back_to_the_same_meaning(expr: ex.Expr) -> None:
    text = ex.to_text(expr)
    again = ex.parse(text)
    assert ex.to_text(again) == text
    values = {"a": "1", "age": "b_2 a", "q_1": "", "x.y": "yes"}
    assert ex.evaluate(again, values, "7") == ex.evaluate(expr, values, "7")
