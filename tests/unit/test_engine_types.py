"""Typed questions (integer, decimal, date), notes and XLSForm skip logic in the engine."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from flows import FlowDefinition, load_definition, resume, scored_answers, start
from flows.engine import Step
from flows.questions import parse_date, parse_number
from flows.state import (
    Back,
    Input,
    InputRejected,
    NoteShown,
    QuestionAsked,
    Special,
    SpecialAnswer,
    SurveyCompleted,
    Text,
    TextAnswer,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def typed() -> FlowDefinition:
    return load_definition(DATA / "typed.yaml")


def run(flow: FlowDefinition, *inputs: Input) -> Step:
    step = start(flow, "en")
    for inp in inputs:
        step = resume(flow, step.state, inp)
    return step


@pytest.mark.parametrize(
    ("text", "whole", "expected"),
    [
        ("42", True, Decimal(42)),
        (" -3 ", True, Decimal(-3)),
        ("٤٢", True, Decimal(42)),  # Arabic-Indic digits
        ("۱۲", True, Decimal(12)),  # Persian digits
        ("12 000", True, Decimal(12000)),
        ("3,5", False, Decimal("3.5")),
        ("٣٫٥", False, Decimal("3.5")),
        ("3.5", True, None),
        ("3.0", True, Decimal(3)),
        ("twelve", True, None),
        ("1e5", False, None),
        ("", False, None),
    ],
)
def test_parse_number(text: str, whole: bool, expected: Decimal | None) -> None:
    assert parse_number(text, whole=whole) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31/03/2026", "2026-03-31"),
        ("1.4.2025", "2025-04-01"),
        ("2026-03-31", "2026-03-31"),
        ("٣١/٠٣/٢٠٢٦", "2026-03-31"),
        ("31/02/2026", None),
        ("03/2026", None),
        ("yesterday", None),
    ],
)
def test_parse_date(text: str, expected: str | None) -> None:
    day = parse_date(text)
    assert (day.isoformat() if day else None) == expected


def test_notes_are_shown_before_the_question_and_not_numbered(typed: FlowDefinition) -> None:
    step = start(typed, "en")
    assert step.events == (
        NoteShown(question="intro"),
        # (income waits on the age: it counts once the age makes it relevant)
        QuestionAsked(question="age", number=1, total=2),
    )


def test_integer_is_kept_as_canonical_text(typed: FlowDefinition) -> None:
    step = run(typed, Text(text="٣٠"))
    assert step.state.answers["age"] == TextAnswer(text="30")
    assert step.events[-1] == QuestionAsked(question="income", number=2, total=3)


def test_not_a_number_and_constraint_are_refused(typed: FlowDefinition) -> None:
    step = run(typed, Text(text="thirty"))
    assert step.events[-1] == InputRejected(reason="expected_integer", question="age")
    step = run(typed, Text(text="7"))
    assert step.events[-1] == InputRejected(reason="constraint", question="age")
    assert "age" not in step.state.answers and step.state.current == "age"


def test_relevant_shows_a_note_and_hides_a_question(typed: FlowDefinition) -> None:
    step = run(typed, Text(text="16"))
    assert step.events[-2:] == (
        NoteShown(question="minor_note"),
        QuestionAsked(question="arrived", number=2, total=2),
    )


def test_optional_decimal_is_skipped_with_an_empty_answer(typed: FlowDefinition) -> None:
    step = run(typed, Text(text="30"), Text(text="  "))
    assert step.state.answers["income"] == SpecialAnswer(value="skip")
    step = run(typed, Text(text="30"), Text(text="-1"))
    assert step.events[-1] == InputRejected(reason="constraint", question="income")
    step = run(typed, Text(text="30"), Text(text="1 250,50"))
    assert step.state.answers["income"] == TextAnswer(text="1250.5")


def test_changing_an_answer_discards_what_is_no_longer_relevant(typed: FlowDefinition) -> None:
    step = run(typed, Text(text="30"), Text(text="100"), Back(), Back(), Text(text="16"))
    assert "income" not in step.state.answers
    assert step.state.current == "arrived"


def test_back_skips_notes(typed: FlowDefinition) -> None:
    step = run(typed, Text(text="16"), Back())
    asked = step.events[-1]
    assert isinstance(asked, QuestionAsked) and asked.question == "age"
    assert asked.current_answer == TextAnswer(text="16")


def test_date_then_closing_note_then_completion(typed: FlowDefinition) -> None:
    step = run(typed, Text(text="30"), Special(value="prefer_not_to_answer"))
    step = resume(typed, step.state, Text(text="32/01/2026"))
    assert step.events[-1] == InputRejected(reason="expected_date", question="arrived")
    step = resume(typed, step.state, Text(text="1/2/2026"))
    assert step.state.answers["arrived"] == TextAnswer(text="2026-02-01")
    assert step.events[-2:] == (NoteShown(question="outro"), SurveyCompleted(answered=3))
    assert scored_answers(typed, step.state.answers) == {}


def test_an_unanswered_question_reads_as_empty(typed: FlowDefinition) -> None:
    step = run(typed, Special(value="prefer_not_to_answer"))
    # age = '' so neither "age < 18" nor "age >= 18" holds: both are hidden
    assert step.events[-1] == QuestionAsked(question="arrived", number=2, total=2)
