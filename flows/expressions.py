"""ODK's expression language, as forms use it in ``relevant`` and ``constraint``: XPath 1.0
evaluated by libxml2's XPath engine (through lxml), with ODK's function library
registered as extension functions (:data:`FUNCTIONS`, a few lines each).

An expression is compiled once (:func:`parse`): ``${name}`` becomes an XPath variable,
``.`` is the answer being checked. Values follow ODK: a choice answer is its option id, a
multi-select its option ids separated by spaces, a typed answer its text, a date the
number of days since 1970-01-01 (so dates compare and subtract as ODK's do); an
unanswered question, "prefer not to answer", "don't know" and a skipped question are
the empty string. XPath's own rules do the rest: ``=`` compares numbers when a side is a
number, else text; ``<``, ``>``... compare numbers and are false when a side is not one
(NaN), as in ODK.

Functions that need a device or data the form does not carry (``pulldata``, an external
``instance``, geo functions) are refused when the form is read, as is any function ODK
does not have, naming it and where it is.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from lxml import etree

#: the namespace of ODK's ``jr:`` functions
JR = "http://openrosa.org/javarosa"
EPOCH = date(1970, 1, 1)


class ExpressionError(ValueError):
    """An expression that cannot be used, and where (0-based; None where the engine
    does not say)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.position = position
        super().__init__(message)


# -- values ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A value as XPath's string(): a node-set's first node's text, a number without
    a needless '.0'."""
    if isinstance(value, list):
        return _text(value[0]) if value else ""
    if isinstance(value, etree._Element):
        return value.text or ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() else repr(value)
    return "" if value is None else str(value)


def _number(value: Any) -> float:
    """A value as XPath's number(): NaN where it is not one."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(_text(value).strip())
    except ValueError:
        return math.nan


