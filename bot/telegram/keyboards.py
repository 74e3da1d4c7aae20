"""Typed callback data and inline keyboards (aiogram). Labels come from the flow or gettext."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.survey import question_code
from bot.i18n import Translator
from bot.languages import languages
from bot.texts import answer_buttons, offered_ids
from flows.model import AskedQuestion, FlowDefinition
from flows.state import Answer, QuestionAsked


class LangCB(CallbackData, prefix="lang"):
    code: str
    #: "start": first choice, then consent; "switch": /language at any time
    then: str


class ConsentCB(CallbackData, prefix="consent"):
    agree: bool


class SurveyCB(CallbackData, prefix="sv"):
    """A survey button. Packed as ``sv:ACTION:QUESTION:OPTION:SEQ`` (values only, within
    Telegram's 64 bytes), so the codes stay one letter."""

    #: c choose, t toggle, d done, p prefer not to answer, k don't know, s skip, b back
    action: str
    #: the question's index in the flow definition
    question: int
    #: the option's index in the question (-1: none)
    option: int = -1
    #: the survey state's sequence number when the button was drawn (a stale press is refused)
    seq: int


class ResumeCB(CallbackData, prefix="go"):
    """'Start the survey' under a reminder."""


class RoundCB(CallbackData, prefix="round"):
    """Staff confirmation of a previewed round."""

    wave: str
    country: str = ""
    go: bool


class DeleteCB(CallbackData, prefix="del"):
    confirm: bool


class FeedbackCB(CallbackData, prefix="fb"):
    step: str  # "anon" or "rating"
    value: int


def rows(*buttons: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in buttons if row])


def language_name(code: str) -> str:
    """A language's name in that language (``Français``), as a returnee looks for it."""
    return languages().name(code)


def language_keyboard(proposed: str, then: str, languages: Sequence[str]) -> InlineKeyboardMarkup:
    """The survey's ``languages`` (``proposed`` first when it is one of them)."""
    order = [proposed] if proposed in languages else []
    order += [code for code in languages if code != proposed]
    return rows(
        *[
            [
                InlineKeyboardButton(
                    text=language_name(code),
                    callback_data=LangCB(code=code, then=then).pack(),
                )
            ]
            for code in order
        ]
    )


def consent_keyboard(_: Translator) -> InlineKeyboardMarkup:
    return rows(
        [InlineKeyboardButton(text=_("I agree"), callback_data=ConsentCB(agree=True).pack())],
        [InlineKeyboardButton(text=_("No thanks"), callback_data=ConsentCB(agree=False).pack())],
    )


def delete_keyboard(_: Translator) -> InlineKeyboardMarkup:
    return rows(
        [
            InlineKeyboardButton(
                text=_("Yes, erase everything"), callback_data=DeleteCB(confirm=True).pack()
            )
        ],
        [InlineKeyboardButton(text=_("No, keep it"), callback_data=DeleteCB(confirm=False).pack())],
    )


def anonymity_keyboard(_: Translator) -> InlineKeyboardMarkup:
    return rows(
        [
            InlineKeyboardButton(
                text=_("With my name on it"),
                callback_data=FeedbackCB(step="anon", value=0).pack(),
            )
        ],
        [
            InlineKeyboardButton(
                text=_("Anonymously"), callback_data=FeedbackCB(step="anon", value=1).pack()
            )
        ],
    )


def rating_keyboard(_: Translator) -> InlineKeyboardMarkup:
    stars = [
        InlineKeyboardButton(text=str(n), callback_data=FeedbackCB(step="rating", value=n).pack())
        for n in range(1, 6)
    ]
    skip = InlineKeyboardButton(
        text=_("Skip"), callback_data=FeedbackCB(step="rating", value=0).pack()
    )
    return rows(stars, [skip])


def question_keyboard(
    definition: FlowDefinition,
    question: AskedQuestion,
    event: QuestionAsked,
    pending: list[str],
    seq: int,
    language: str,
    _: Translator,
    answers: Mapping[str, Answer] | None = None,
) -> InlineKeyboardMarkup:
    """:func:`bot.texts.answer_buttons`: one option per row, the special answers on one
    row, back on the last (the options a choice filter offers, given the ``answers``)."""
    q = question_code(definition, question.id)
    keyboard: list[list[InlineKeyboardButton]] = []
    specials: list[InlineKeyboardButton] = []
    offered = offered_ids(definition, question, answers or {})
    for b in answer_buttons(question, event, pending, language, _, offered):
        button = InlineKeyboardButton(
            text=b.label,
            callback_data=SurveyCB(action=b.action, question=q, option=b.option, seq=seq).pack(),
        )
        if b.place == "special":
            specials.append(button)
        else:
            if b.place == "back":
                keyboard.append(specials)
                specials = []
            keyboard.append([button])
    if specials:
        keyboard.append(specials)
    return InlineKeyboardMarkup(inline_keyboard=keyboard)


class AudioCB(CallbackData, prefix="au"):
    """Voice notes with the questions: on or off (the button under a voice note)."""

    on: bool
