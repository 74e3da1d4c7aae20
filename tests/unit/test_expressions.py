"""ODK's expressions on the XPath engine: a table of expressions with the values ODK's
specification gives (type coercion, empty answers, NaN comparisons, dates, multi-selects,
the function library), the refusals (with where they are), and what the loader reads
from an expression (references, '.', compared options)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from flows import expressions as ex

#: a fixed clock for today() and now(): 2026-12-06 12:00 UTC, day 20793 since 1970
NOON = datetime(2026, 12, 6, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock() -> Any:
    token = ex.clock.set(lambda: NOON)
    labels = ex.choice_labels.set({"sex": {"f": "Female", "m": "Male"}})
    yield
    ex.clock.reset(token)
    ex.choice_labels.reset(labels)


TABLE: list[tuple[str, dict[str, Any], str, str]] = [
    # comparisons: numbers when a side is a number, text otherwise; NaN orders nothing
    ("${n} = 3", {"n": "3.0"}, "", "true"),
    ("${t} = '3'", {"t": "3.0"}, "", "false"),
    ("${age} >= 18", {"age": "18"}, "", "true"),
    ("${age} >= 18", {"age": ""}, "", "false"),
    ("${age} < 18", {"age": ""}, "", "false"),
    ("${age} != 18", {"age": ""}, "", "true"),
    ("${a} = ''", {}, "", "true"),  # unanswered is ''
    ("'abc' > 1", {}, "", "false"),
    ("true() = 'false'", {}, "", "true"),  # a non-empty string is true
    ("1 div 0", {}, "", "Infinity"),
    ("0 div 0", {}, "", "NaN"),
    ("number('')", {}, "", "NaN"),
    ("${a} + 2", {"a": "40"}, "", "42"),
    ("7 mod 3", {}, "", "1"),
    # multi-selects
    ("selected(${m}, 'b')", {"m": "a b c"}, "", "true"),
    ("selected(${m}, 'd')", {"m": "a b c"}, "", "false"),
    ("count-selected(${m})", {"m": "a c"}, "", "2"),
    ("count-selected(${m})", {}, "", "0"),
    ("selected-at(${m}, 1)", {"m": "a b c"}, "", "b"),
    ("selected-at(${m}, 5)", {"m": "a b c"}, "", ""),
    ("jr:choice-name(${s}, '${sex}')", {"s": "f"}, "", "Female"),
    # the answer being checked
    ("string-length(.) <= 3", {}, "abcd", "false"),
    (". >= 0 and . <= 120", {}, "120", "true"),
    (". >= 0 and . <= 120", {}, "-1", "false"),
    ("regex(., '^[0-9]{3}$')", {}, "123", "true"),
    ("regex(., '^[0-9]{3}$')", {}, "12a", "false"),
    # text and numbers
    ("if(${a} > 10, 'big', 'small')", {"a": "30"}, "", "big"),
    ("if(${a} > 10, 'big', 'small')", {"a": ""}, "", "small"),
    ("coalesce(${a}, 'none')", {}, "", "none"),
    ("coalesce(${a}, 'none')", {"a": "x"}, "", "x"),
    ("concat('a', 1, true())", {}, "", "a1true"),
    ("substr('hello', 1, 3)", {}, "", "el"),
    ("substr('hello', 2)", {}, "", "llo"),
    ("contains('kit late', 'late')", {}, "", "true"),
    ("starts-with('kit', 'ki')", {}, "", "true"),
    ("ends-with('kit', 'it')", {}, "", "true"),
    ("round(3.14159, 2)", {}, "", "3.14"),
    ("round(2.5)", {}, "", "3"),
    ("int(-3.7)", {}, "", "-3"),
    ("min(3, ${a}, 2)", {"a": "1"}, "", "1"),
    ("max(3, ${a}, 2)", {"a": ""}, "", "NaN"),
    ("sum(2, 3)", {}, "", "5"),
    ("boolean-from-string('true')", {}, "", "true"),
    ("once(${a})", {"a": "x"}, "", "x"),
    ("position()", {}, "", "1"),
    ("not(${a} = 'x' or ${b} = 'y')", {"b": "y"}, "", "false"),
    # dates: days since 1970, as ODK computes with them
    ("today()", {}, "", "20793"),
    ("format-date(today(), '%Y-%m-%d')", {}, "", "2026-12-06"),
    ("format-date(date('2026-03-05'), '%e/%n/%y')", {}, "", "5/3/26"),
    ("date('2026-01-01') < today()", {}, "", "true"),
    ("${born} < today() - 18 * 365", {"born": ex.days(datetime(1990, 1, 1).date())}, "", "true"),
    ("today() - date('2026-12-01')", {}, "", "5"),
    ("decimal-date-time('1970-01-02T00:00:00')", {}, "", "1"),
    ("now() - today()", {}, "", "0.5"),
]


@pytest.mark.parametrize(("text", "values", "this", "expected"), TABLE)
def test_values_as_odk_gives_them(
    text: str, values: dict[str, Any], this: str, expected: str
) -> None:
    assert ex.value(ex.parse(text), values, this) == expected


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("pulldata('households', 'size', 'id', ${id})", "needs data from a CSV file", 0),
        ("instance('districts')/root/item", "needs an external instance", 0),
        ("${a} > 2 and distance(${g}) > 3", "needs geo answers", 13),
        ("foo(${a})", "'foo()' is not a function ODK has", 0),
        ("${a} = ", "not a valid expression", 7),
        ("(${a} = 1", "not a valid expression", 9),
        ("${a b} = 1", "'${a b}' does not name a question", 0),
        ("selected(${a})", "wrong number of arguments", None),
        ("'pulldata(' = ${a}", "", None),  # (inside a string: not a call)
    ],
)
def test_refusals_say_what_and_where(text: str, message: str, position: int | None) -> None:
    if not message:
        ex.parse(text)
        return
    with pytest.raises(ex.ExpressionError) as refused:
        ex.parse(text)
    assert message in str(refused.value)
    assert refused.value.position == position


def test_references_self_and_compared_options() -> None:
    expr = ex.parse("selected(${m}, 'cash') and ${a} = 'yes' and count-selected(.) > 1")
    assert ex.references(expr) == ["m", "a"]
    assert ex.uses_self(expr)
    assert ex.compared_options(expr) == [("m", "cash"), ("a", "yes")]
    assert not ex.uses_self(ex.parse("${a.b} = '.' and 3.5 > ${c}"))
    assert ex.references(ex.parse("concat('${not}', ${yes})")) == ["yes"]


def test_a_compiled_expression_is_reused() -> None:
    assert ex.parse("${a} = 1") is ex.parse("${a} = 1")


def test_operators_before_a_parenthesis_are_not_calls() -> None:
    both = ex.parse("(${a} = 1) and (${b} = 2 or (${c} div (2) mod (3)) > 0)")
    assert ex.evaluate(both, {"a": "1", "b": "2"})


def test_a_conjunction_keeps_each_side_s_meaning() -> None:
    assert ex.conjunction("${a} = 1", "${b} = 2") == "${a} = 1 and ${b} = 2"
    both = ex.conjunction("${a} = 1 or ${b} = 2", "${c} = 'or'")
    assert both == "(${a} = 1 or ${b} = 2) and ${c} = 'or'"
    assert not ex.evaluate(ex.parse(both), {"a": "1", "c": "x"})
    assert ex.conjunction("(${a} or ${b})", "${color} = 1") == "(${a} or ${b}) and ${color} = 1"