def _truth(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return not math.isnan(value) and value != 0
    return bool(_text(value))


def days(day: date) -> float:
    """A date as ODK computes with it: days since 1970-01-01."""
    return float((day - EPOCH).days)


def _date_of(value: Any) -> date | None:
    """A date from days since 1970 or ``YYYY-MM-DD`` (or a date-time's day)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None if math.isnan(value) else EPOCH + timedelta(days=math.floor(value))
    text = _text(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        number = _number(text)
        return None if math.isnan(number) else EPOCH + timedelta(days=math.floor(number))


# -- ODK's function library -----------------------------------------------------------------

#: the choice labels of the survey being answered, in the respondent's language
#: (question -> option -> label), for ``jr:choice-name``
choice_labels: ContextVar[Mapping[str, Mapping[str, str]] | None] = ContextVar(
    "choice_labels", default=None
)
#: the clock ``today()`` and ``now()`` read (tests set it)
clock: ContextVar[Callable[[], datetime]] = ContextVar("clock", default=lambda: datetime.now(UTC))


def _selected(_c: Any, items: Any, option: Any) -> bool:
    return _text(option).strip() in _text(items).split()


def _count_selected(_c: Any, items: Any) -> float:
    return float(len(_text(items).split()))


def _selected_at(_c: Any, items: Any, index: Any) -> str:
    chosen, at = _text(items).split(), _number(index)
    return chosen[int(at)] if not math.isnan(at) and 0 <= int(at) < len(chosen) else ""


def _choice_name(_c: Any, value: Any, reference: Any) -> str:
    question = re.sub(r"^\$\{(.*)\}$", r"\1", _text(reference).strip()).split("/")[-1]
    return (choice_labels.get() or {}).get(question, {}).get(_text(value), "")


def _if(_c: Any, condition: Any, then: Any, otherwise: Any) -> Any:
    return then if _truth(condition) else otherwise


def _coalesce(_c: Any, first: Any, second: Any) -> Any:
    return first if _text(first) else second


def _substr(_c: Any, value: Any, start: Any, end: Any = None) -> str:
    text, begin = _text(value), _number(start)
    if math.isnan(begin):
        return ""
    stop = len(text) if end is None else _number(end)
    return text[max(0, int(begin)) : None if math.isnan(stop) else max(0, int(stop))]


def _regex(_c: Any, value: Any, pattern: Any) -> bool:
    try:
        return re.search(_text(pattern), _text(value)) is not None
    except re.error:
        return False


def _round(_c: Any, value: Any, places: Any = 0) -> float:
    number, digits = _number(value), _number(places)
    if math.isnan(number) or math.isinf(number) or math.isnan(digits):
        return number
    exponent = Decimal(1).scaleb(-int(digits))
    return float(Decimal(repr(number)).quantize(exponent, rounding=ROUND_HALF_UP))


def _int(_c: Any, value: Any) -> float:
    number = _number(value)
    return number if math.isnan(number) or math.isinf(number) else float(math.trunc(number))


def _values(args: tuple[Any, ...]) -> list[float]:
    found: list[float] = []
    for arg in args:
        if isinstance(arg, list):
            found += [_number(v) for v in arg]
        else:
            found.append(_number(arg))
    return found


def _sum(_c: Any, *args: Any) -> float:
    return float(sum(_values(args)))


def _min(_c: Any, *args: Any) -> float:
    numbers = _values(args)
    return math.nan if not numbers or any(map(math.isnan, numbers)) else min(numbers)


def _max(_c: Any, *args: Any) -> float:
    numbers = _values(args)
    return math.nan if not numbers or any(map(math.isnan, numbers)) else max(numbers)


def _today(_c: Any) -> float:
    return days(clock.get()().date())


def _now(_c: Any) -> float:
    moment = clock.get()()
    return (moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)).total_seconds() / 86400


def _date(_c: Any, value: Any) -> Any:
    day = _date_of(value)
    return math.nan if day is None else days(day)


def _decimal_date_time(_c: Any, value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = _text(value).strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return math.nan
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() / 86400


#: ODK's format-date directives -> strftime's
_DATE_FORMATS = {
    "%Y": "%Y", "%y": "%y", "%m": "%m", "%n": "{n}", "%d": "%d", "%e": "{e}",
    "%b": "%b", "%a": "%a", "%H": "%H", "%h": "{h}", "%M": "%M", "%S": "%S",
}  # fmt: skip


def _format_date(_c: Any, value: Any, pattern: Any) -> str:
    day = _date_of(value)
    if day is None:
        return ""
    out = []
    for part in re.split(r"(%[A-Za-z])", _text(pattern)):
        spelled = _DATE_FORMATS.get(part)
        if spelled is None:
            out.append(part)
        elif spelled.startswith("{"):
            out.append(str({"{n}": day.month, "{e}": day.day, "{h}": 0}[spelled]))
        else:
            out.append(day.strftime(spelled))
    return "".join(out)


def _position(context: Any, _node: Any = None) -> float:
    """A question's position among its repeat's instances (``position(..)``): 1 outside
    a repeat."""
    return float(context.context_node.get("position", "1"))


def _count(_c: Any, nodes: Any) -> float:
    """The instances of a repeat's question; a question outside a repeat is one."""
    return float(len(nodes)) if isinstance(nodes, list) else 1.0


def _indexed_repeat(_c: Any, nodes: Any, _repeat: Any, index: Any, *_deeper: Any) -> str:
    """``indexed-repeat(${age}, ${members}, 2)``: a repeat's question in one instance."""
    at = _number(index)
    if not isinstance(nodes, list) or math.isnan(at) or not 1 <= at <= len(nodes):
        return _text(nodes) if not isinstance(nodes, list) and at == 1 else ""
    return _text(nodes[int(at) - 1])


def _once(_c: Any, value: Any) -> Any:
    return value


def _ends_with(_c: Any, value: Any, end: Any) -> bool:
    return _text(value).endswith(_text(end))


def _boolean_from_string(_c: Any, value: Any) -> bool:
    return _text(value).strip() in ("true", "1")


def _random(_c: Any) -> float:
    return random.random()


def _uuid(_c: Any, length: Any = None) -> str:
    return uuid.uuid4().hex[: int(_number(length))] if length is not None else str(uuid.uuid4())


#: ODK's functions beyond XPath 1.0's (name -> implementation); ``jr:`` ones separately
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "selected": _selected,
    "count-selected": _count_selected,
    "selected-at": _selected_at,
    "if": _if,
    "coalesce": _coalesce,
    "substr": _substr,
    "regex": _regex,
    "round": _round,
    "int": _int,
    "sum": _sum,
    "min": _min,
    "max": _max,
    "today": _today,
    "now": _now,
    "date": _date,
    "date-time": _date,
    "decimal-date-time": _decimal_date_time,
    "decimal-date": _decimal_date_time,
    "format-date": _format_date,
    "format-date-time": _format_date,
    "once": _once,
    "count": _count,
    "indexed-repeat": _indexed_repeat,
    "position": _position,
    "ends-with": _ends_with,
    "boolean-from-string": _boolean_from_string,
    "random": _random,
    "uuid": _uuid,
}
JR_FUNCTIONS: dict[str, Callable[..., Any]] = {"choice-name": _choice_name}
#: XPath 1.0's own functions (libxml2 has them)
XPATH_FUNCTIONS = frozenset(
    {
        "last", "position", "count", "id", "local-name", "namespace-uri", "name", "string",
        "concat", "starts-with", "contains", "substring-before", "substring-after",
        "substring", "string-length", "normalize-space", "translate", "boolean", "not",
        "true", "false", "lang", "number", "floor", "ceiling",
    }
)  # fmt: skip
#: XPath 1.0 functions ODK gives more to (round to places, sum of several values): the
#: engine calls ODK's under another name
_OVERRIDDEN = re.compile(r"(?<![\w.\-:$])(round|sum|position|count)(\s*\()")
#: functions that need a device or data a chat survey does not have
NEEDS_A_DEVICE = {
    "pulldata": "data from a CSV file attached to the form",
    "instance": "an external instance (a list or file attached to the form)",
    "area": "geo answers",
    "distance": "geo answers",
    "geofence": "geo answers",
    "digest": "a device's cryptography",
    "randomize": "a list of nodes to shuffle",
    "property": "a device's properties",
    "version": "a device's form version",
}
_EXTENSIONS: dict[tuple[str | None, str], Callable[..., Any]] = {
    (None, name): function for name, function in FUNCTIONS.items()
}
_EXTENSIONS.update(
    {(None, f"odk-{name}"): FUNCTIONS[name] for name in ("round", "sum", "position", "count")}
)
_EXTENSIONS.update({(JR, name): function for name, function in JR_FUNCTIONS.items()})


