"""Messages within WhatsApp's limits: a set of choices becomes reply buttons (at most 3,
titles of 20 characters) or a list (at most 10 rows, titles of 24 characters, descriptions
of 72), split over several lists when there are more; a label too long for a title keeps
its beginning there and is written in full in the row's description, or in the message
body with its number when even that is too short. Survey questions are drawn the same
way for every question type, with the same localised texts as on Telegram.

Pure functions: what to send, not how (:mod:`bot.whatsapp.conversation` sends it)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.survey import question_code
from bot.i18n import Translator
from bot.texts import answer_buttons, offered_ids, question_text
from bot.whatsapp.client import Outgoing, Row
from flows.engine import Step
from flows.model import AskedQuestion, FlowDefinition, MultiSelect
from flows.state import QuestionAsked

BODY_MAX = 1024
TEXT_MAX = 4096
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
LIST_BUTTON_MAX = 20


_OPENERS = {"\u202a": "\u202c", "\u202b": "\u202c", "\u202d": "\u202c", "\u202e": "\u202c"}
_OPENERS |= {"\u2066": "\u2069", "\u2067": "\u2069", "\u2068": "\u2069"}


def _closers(text: str) -> str:
    """What closes the directional embeddings and isolates ``text`` leaves open."""
    stack: list[str] = []
    for char in text:
        if char in _OPENERS:
            stack.append(_OPENERS[char])
        elif stack and char == stack[-1]:
            stack.pop()
    return "".join(reversed(stack))


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut (and, where the cut
    falls inside a right-to-left or left-to-right embedding, its end kept)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rstrip()
    while len(cut) + len(_closers(cut)) + 1 > limit:
        cut = cut[:-1]
    return cut + "…" + _closers(cut)


def text_messages(text: str) -> list[Outgoing]:
    """A long text in as many messages as WhatsApp needs, cut between lines."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = fit(line, TEXT_MAX)
        if current and len(current) + 1 + len(line) > TEXT_MAX:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    parts.append(current)
    return [Outgoing(part) for part in parts if part.strip()]


def choices(body: str, options: Sequence[tuple[str, str]], _: Translator) -> list[Outgoing]:
    """Offer ``options`` ((reply id, label), in order) under ``body``."""
    if not options:
        return [Outgoing(fit(body, BODY_MAX))]
    if len(options) <= BUTTONS_MAX and all(len(lb) <= BUTTON_TITLE_MAX for _i, lb in options):
        return [Outgoing(fit(body, BODY_MAX), buttons=tuple(options))]
    written_out = [
        f"{number}. {label}"
        for number, (_i, label) in enumerate(options, 1)
        if len(label) > ROW_DESCRIPTION_MAX
    ]
    if written_out:
        body = body + "\n\n" + "\n".join(written_out)
    rows = [
        Row(id_, label)
        if len(label) <= ROW_TITLE_MAX
        else Row(id_, fit(label, ROW_TITLE_MAX), fit(label, ROW_DESCRIPTION_MAX))
        for id_, label in options
    ]
    # TRANSLATORS: the button that opens a list of answers: at most 20 characters
    button = fit(_("Choose"), LIST_BUTTON_MAX)
    messages = []
    for start in range(0, len(rows), ROWS_MAX):
        text = body if start == 0 else _("More choices")
        messages.append(
            Outgoing(fit(text, BODY_MAX), rows=tuple(rows[start : start + ROWS_MAX]), button=button)
        )
    return messages


def survey_reply_id(action: str, question: int, option: int, seq: int) -> str:
    """The reply id of a survey button: ``sv.ACTION.QUESTION.OPTION.SEQ``."""
    return f"sv.{action}.{question}.{option}.{seq}"


def parse_survey_reply(reply_id: str) -> tuple[str, int, int, int] | None:
    """(action, question, option, seq) of a survey reply id; None for anything else."""
    parts = reply_id.split(".")
    if len(parts) != 5 or parts[0] != "sv":
        return None
    try:
        return parts[1], int(parts[2]), int(parts[3]), int(parts[4])
    except ValueError:
        return None


def question_messages(
    definition: FlowDefinition,
    question: AskedQuestion,
    event: QuestionAsked,
    step: Step,
    language: str,
    _: Translator,
) -> list[Outgoing]:
    """A survey question with the same text and answers as on every chat app
    (:func:`bot.texts.question_text`, :func:`bot.texts.answer_buttons`) as buttons or
    lists. Answers can also be typed: an option's number or words."""
    q, seq = question_code(definition, question.id), step.state.seq
    body = question_text(
        definition,
        question,
        event,
        language,
        _,
        bold="*{}*".format,
        italic="_{}_".format,
        answers=step.state.answers,
    )
    if isinstance(question, MultiSelect):
        hint = _(
            "Or type the numbers of all that apply, for example 1,3: what you type is your "
            "whole answer, in place of the options ticked."
        )
        body = f"{body}\n\n{hint}"
    options = [
        (survey_reply_id(b.action, q, b.option, seq), b.label)
        for b in answer_buttons(
            question,
            event,
            step.state.pending,
            language,
            _,
            offered_ids(definition, question, step.state.answers),
        )
    ]
    return choices(body, options, _)
