"""The XLSForm expressions a flow understands: skip logic (``relevant``) and numeric
constraints, parsed once into a small tree, evaluated on the answers, printed back.

The subset::

    ${q} = 'x'     ${q} != 'x'     ${q} >= 18     . <= 120     . > 0
    selected(${q}, 'x')     count-selected(${q})     string-length(.)
    e and e     e or e     not(e)     ( e )     true()     false()

Values follow ODK: a choice answer is its option id, a multi-select the option ids
separated by spaces, a typed answer its text; an unanswered question, "prefer not to
answer", "don't know" and a skipped question are the empty string. ``=``/``!=`` compare
numbers when both sides are numbers, else text; ``<``, ``<=``, ``>``, ``>=`` compare
numbers and are false when a side is not a number (as ODK's NaN).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

Comparator = Literal["=", "!=", "<", "<=", ">", ">="]


class ExpressionError(ValueError):
    """An expression outside the subset, with the position (0-based) where it goes wrong."""

    def __init__(self, message: str, position: int) -> None:
        self.position = position
        super().__init__(message)


# --- the tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """``${name}``: another question's answer."""

    name: str


@dataclass(frozen=True)
class Self:
    """``.``: the answer being checked (constraints)."""


@dataclass(frozen=True)
class Literal_:
    value: str | Decimal


@dataclass(frozen=True)
class Call:
    """``count-selected(x)`` or ``string-length(x)``."""

    function: Literal["count-selected", "string-length"]
    argument: Ref | Self


@dataclass(frozen=True)
class Selected:
    """``selected(x, 'option')``."""

    argument: Ref | Self
    option: str


@dataclass(frozen=True)
class Compare:
    left: Operand
    op: Comparator
    right: Operand


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class BoolOp:
    op: Literal["and", "or"]
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Constant:
    value: bool


Operand = Ref | Self | Literal_ | Call
Expr = Compare | Selected | Not | BoolOp | Constant


# --- parsing --------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<ref>\$\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)\s*\})
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>!=|<=|>=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z][A-Za-z0-9_\-]*(?=\s*\()|and\b|or\b|div\b|mod\b)
    | (?P<dot>\.(?![\d.]))
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokens(source: str) -> list[_Token]:
    out: list[_Token] = []
    position = 0
    while position < len(source):
        if source[position:].strip() == "":
            break
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            start = len(source) - len(source[position:].lstrip())
            raise ExpressionError(f"unexpected '{source[start : start + 12]}'", start)
        kind = match.lastgroup or ""
        if kind == "name":
            kind = "ref"
        start = match.start(kind)
        text = match.group("name") if kind == "ref" else match.group(kind)
        out.append(_Token(kind, text, start))
        position = match.end()
    out.append(_Token("end", "", len(source)))
    return out


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokens(source)
        self.i = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def take(self, kind: str, text: str | None = None) -> _Token:
        token = self.token
        if token.kind != kind or (text is not None and token.text != text):
            wanted = f"'{text}'" if text else kind
            found = f"'{token.text}'" if token.text else "the end"
            raise ExpressionError(f"expected {wanted}, found {found}", token.position)
        self.i += 1
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        return self.token.kind == kind and (text is None or self.token.text == text)

    def parse(self) -> Expr:
        expr = self.disjunction()
        self.take("end")
        return expr

    def disjunction(self) -> Expr:
        parts = [self.conjunction()]
        while self.at("word", "or"):
            self.i += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def conjunction(self) -> Expr:
        parts = [self.condition()]
        while self.at("word", "and"):
            self.i += 1
            parts.append(self.condition())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def condition(self) -> Expr:
        token = self.token
        if token.kind == "punct" and token.text == "(":
            self.i += 1
            inner = self.disjunction()
            self.take("punct", ")")
            return inner
        if token.kind == "word" and token.text in ("not", "selected", "true", "false"):
            self.i += 1
            self.take("punct", "(")
            if token.text in ("true", "false"):
                self.take("punct", ")")
                return Constant(token.text == "true")
            if token.text == "not":
                inner = self.disjunction()
                self.take("punct", ")")
                return Not(inner)
            argument = self.reference()
            self.take("punct", ",")
            option = self.take("string").text[1:-1]
            self.take("punct", ")")
            return Selected(argument, option)
        left = self.operand()
        if not self.at("op"):
            found = f"'{self.token.text}'" if self.token.text else "the end"
            raise ExpressionError(
                f"expected a comparison (=, !=, <, <=, >, >=), found {found}", self.token.position
            )
        op = self.take("op").text
        right = self.operand()
        return Compare(left, op, right)  # type: ignore[arg-type]

    def reference(self) -> Ref | Self:
        if self.at("ref"):
            return Ref(self.take("ref").text)
        if self.at("dot"):
            self.i += 1
            return Self()
        raise ExpressionError("expected ${question} or '.'", self.token.position)

    def operand(self) -> Operand:
        token = self.token
        if token.kind in ("ref", "dot"):
            return self.reference()
        if token.kind == "string":
            self.i += 1
            return Literal_(token.text[1:-1])
        if token.kind == "number":
            self.i += 1
            return Literal_(Decimal(token.text))
        if token.kind == "word" and token.text in ("count-selected", "string-length"):
            self.i += 1
            self.take("punct", "(")
            argument = self.reference()
            self.take("punct", ")")
            return Call(token.text, argument)  # type: ignore[arg-type]
        if token.kind == "word":
            raise ExpressionError(f"the function '{token.text}()' is not supported", token.position)
        found = f"'{token.text}'" if token.text else "the end"
        raise ExpressionError(f"expected a value, found {found}", token.position)


