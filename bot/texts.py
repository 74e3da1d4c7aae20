"""Texts shared by the terminal and the Telegram hosts: answers, dimensions, rejections."""

from __future__ import annotations

from bot.i18n import Translator
from flows.model import ChoiceQuestion, Date, DecimalNumber, Integer, Question
from flows.state import (
    Answer,
    ChoiceAnswer,
    InputRejected,
    MultiAnswer,
    SpecialAnswer,
    TextAnswer,
)


def answer_label(question: Question, answer: Answer, language: str, _: Translator) -> str:
    """An answer as the returnee reads it, in their language."""
    if isinstance(answer, SpecialAnswer):
        return {
            "prefer_not_to_answer": _("Prefer not to answer"),
            "dont_know": _("Don't know"),
            "skip": _("Skipped"),
        }[answer.value]
    if isinstance(answer, TextAnswer):
        return answer.text
    if not isinstance(question, ChoiceQuestion):
        return ""
    labels = {o.id: o.label[language] for o in question.options}
    if isinstance(answer, ChoiceAnswer):
        return labels.get(answer.option, answer.option)
    assert isinstance(answer, MultiAnswer)
    return ", ".join(labels.get(o, o) for o in answer.options)


def wave_label(_: Translator, wave: str) -> str:
    """A follow-up point as returnees read it."""
    labels = {
        "initial": _("first follow-up"),
        "intermediate": _("follow-up at 6 to 9 months"),
        "final": _("final follow-up"),
    }
    return labels.get(wave, wave)


def provisional_note(_: Translator, provisional: int, total: int) -> str:
    """Said wherever scores are shown while the weight table is not the official one."""
    return _(
        "These scores are indicative: {provisional} of the {total} weights are provisional "
        "until the official weight table is loaded.",
        provisional=provisional,
        total=total,
    )


def dimension_label(_: Translator, dimension: str) -> str:
    labels = {
        "economic": _("Economic"),
        "social": _("Social"),
        "psychosocial": _("Psychosocial"),
        "composite": _("Composite"),
    }
    return labels[dimension]


def typing_hint(_: Translator, question: Question) -> str | None:
    """How to type the answer to a question answered by typing; None for choices."""
    if isinstance(question, Integer):
        return _("Type a whole number.")
    if isinstance(question, DecimalNumber):
        return _("Type a number (for example 12 or 3.5).")
    if isinstance(question, Date):
        return _("Type a date as day/month/year (for example 31/12/1990).")
    if isinstance(question, ChoiceQuestion):
        return None
    return _("Type your answer below.")


def rejection_message(
    _: Translator,
    event: InputRejected,
    *,
    buttons: bool = False,
    question: Question | None = None,
    language: str = "en",
) -> str:
    """Why an input was refused; ``buttons``: the host shows options as buttons without
    numbers (a chat app), rather than as a numbered list (the terminal). ``question``
    (in ``language``) gives a refused constraint its own message."""
    if event.reason == "constraint":
        own = getattr(question, "constraint_message", None)
        if own:
            return str(own[language])
        return _("That answer is outside the accepted range. Please check it and type it again.")
    if buttons and event.reason in ("expected_choice", "expected_selection"):
        return _("Please answer with the buttons under the question, or type an option's words.")
    messages = {
        "completed": _("This survey is already complete."),
        "stale": _("That answer was for another question. Please answer this one."),
        "unknown_option": _("That is not one of the options."),
        "expected_choice": _("Please type the number of one of the options."),
        "expected_text": _("Please type your answer as text."),
        "expected_selection": _(
            "Please type the numbers of your choices, separated by commas (for example 1,3)."
        ),
        "nothing_selected": _("Please choose at least one option."),
        "empty_text": _("Please type an answer."),
        "too_long": _(
            "Your answer is too long: at most {limit} characters, please.", limit=event.limit
        ),
        "not_allowed": _("That choice is not available for this question."),
        "at_start": _("This is the first question."),
        "unknown_question": _("There is no such question."),
        "not_reachable": _("You can only go back to questions you have answered."),
        "unknown_language": _("That language is not available."),
        "expected_integer": _("Please type a whole number, with digits (for example 25)."),
        "expected_decimal": _("Please type a number, with digits (for example 12 or 3.5)."),
        "expected_date": _(
            "Please type a date as day/month/year, with digits (for example 31/12/1990)."
        ),
    }
    return messages[event.reason]
