"""Serialisable session state, the inputs the engine accepts and the events it returns.

All three are pydantic models with a discriminated union on ``type``/``kind``, so a host
can store the state as JSON and log event *types* without ever logging an answer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from flows.model import SpecialValue


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- answers --------------------------------------------------------------------------


class ChoiceAnswer(_Value):
    kind: Literal["choice"] = "choice"
    option: str


class MultiAnswer(_Value):
    kind: Literal["multi"] = "multi"
    options: tuple[str, ...]


class TextAnswer(_Value):
    """A typed answer: free text, or the canonical text of a number (``-12``, ``3.5``)
    or a date (``2026-03-31``); the question's type says how to read it."""

    kind: Literal["text"] = "text"
    text: str


class SpecialAnswer(_Value):
    """prefer_not_to_answer, dont_know, or skip (an optional question left blank)."""

    kind: Literal["special"] = "special"
    value: SpecialValue


Answer = Annotated[
    ChoiceAnswer | MultiAnswer | TextAnswer | SpecialAnswer, Field(discriminator="kind")
]


def coded_value(answer: Answer) -> str | None:
    """What scoring reads: the option id, or the special value (missing); else None."""
    if isinstance(answer, ChoiceAnswer):
        return answer.option
    if isinstance(answer, SpecialAnswer):
        return None if answer.value == "skip" else answer.value
    return None


class SessionState(BaseModel):
    """Everything the engine needs to continue a survey; JSON-serialisable."""

    model_config = ConfigDict(extra="forbid")

    flow_id: str
    flow_version: str
    language: str
    answers: dict[str, Answer] = Field(default_factory=dict)
    #: the question being asked (None once completed)
    current: str | None = None
    #: a multi-select's selection while it is being made
    pending: list[str] = Field(default_factory=list)
    completed: bool = False
    #: increases with every accepted input; buttons carry it to detect stale presses
    seq: int = 0


# --- inputs ---------------------------------------------------------------------------


class _Input(_Value):
    #: the question the input is meant for (a button knows it); None = the current one
    question: str | None = None
    #: the state's ``seq`` when the input was offered (a button knows it); None = any
    seq: int | None = None


class Choose(_Input):
    type: Literal["choose"] = "choose"
    option: str


class Toggle(_Input):
    """Add or remove an option of a multi-select."""

    type: Literal["toggle"] = "toggle"
    option: str


class Done(_Input):
    """Confirm a multi-select's selection."""

    type: Literal["done"] = "done"


class Text(_Input):
    """Typed text: a free-text answer, or an option's number or label."""

    type: Literal["text"] = "text"
    text: str


class Special(_Input):
    type: Literal["special"] = "special"
    value: SpecialValue


class Back(_Input):
    type: Literal["back"] = "back"


class GoTo(_Input):
    """Go to an earlier (answered) question to change its answer."""

    type: Literal["goto"] = "goto"
    target: str


class SetLanguage(_Input):
    type: Literal["language"] = "language"
    language: str


class Resume(_Input):
    """Ask the current question again (after a restart, days later...)."""

    type: Literal["resume"] = "resume"


Input = Annotated[
    Choose | Toggle | Done | Text | Special | Back | GoTo | SetLanguage | Resume,
    Field(discriminator="type"),
]


# --- events ---------------------------------------------------------------------------


class QuestionAsked(_Value):
    type: Literal["question_asked"] = "question_asked"
    question: str
    number: int
    total: int
    #: the answer already given (shown as selected when going back)
    current_answer: Answer | None = None


class AnswerRecorded(_Value):
    type: Literal["answer_recorded"] = "answer_recorded"
    question: str
    answer: Answer
    #: True when it replaces a different earlier answer
    changed: bool = False


class AnswerDiscarded(_Value):
    """An answer dropped because its question is no longer shown, or no longer valid."""

    type: Literal["answer_discarded"] = "answer_discarded"
    question: str
    reason: Literal["hidden", "invalid"]


class SelectionChanged(_Value):
    type: Literal["selection_changed"] = "selection_changed"
    question: str
    selected: tuple[str, ...]


RejectReason = Literal[
    "completed",
    "expected_time",
    "stale",
    "unknown_option",
    "expected_choice",
    "expected_text",
    "expected_selection",
    "nothing_selected",
    "empty_text",
    "too_long",
    "not_allowed",
    "at_start",
    "unknown_question",
    "not_reachable",
    "unknown_language",
    "expected_integer",
    "expected_decimal",
    "expected_date",
    "constraint",
]


class InputRejected(_Value):
    """The input changed nothing; ``reason`` says why (for a message in the user's language)."""

    type: Literal["input_rejected"] = "input_rejected"
    question: str | None
    reason: RejectReason
    #: a number the message may need (e.g. the maximum length)
    limit: int | None = None


class NoteShown(_Value):
    """A note passed on the way to the next question (or to the end)."""

    type: Literal["note_shown"] = "note_shown"
    question: str


class LanguageChanged(_Value):
    type: Literal["language_changed"] = "language_changed"
    language: str


class SurveyCompleted(_Value):
    type: Literal["survey_completed"] = "survey_completed"
    answered: int


Event = Annotated[
    QuestionAsked
    | AnswerRecorded
    | AnswerDiscarded
    | SelectionChanged
    | InputRejected
    | LanguageChanged
    | NoteShown
    | SurveyCompleted,
    Field(discriminator="type"),
]