@lru_cache(maxsize=4096)
def parse(source: str) -> Expr:
    """The tree of an expression; :class:`ExpressionError` when outside the subset."""
    if not source.strip():
        raise ExpressionError("the expression is empty", 0)
    return _Parser(source).parse()


# --- reading the tree -----------------------------------------------------------------


def references(expr: Expr | Operand) -> list[Ref]:
    """The ``${...}`` references, in order."""
    match expr:
        case Ref():
            return [expr]
        case Call(argument=argument) | Selected(argument=argument):
            return references(argument)
        case Compare(left=left, right=right):
            return references(left) + references(right)
        case Not(operand=operand):
            return references(operand)
        case BoolOp(operands=operands):
            return [r for o in operands for r in references(o)]
    return []


def uses_self(expr: Expr | Operand) -> bool:
    match expr:
        case Self():
            return True
        case Call(argument=argument) | Selected(argument=argument):
            return uses_self(argument)
        case Compare(left=left, right=right):
            return uses_self(left) or uses_self(right)
        case Not(operand=operand):
            return uses_self(operand)
        case BoolOp(operands=operands):
            return any(uses_self(o) for o in operands)
    return False


def compared_options(expr: Expr) -> list[tuple[str, str]]:
    """(question, option) pairs the expression compares a question's answer with."""
    match expr:
        case Selected(argument=Ref(name=name), option=option):
            return [(name, option)]
        case Compare(left=Ref(name=name), op="=" | "!=", right=Literal_(value=str() as value)):
            return [(name, value)] if value else []
        case Compare(left=Literal_(value=str() as value), op="=" | "!=", right=Ref(name=name)):
            return [(name, value)] if value else []
        case Not(operand=operand):
            return compared_options(operand)
        case BoolOp(operands=operands):
            return [pair for o in operands for pair in compared_options(o)]
    return []


# --- evaluation -----------------------------------------------------------------------


def _number(value: str | Decimal) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _value(operand: Operand, values: dict[str, str], this: str) -> str | Decimal:
    match operand:
        case Ref(name=name):
            return values.get(name, "")
        case Self():
            return this
        case Literal_(value=value):
            return value
        case Call(function="count-selected", argument=argument):
            return Decimal(len(str(_value(argument, values, this)).split()))
        case Call(function="string-length", argument=argument):
            return Decimal(len(str(_value(argument, values, this))))
    raise AssertionError(operand)


def evaluate(expr: Expr, values: dict[str, str], this: str = "") -> bool:
    """The expression's truth, given each question's value (see the module doc) and, for
    ``.``, the answer being checked."""
    match expr:
        case Constant(value=value):
            return value
        case Not(operand=operand):
            return not evaluate(operand, values, this)
        case BoolOp(op="and", operands=operands):
            return all(evaluate(o, values, this) for o in operands)
        case BoolOp(operands=operands):
            return any(evaluate(o, values, this) for o in operands)
        case Selected(argument=argument, option=option):
            return option in str(_value(argument, values, this)).split()
        case Compare(left=left, op=op, right=right):
            a, b = _value(left, values, this), _value(right, values, this)
            x, y = _number(a), _number(b)
            if op in ("=", "!="):
                both_numbers = (
                    x is not None
                    and y is not None
                    and (isinstance(a, Decimal) or isinstance(b, Decimal))
                )
                equal = x == y if both_numbers else str(a) == str(b)
                return equal if op == "=" else not equal
            if x is None or y is None:
                return False
            return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
    raise AssertionError(expr)


# --- printing -------------------------------------------------------------------------


def _operand_text(operand: Operand) -> str:
    match operand:
        case Ref(name=name):
            return f"${{{name}}}"
        case Self():
            return "."
        case Literal_(value=Decimal() as number):
            return str(number)
        case Literal_(value=text):
            return f"'{text}'"
        case Call(function=function, argument=argument):
            return f"{function}({_operand_text(argument)})"
    raise AssertionError(operand)


def to_text(expr: Expr, *, nested: bool = False) -> str:
    """The expression in its canonical spelling (parses back to the same tree)."""
    match expr:
        case Constant(value=value):
            return "true()" if value else "false()"
        case Not(operand=operand):
            return f"not({to_text(operand)})"
        case Selected(argument=argument, option=option):
            return f"selected({_operand_text(argument)}, '{option}')"
        case Compare(left=left, op=op, right=right):
            return f"{_operand_text(left)} {op} {_operand_text(right)}"
        case BoolOp(op=op, operands=operands):
            text = f" {op} ".join(to_text(o, nested=True) for o in operands)
            return f"({text})" if nested else text
    raise AssertionError(expr)
