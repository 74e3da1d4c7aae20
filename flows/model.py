"""The flow-definition format: versioned data describing a survey.

A definition is a YAML (or JSON) document with a ``spec_version``. Every text a
respondent reads is localised inside the definition (``{en: ..., fr: ..., ar: ...}``),
so survey authors never touch gettext catalogues. Question types form a discriminated
union on ``type``; each type's input handling lives in :mod:`flows.questions`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

#: The spec_version this program reads and writes.
SPEC_VERSION = 1

LocalizedText = dict[str, str]

#: Answers every question accepts besides its options. ``skip`` only on optional questions,
#: ``dont_know`` only where the question allows it.
SpecialValue = Literal["prefer_not_to_answer", "dont_know", "skip"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: question and option ids: XLSForm names (letters, digits, ``_``, ``-``, ``.``)
ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"


class Option(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    label: LocalizedText
    #: a clip per language saying this choice (:mod:`flows.audio`), sent after the question's
    audio: LocalizedText | None = None
    #: in a multi-select, choosing this option clears the others (e.g. "none")
    exclusive: bool = False
    #: the choice's other columns (XLSForm's choices sheet: ``region: north``), which a
    #: question's ``choice_filter`` reads
    properties: dict[str, str] = Field(default_factory=dict)


class ShowIf(_Strict):
    """Show a question only when an earlier question's answer matches.

    ``any_of``: the earlier answer is one of these options (for a multi-select: at least
    one of them is selected); ``none_of``: it is none of them (and was answered).
    """

    question: str
    any_of: list[str] | None = None
    none_of: list[str] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> ShowIf:
        if (self.any_of is None) == (self.none_of is None):
            raise ValueError("show_if needs exactly one of 'any_of' or 'none_of'")
        return self


class _Item(_Strict):
    """What questions and notes have in common: a text, where it is, when it is shown."""

    id: str = Field(pattern=ID_PATTERN)
    text: LocalizedText
    hint: LocalizedText | None = None
    #: a clip per language (a file; relative to the flow's folder where it is loaded from
    #: one) sent as a voice note before the text (:mod:`flows.audio`)
    audio: LocalizedText | None = None
    section: str | None = None
    #: the repeat this item belongs to (:class:`Repeat`): asked once per instance
    repeat: str | None = None
    show_if: ShowIf | None = None
    #: skip logic as an XLSForm expression (:mod:`flows.expressions`); shown when true
    relevant: str | None = None


class _QuestionBase(_Item):
    #: offer "don't know" besides "prefer not to answer" (which every question offers)
    allow_dont_know: bool = False
    #: may be skipped without an answer
    optional: bool = False
    #: an XLSForm constraint on the answer ``.`` (``. >= 0 and . <= 120``,
    #: ``regex(., '^[0-9]{9}$')``, ``. <= ${household_size}``), checked before it is kept
    constraint: str | None = None
    #: said when the constraint refuses an answer (else a general message)
    constraint_message: LocalizedText | None = None
    #: a suggested answer (XLSForm's ``default``), as typed or as option ids separated by
    #: spaces: offered in one tap, never recorded unless the respondent takes it
    default: str | None = None


class _ChoiceQuestion(_QuestionBase):
    options: list[Option] = Field(min_length=2)
    #: which options are offered, as an XLSForm expression read for each option (its
    #: columns by name, ``name`` its id) with the answers so far: ``region = ${region}``
    choice_filter: str | None = None

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    @model_validator(mode="after")
    def _unique_options(self) -> _ChoiceQuestion:
        ids = [o.id for o in self.options]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate option id(s): {', '.join(dupes)}")
        return self


class SingleChoice(_ChoiceQuestion):
    type: Literal["single_choice"] = "single_choice"


class YesNo(_ChoiceQuestion):
    """Yes / no, with ``not_applicable`` where the contract has it; any order."""

    type: Literal["yes_no"] = "yes_no"

    @model_validator(mode="after")
    def _yes_no_options(self) -> YesNo:
        ids = {o.id for o in self.options}
        if not {"yes", "no"} <= ids or not ids <= {"yes", "no", "not_applicable"}:
            raise ValueError(
                "a yes_no question has options 'yes' and 'no', and optionally 'not_applicable'"
            )
        return self


class MultiSelect(_ChoiceQuestion):
    type: Literal["multi_select"] = "multi_select"
    min_choices: int = Field(default=1, ge=0)


class FreeText(_QuestionBase):
    type: Literal["free_text"] = "free_text"
    max_length: int = Field(default=1000, ge=1, le=4000)


class _NumberQuestion(_QuestionBase):
    """What integer and decimal questions have in common."""


class Integer(_NumberQuestion):
    """A whole number, typed (digits of any script)."""

    type: Literal["integer"] = "integer"


class DecimalNumber(_NumberQuestion):
    """A number, typed with a decimal point or comma."""

    type: Literal["decimal"] = "decimal"


class Date(_QuestionBase):
    """A calendar date, typed day/month/year or year-month-day."""

    type: Literal["date"] = "date"


class Time(_QuestionBase):
    """A time of day, typed hours and minutes (``14:30``, ``9h05``, ``2:30 pm``); kept
    as ``HH:MM``."""

    type: Literal["time"] = "time"


class Acknowledge(_QuestionBase):
    """A statement the respondent confirms with one button ("OK"; XLSForm's
    ``acknowledge``); the answer is ``OK``."""

    type: Literal["acknowledge"] = "acknowledge"


class Note(_Item):
    """A text shown on the way to the next question; it takes no answer."""

    type: Literal["note"] = "note"


class Calculate(_Item):
    """A value computed from the answers as they arrive (XLSForm's ``calculate``): never
    asked, kept (encrypted) and exported like an answer, usable in later expressions
    and texts (``${name}``). It has no text of its own."""

    type: Literal["calculate"] = "calculate"
    #: the expression (:mod:`flows.expressions`) giving its value
    calculation: str
    text: LocalizedText = Field(default_factory=dict)


class RepeatPrompt(YesNo):
    """Whether to add an instance of a repeat asked "add another?" (a repeat without a
    ``count``): never written in a definition, made by :meth:`FlowDefinition.question`
    for the key ``<repeat id>[n]``. Hosts word it and its buttons in their own language
    (the repeat's label in the flow's); its options are ``yes`` and ``no``."""

    #: the repeat and the instance it would add
    group: str
    instance: int


class Repeat(_Strict):
    """A run of questions asked once per instance (XLSForm's ``begin repeat``), such as
    one per household member: each instance's answers are kept apart, under the key
    ``<question id>[n]`` (:func:`instance_key`)."""

    #: what one instance is ("Household member"), shown before its questions
    label: LocalizedText
    #: how many instances, as an expression (XLSForm's ``repeat_count``); without it the
    #: respondent is asked whether to add one before each instance (:class:`RepeatPrompt`)
    count: str | None = None
    #: the repeat is asked only when this expression is true
    relevant: str | None = None
    #: the section the repeat is in (its questions' own section may be one inside it)
    section: str | None = None


#: the most instances of a repeat a chat asks (a count above it asks this many)
MAX_INSTANCES = 40

_INSTANCE_KEY = re.compile(r"^(.+)\[([0-9]+)\]$")


def instance_key(name: str, instance: int) -> str:
    """The key of question ``name`` (or of a repeat's prompt) in instance ``instance``."""
    return f"{name}[{instance}]"


def split_key(key: str) -> tuple[str, int | None]:
    """An answer's key as (question or repeat id, instance); None outside a repeat."""
    found = _INSTANCE_KEY.match(key)
    return (found.group(1), int(found.group(2))) if found else (key, None)


Question = Annotated[
    SingleChoice
    | YesNo
    | MultiSelect
    | FreeText
    | Integer
    | DecimalNumber
    | Date
    | Time
    | Acknowledge
    | Note
    | Calculate,
    Field(discriminator="type"),
]
ChoiceQuestion = SingleChoice | YesNo | MultiSelect
#: questions answered by typing; the answer is kept as its canonical text
TypedQuestion = FreeText | Integer | DecimalNumber | Date | Time
#: questions a respondent answers (every type but notes and calculations)
AskedQuestion = ChoiceQuestion | TypedQuestion | Acknowledge
#: what is never asked: notes (shown) and calculations (computed)
NotAsked = Note | Calculate


def options_of(question: Question) -> list[Option]:
    """A question's options; none for typed questions and notes."""
    return question.options if isinstance(question, _ChoiceQuestion) else []


class _Memo(dict[Any, Any]):
    """A cache kept on a definition: it never makes two definitions different."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Memo)

    def __ne__(self, other: object) -> bool:
        return not isinstance(other, _Memo)

    __hash__ = None


class FlowDefinition(_Strict):
    spec_version: int
    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=32)
    #: the content version of this survey; stored with every response
    version: str = Field(min_length=1, max_length=32)
    languages: list[str] = Field(min_length=1)
    title: LocalizedText
    sections: dict[str, LocalizedText] = Field(default_factory=dict)
    #: repeat id -> the repeat; its questions name it in ``repeat`` and follow each other
    repeats: dict[str, Repeat] = Field(default_factory=dict)
    questions: list[Question] = Field(min_length=1)

    #: question id -> position (the engine looks questions up on every step)
    _positions: dict[str, int] = PrivateAttr(default_factory=dict)
    _has_relevant: bool = PrivateAttr(default=False)
    _has_notes: bool = PrivateAttr(default=False)
    _calculations: tuple[Calculate, ...] = PrivateAttr(default=())
    _dates: frozenset[str] = PrivateAttr(default=frozenset())
    #: repeat id -> its items, in order
    _bodies: dict[str, tuple[Question, ...]] = PrivateAttr(default_factory=dict)
    #: instance key -> the item as asked in that instance (made once)
    _instances: dict[str, Question] = PrivateAttr(default_factory=_Memo)
    _in_repeats: frozenset[str] = PrivateAttr(default=frozenset())
    #: (key, answer) -> whether the answer fits this definition (the engine's memo)
    _valid_answers: dict[tuple[str, Any], bool] = PrivateAttr(default_factory=_Memo)

    def model_post_init(self, context: Any) -> None:
        for i, q in enumerate(self.questions):  # (ids are unique: the loader checks)
            self._positions.setdefault(q.id, i)
        self._has_relevant = any(q.relevant is not None for q in self.questions)
        self._has_notes = any(isinstance(q, Note) for q in self.questions)
        self._calculations = tuple(q for q in self.questions if isinstance(q, Calculate))
        self._dates = frozenset(q.id for q in self.questions if isinstance(q, Date))
        for repeat in self.repeats:
            self._bodies[repeat] = tuple(q for q in self.questions if q.repeat == repeat)
        self._in_repeats = frozenset(q.id for q in self.questions if q.repeat is not None)

    @property
    def positions(self) -> dict[str, int]:
        """Each question's position in :attr:`questions` (instance keys are not in it)."""
        return self._positions

    @property
    def valid_answers(self) -> dict[tuple[str, Any], bool]:
        """The engine's memo of which stored answers fit this definition."""
        return self._valid_answers

    @property
    def questions_in_repeats(self) -> frozenset[str]:
        """The ids of the items of every repeat."""
        return self._in_repeats

    def body(self, repeat: str) -> tuple[Question, ...]:
        """The items of a repeat, in order (as written: their ids without an instance)."""
        return self._bodies[repeat]

    def repeat_of(self, key: str) -> tuple[str, int] | None:
        """(repeat id, instance) of an instance key (a question's or a prompt's); None
        for a question outside a repeat."""
        name, instance = split_key(key)
        if instance is None:
            return None
        if name in self.repeats:
            return name, instance
        position = self._positions.get(name)
        repeat = None if position is None else self.questions[position].repeat
        return None if repeat is None else (repeat, instance)

    @property
    def date_questions(self) -> frozenset[str]:
        """The ids of the date questions (expressions compute with their days)."""
        return self._dates

    @property
    def calculations(self) -> tuple[Calculate, ...]:
        """The flow's calculations, in order."""
        return self._calculations

    @property
    def has_notes(self) -> bool:
        """Whether the flow has notes (texts shown on the way, see :class:`Note`)."""
        return self._has_notes

    @property
    def has_relevant(self) -> bool:
        """Whether any question has XLSForm skip logic (``relevant``)."""
        return self._has_relevant

    def question(self, question_id: str) -> Question:
        """A question by id; an instance key (``age[2]``, ``members[3]``) gives the
        question as asked in that instance (its id the key), or the repeat's prompt."""
        position = self._positions.get(question_id)
        if position is not None:
            return self.questions[position]
        made = self._instances.get(question_id)
        if made is not None:
            return made
        name, instance = split_key(question_id)
        if instance is None or not 1 <= instance <= MAX_INSTANCES:
            raise KeyError(question_id)
        if name in self.repeats:
            made = RepeatPrompt(
                id=name,
                text=self.repeats[name].label,
                options=[
                    Option(id=o, label={lang: o for lang in self.languages}) for o in ("yes", "no")
                ],
                group=name,
                instance=instance,
                repeat=name,
            ).model_copy(update={"id": question_id})
        else:
            position = self._positions.get(name)
            if position is None or self.questions[position].repeat is None:
                raise KeyError(question_id)
            made = self.questions[position].model_copy(update={"id": question_id})
        self._instances[question_id] = made
        return made

    def index(self, question_id: str) -> int:
        """Where a question is in the definition (an instance's: where its question is;
        a prompt's: where its repeat begins)."""
        position = self._positions.get(question_id)
        if position is not None:
            return position
        name, _instance = split_key(question_id)
        if name in self.repeats:
            return self._positions[self._bodies[name][0].id]
        return self._positions[name]

    def has_question(self, question_id: str) -> bool:
        if question_id in self._positions:
            return True
        try:
            self.question(question_id)
        except KeyError:
            return False
        return True