# -- compiling ---------------------------------------------------------------------------

#: what is not code: quoted strings and ${references}
_LITERALS = re.compile(r"'[^']*'|\"[^\"]*\"|\$\{[^}]*\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_CALL = re.compile(r"(?<![\w.\-:$])([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)\s*\(")
#: functions whose value changes with nothing else changing
_VOLATILE = frozenset({"today", "now", "random", "uuid"})
#: XPath's operators that are words: "and (" is not a call
_OPERATORS = frozenset({"and", "or", "div", "mod"})
_SELF = re.compile(r"(?<![\w.\])}])\.(?![\w.])")


@dataclass(frozen=True)
class NodeSet:
    """The answers of a question of a repeat, one per instance, as an expression outside
    that repeat reads them (``count(${age})``, ``sum(${age})``)."""

    values: tuple[str | float, ...]

    def nodes(self) -> list[Any]:
        made = []
        for found in self.values:
            node = etree.Element("v")
            node.text = _text(found)
            made.append(node)
        return made


@dataclass(frozen=True, eq=False)  # (one object per text: parse() remembers them)
class Expression:
    """A compiled expression: as written, its XPath, the questions it refers to (in
    order of first use) and whether it uses ``.``."""

    text: str
    xpath: str
    names: tuple[str, ...]
    uses_self: bool
    compiled: etree.XPath = field(repr=False, compare=False)
    #: whether its value may change with nothing else changing (today(), random()...)
    volatile: bool = False

    def variables(self, values: Mapping[str, Any]) -> dict[str, Any]:
        given = {f"v{i}": values.get(name, "") for i, name in enumerate(self.names)}
        return {k: v.nodes() if isinstance(v, NodeSet) else v for k, v in given.items()}


def _blanked(text: str) -> str:
    """``text`` with quoted strings and ${references} blanked (same length)."""
    return _LITERALS.sub(lambda m: " " * len(m.group(0)), text)


@lru_cache(maxsize=4096)
def parse(text: str) -> Expression:
    """Compile ``text``; :class:`ExpressionError` says what cannot be used and where."""
    names: list[str] = []
    xpath, offsets, last = [], [], 0  # offsets: xpath index -> text index

    def code_between(start: int, end: int) -> None:
        at = start
        for call in _OVERRIDDEN.finditer(text, start, end):
            xpath.append(text[at : call.start()] + "odk-")
            offsets.extend([*range(at, call.start()), *[call.start()] * 4])
            at = call.start()
        xpath.append(text[at:end])
        offsets.extend(range(at, end))

    for match in _LITERALS.finditer(text):
        code_between(last, match.start())
        token = match.group(0)
        if token.startswith("${"):
            name = token[2:-1].strip()
            if not _NAME.match(name):
                raise ExpressionError(f"'{token}' does not name a question", match.start())
            if name not in names:
                names.append(name)
            token = f"$v{names.index(name)}"
        xpath.append(token)
        offsets += [match.start()] * len(token)
        last = match.end()
    code_between(last, len(text))
    offsets.append(len(text))
    code = "".join(xpath)
    blank = _blanked(text)
    for call in _CALL.finditer(blank):
        function = call.group(1)
        if function in _OPERATORS:
            continue
        local = function.removeprefix("jr:")
        if function in NEEDS_A_DEVICE or local in NEEDS_A_DEVICE:
            needs = NEEDS_A_DEVICE.get(function) or NEEDS_A_DEVICE[local]
            raise ExpressionError(
                f"the function '{function}()' needs {needs}, which a chat survey does not have",
                call.start(),
            )
        known = (
            local in JR_FUNCTIONS
            if function.startswith("jr:")
            else function in FUNCTIONS or function in XPATH_FUNCTIONS
        )
        if not known:
            raise ExpressionError(f"'{function}()' is not a function ODK has", call.start())
    try:
        compiled = etree.XPath(code, namespaces={"jr": JR}, extensions=_EXTENSIONS)
    except etree.XPathSyntaxError as exc:
        column = exc.error_log[-1].column if len(exc.error_log) else None
        at = offsets[min(column, len(offsets) - 1)] if column is not None else None
        raise ExpressionError("not a valid expression", at) from exc
    volatile = any(call.group(1) in _VOLATILE for call in _CALL.finditer(blank))
    expression = Expression(text, code, tuple(names), bool(_SELF.search(blank)), compiled, volatile)
    try:  # (a function given the wrong number of arguments says so only when it runs)
        _run(expression, {}, "")
    except ExpressionError as exc:
        raise ExpressionError(str(exc), None) from exc
    return expression


def _run(
    expression: Expression,
    values: Mapping[str, Any],
    this: Any,
    item: Mapping[str, str] | None = None,
    position: int = 1,
) -> Any:
    node = etree.Element("value")
    node.text = _text(this)
    if position != 1:
        node.set("position", str(position))
    for name, text in (item or {}).items():
        etree.SubElement(node, name).text = text
    try:
        return expression.compiled(node, **expression.variables(values))
    except TypeError as exc:
        raise ExpressionError("a function is given the wrong number of arguments") from exc
    except etree.XPathEvalError as exc:
        if "number of arguments" in str(exc):
            raise ExpressionError("a function is given the wrong number of arguments") from exc
        raise ExpressionError(f"cannot be worked out: {exc}") from exc
    except (ValueError, OverflowError) as exc:
        raise ExpressionError(f"cannot be worked out: {exc}") from exc


# -- using them --------------------------------------------------------------------------


def evaluate(expression: Expression, values: Mapping[str, Any], this: Any = "") -> bool:
    """``expression`` as a condition (``relevant``, ``constraint``), given the answers
    (question -> value, a :class:`NodeSet` for a repeat's question read from outside
    it) and the answer being checked (``this``); ``values`` may say the instance of a
    repeat it is read in (its ``position``)."""
    position = getattr(values, "position", 1)
    if expression.volatile:
        return _truth(_run(expression, values, this, None, position))
    get = values.get
    given = tuple([get(n, "") for n in expression.names])
    return _remembered(expression, given, this, position)[0]


def value(expression: Expression, values: Mapping[str, Any], this: Any = "") -> str:
    """``expression``'s value as text, as ODK shows or stores it."""
    position = getattr(values, "position", 1)
    if expression.volatile:
        return _text(_run(expression, values, this, None, position))
    given = tuple(values.get(n, "") for n in expression.names)
    return _remembered(expression, given, this, position)[1]


def offers(expression: Expression, values: Mapping[str, Any], item: Mapping[str, str]) -> bool:
    """A ``choice_filter`` for one choice: its columns (``item``: name -> value) are read
    by name, the answers so far as ``${name}``."""
    return _truth(_run(expression, values, "", item, getattr(values, "position", 1)))


@lru_cache(maxsize=65536)
def _remembered(
    expression: Expression, given: tuple[Any, ...], this: Any, position: int
) -> tuple[bool, str]:
    """An expression's truth and text for these values of what it refers to: a form's
    conditions are worked out many times over the same answers."""
    found = _run(expression, dict(zip(expression.names, given, strict=True)), this, None, position)
    return _truth(found), _text(found)


def references(expression: Expression) -> list[str]:
    """The questions ``expression`` refers to (``${name}``), in order of first use."""
    return list(expression.names)


def uses_self(expression: Expression) -> bool:
    """Whether ``expression`` uses ``.`` (the answer being checked)."""
    return expression.uses_self


_COMPARED = (
    re.compile(r"selected\(\s*\$\{([^}]+)\}\s*,\s*(?:'([^']*)'|\"([^\"]*)\")\s*\)"),
    re.compile(r"\$\{([^}]+)\}\s*!?=\s*(?:'([^']*)'|\"([^\"]*)\")"),
)


def compared_options(expression: Expression) -> list[tuple[str, str]]:
    """(question, option) for each ``selected(${q}, 'x')`` and ``${q} = 'x'`` (or
    ``!=``) in ``expression``, in order; an empty option is left out."""
    found: list[tuple[int, str, str]] = []
    for pattern in _COMPARED:
        for m in pattern.finditer(expression.text):
            option = m.group(2) if m.group(2) is not None else m.group(3)
            if option:
                found.append((m.start(), m.group(1).strip(), option))
    return [(name, option) for _at, name, option in sorted(found)]


def _grouped(text: str) -> str:
    """``text`` as an operand of ``and``: in parentheses where an ``or`` outside any
    would otherwise bind looser."""
    depth, blank = 0, _blanked(text)
    for at, char in enumerate(blank):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if (
            depth == 0
            and re.match(r"(?<![\w.\-])or(?![\w.\-])", blank[at:])
            and (at == 0 or not (blank[at - 1].isalnum() or blank[at - 1] in "_.-"))
        ):
            return f"({text})"
    return text


def conjunction(first: str, second: str) -> str:
    """Both conditions, as one expression."""
    return f"{_grouped(first)} and {_grouped(second)}"
