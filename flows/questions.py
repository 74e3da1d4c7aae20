"""Input handling per question type, registered by type name.

A handler turns one input into one outcome: an :data:`~flows.state.Answer` to record,
a new multi-select selection, or a rejection reason. It never changes the state itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from flows.model import (
    Acknowledge,
    ChoiceQuestion,
    Date,
    DecimalNumber,
    FreeText,
    Integer,
    MultiSelect,
    Question,
    Time,
)
from flows.state import (
    Answer,
    ChoiceAnswer,
    Choose,
    Done,
    Input,
    MultiAnswer,
    RejectReason,
    SessionState,
    SpecialAnswer,
    Text,
    TextAnswer,
    Toggle,
)


@dataclass(frozen=True)
class Reject:
    reason: RejectReason
    limit: int | None = None


@dataclass(frozen=True)
class Selection:
    selected: tuple[str, ...]


Outcome = Answer | Selection | Reject
Handler = Callable[[Any, SessionState, Input], Outcome]

HANDLERS: dict[str, Handler] = {}


def handles(*type_names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in type_names:
            HANDLERS[name] = fn
        return fn

    return register


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    return re.sub(r"[\s.,;:!?،؛؟()\-]+$", "", text).strip()


def match_option(question: ChoiceQuestion, text: str, language: str) -> str | None:
    """The option a typed text means: its number (1-based, any script's digits), its
    label in the session language, or its id. None if it matches nothing."""
    wanted = _normalise(text)
    if not wanted:
        return None
    try:
        number = int(wanted)
    except ValueError:
        number = None
    if number is not None:
        return question.options[number - 1].id if 1 <= number <= len(question.options) else None
    for option in question.options:
        label = option.label.get(language, "")
        if wanted in (_normalise(label), option.id):
            return option.id
    return None


def _toggle(question: MultiSelect, selected: list[str], option_id: str) -> tuple[str, ...]:
    option = question.option(option_id)
    assert option is not None
    if option_id in selected:
        return tuple(s for s in selected if s != option_id)
    if option.exclusive:
        return (option_id,)
    exclusive = {o.id for o in question.options if o.exclusive}
    chosen = {*selected, option_id} - exclusive
    return tuple(o.id for o in question.options if o.id in chosen)  # definition order


@handles("single_choice", "yes_no")
def _choice(question: ChoiceQuestion, state: SessionState, inp: Input) -> Outcome:
    if isinstance(inp, Choose):
        if question.option(inp.option) is None:
            return Reject("unknown_option")
        return ChoiceAnswer(option=inp.option)
    if isinstance(inp, Text):
        option_id = match_option(question, inp.text, state.language)
        return Reject("expected_choice") if option_id is None else ChoiceAnswer(option=option_id)
    return Reject("expected_choice")


@handles("multi_select")
def _multi(question: MultiSelect, state: SessionState, inp: Input) -> Outcome:
    if isinstance(inp, Toggle | Choose):
        if question.option(inp.option) is None:
            return Reject("unknown_option")
        return Selection(_toggle(question, state.pending, inp.option))
    if isinstance(inp, Done):
        if len(state.pending) < max(question.min_choices, 1):
            return Reject("nothing_selected", limit=max(question.min_choices, 1))
        return MultiAnswer(options=tuple(state.pending))
    if isinstance(inp, Text):
        tokens = [t for t in re.split(r"[,;،؛\n]+", inp.text) if t.strip()]
        if len(tokens) == 1 and all(_normalise(p).isdigit() for p in tokens[0].split()):
            tokens = tokens[0].split()  # "1 3 5"
        chosen: list[str] = []
        for token in tokens:
            option_id = match_option(question, token, state.language)
            if option_id is None:
                return Reject("expected_selection")
            if option_id not in chosen:
                chosen.append(option_id)
        exclusive = {o.id for o in question.options if o.exclusive}
        if len(chosen) < max(question.min_choices, 1) or (
            len(chosen) > 1 and exclusive & set(chosen)
        ):
            return Reject("expected_selection")
        return MultiAnswer(options=tuple(o.id for o in question.options if o.id in chosen))
    return Reject("expected_selection")


@handles("free_text")
def _free_text(question: FreeText, state: SessionState, inp: Input) -> Outcome:
    if not isinstance(inp, Text):
        return Reject("expected_text")
    text = inp.text.strip()
    if not text:
        return SpecialAnswer(value="skip") if question.optional else Reject("empty_text")
    if len(text) > question.max_length:
        return Reject("too_long", limit=question.max_length)
    return TextAnswer(text=text)


def _digits(text: str) -> str:
    """Digits of any script as ASCII; Arabic decimal and thousands separators as . and ,"""
    text = unicodedata.normalize("NFKC", text).strip().replace("٫", ".").replace("٬", ",")
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)


_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def parse_number(text: str, *, whole: bool) -> Decimal | None:
    """A typed number: ``42``, ``-3``, ``3.5`` or ``3,5``; spaces between thousands are
    allowed (``12 000``). ``whole``: only whole numbers. None if it is not one."""
    text = re.sub(r"(?<=\d)[\s\u202f\u00a0](?=\d{3}\b)", "", _digits(text))
    if not _NUMBER.match(text):
        return None
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    if whole and number != number.to_integral_value():
        return None
    return number


_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-\s](\d{1,2})[/.\-\s](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_date(text: str) -> date | None:
    """A typed date: day/month/year (``/``, ``.``, ``-`` or a space between) or
    year-month-day; digits of any script. None if it is not a calendar date."""
    text = _digits(text)
    if match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DAY_FIRST.match(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _canonical(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _typed(
    question: Question, inp: Input, reason: RejectReason, read: Callable[[str], str | None]
) -> Outcome:
    """A typed answer as ``read`` keeps it (None: not one), or a skip when the question
    is optional and nothing was typed."""
    if not isinstance(inp, Text):
        return Reject(reason)
    if not inp.text.strip() and getattr(question, "optional", False):
        return SpecialAnswer(value="skip")
    value = read(inp.text)
    return Reject(reason) if value is None else TextAnswer(text=value)


@handles("integer", "decimal")
def _number(question: Integer | DecimalNumber, state: SessionState, inp: Input) -> Outcome:
    whole = isinstance(question, Integer)

    def read(text: str) -> str | None:
        number = parse_number(text, whole=whole)
        return None if number is None else _canonical(number)

    return _typed(question, inp, "expected_integer" if whole else "expected_decimal", read)


@handles("date")
def _date(question: Date, state: SessionState, inp: Input) -> Outcome:
    def read(text: str) -> str | None:
        day = parse_date(text)
        return None if day is None else day.isoformat()

    return _typed(question, inp, "expected_date", read)


_TIME = re.compile(
    r"^(\d{1,2})\s*(?:([:.])\s*(\d{2})|([hH])\s*(\d{2})?)?\s*(am|pm|a\.m\.|p\.m\.)?$", re.I
)


def parse_time(text: str) -> time | None:
    """A typed time of day: ``14:30``, ``14.30``, ``14h30``, ``9h``, ``2:30 pm``; digits
    of any script. None if it is not one."""
    match = _TIME.match(_digits(text))
    if match is None or not (match.group(2) or match.group(4) or match.group(6)):
        return None
    hour, minute = int(match.group(1)), int(match.group(3) or match.group(5) or 0)
    half = (match.group(6) or "").lower().replace(".", "")
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


@handles("time")
def _time(question: Time, state: SessionState, inp: Input) -> Outcome:
    def read(text: str) -> str | None:
        found = parse_time(text)
        return None if found is None else found.strftime("%H:%M")

    return _typed(question, inp, "expected_time", read)


#: what confirms an acknowledgement typed rather than pressed
_ACKNOWLEDGED = frozenset({"1", "ok", "okay", "yes", "oui", "d'accord", "نعم", "حسنا"})


@handles("acknowledge")
def _acknowledge(question: Acknowledge, state: SessionState, inp: Input) -> Outcome:
    if isinstance(inp, Choose) and inp.option == "OK":
        return TextAnswer(text="OK")
    if isinstance(inp, Text):
        typed = _normalise(inp.text)
        if not typed and question.optional:
            return SpecialAnswer(value="skip")
        if typed in _ACKNOWLEDGED:
            return TextAnswer(text="OK")
    return Reject("expected_choice")


def handle(question: Question, state: SessionState, inp: Input) -> Outcome:
    return HANDLERS[question.type](question, state, inp)
