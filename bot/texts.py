"""Texts shared by every host (terminal, Telegram, WhatsApp): a question as shown, the
answers offered under it, answers, dimensions, rejections."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bot.core.feedback import MAX_VOICE_SECONDS
from bot.i18n import Translator, proposed_language
from bot.languages import languages
from flows.engine import offered_options, shown_text
from flows.model import (
    Acknowledge,
    AskedQuestion,
    ChoiceQuestion,
    Date,
    DecimalNumber,
    FlowDefinition,
    Integer,
    MultiSelect,
    Option,
    Question,
    RepeatPrompt,
    Time,
)
from flows.questions import parse_date
from flows.state import (
    Answer,
    ChoiceAnswer,
    InputRejected,
    MultiAnswer,
    QuestionAsked,
    SpecialAnswer,
    TextAnswer,
)
from scoring import WeightTable

if TYPE_CHECKING:
    from bot.core.rights import DataKept


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
    labels = {o.id: option_label(question, o, language, _) for o in question.options}
    if isinstance(answer, ChoiceAnswer):
        return labels.get(answer.option, answer.option)
    assert isinstance(answer, MultiAnswer)
    return ", ".join(labels.get(o, o) for o in answer.options)


def option_label(question: Question, option: Option, language: str, _: Translator) -> str:
    """An option as shown on its button or in a numbered list (a repeat's prompt's in
    the host's words)."""
    if isinstance(question, RepeatPrompt):
        # TRANSLATORS: a button: at most 20 characters (or WhatsApp shows a list)
        return _("Yes, add one") if option.id == "yes" else _("No, go on")
    return option.label[language]


def suggestion(question: AskedQuestion, language: str) -> str:
    """A question's suggested answer (``default``) as the respondent reads it."""
    given = question.default or ""
    if isinstance(question, ChoiceQuestion):
        picks = given.split()
        return ", ".join(o.label[language] for o in question.options if o.id in picks)
    if isinstance(question, Date):
        day = parse_date(given)
        return day.strftime("%d/%m/%Y") if day else given
    return given


def acknowledge_label(_: Translator) -> str:
    """The one button of an acknowledgement."""
    # TRANSLATORS: a button confirming a statement: at most 20 characters
    return _("OK ✓")


def item_text(
    definition: FlowDefinition,
    question: Question,
    language: str,
    answers: Mapping[str, Answer],
    _: Translator,
) -> str:
    """What a question or note says, with the answers it names (``${name}``, in a
    repeat its own instance's); a repeat's prompt asks whether to add an instance."""
    if isinstance(question, RepeatPrompt):
        label = definition.repeats[question.group].label[language]
        if question.instance == 1:
            return _("Add “{repeat}”?", repeat=label)
        return "\n".join(
            [
                _("Add another “{repeat}”?", repeat=label),
                _("{count} added so far.", count=question.instance - 1),
            ]
        )
    return shown_text(definition, question.text[language], answers, question.id)


def item_hint(
    definition: FlowDefinition, question: Question, language: str, answers: Mapping[str, Answer]
) -> str | None:
    """A question's or note's hint, with the answers it names."""
    if not question.hint:
        return None
    return shown_text(definition, question.hint[language], answers, question.id)


def repeat_heading(
    definition: FlowDefinition, question: Question, language: str, _: Translator
) -> str | None:
    """Which instance of a repeat a question is asked in ("Household member 2"); None
    outside a repeat and for a prompt."""
    if question.repeat is None or isinstance(question, RepeatPrompt):
        return None
    found = definition.repeat_of(question.id)
    if found is None:
        return None
    repeat, number = found
    # TRANSLATORS: above the questions of one instance of a repeat ("Household member 2")
    return _("{repeat} {number}", repeat=definition.repeats[repeat].label[language], number=number)


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
    if isinstance(question, Time):
        return _("Type a time as hours:minutes (for example 14:30).")
    if isinstance(question, ChoiceQuestion | Acknowledge):
        return None
    return _("Type your answer below.")


def rejection_message(
    _: Translator,
    event: InputRejected,
    *,
    buttons: bool = False,
    question: Question | None = None,
    language: str = "en",
    definition: FlowDefinition | None = None,
    answers: Mapping[str, Answer] | None = None,
) -> str:
    """Why an input was refused; ``buttons``: the host shows options as buttons without
    numbers (a chat app), rather than as a numbered list (the terminal). ``question``
    (in ``language``) gives a refused constraint its own message, with the earlier
    ``answers`` it names (``${name}``) where the host gives them."""
    if event.reason == "constraint":
        own = getattr(question, "constraint_message", None)
        if own and definition is not None:
            within = question.id if question is not None else None
            return shown_text(definition, str(own[language]), answers or {}, within)
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
        "expected_selection": _("Please type the numbers of your choices, for example 1,3."),
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
        "expected_time": _("Please type a time as hours:minutes, with digits (for example 14:30)."),
    }
    return messages[event.reason]


def offered_ids(
    definition: FlowDefinition, question: Question, answers: Mapping[str, Answer]
) -> frozenset[str] | None:
    """The options a choice filter offers now (None: every option)."""
    if not getattr(question, "choice_filter", None):
        return None
    return frozenset(o.id for o in offered_options(definition, question, answers))


def question_text(
    definition: FlowDefinition,
    question: AskedQuestion,
    event: QuestionAsked,
    language: str,
    _: Translator,
    *,
    bold: Callable[[str], str],
    italic: Callable[[str], str],
    escape: Callable[[str], str] = lambda text: text,
    answers: Mapping[str, Answer] | None = None,
) -> str:
    """A question as a chat shows it: its section, "Question n of m", its text and hint
    (with the earlier ``answers`` they name), and for a typed answer the answer given
    before and how to type one (``bold``, ``italic`` and ``escape`` in the chat's
    markup)."""
    lines = []
    answers = answers or {}
    if question.section:
        lines.append(bold(escape(definition.sections[question.section][language])))
    heading = repeat_heading(definition, question, language, _)
    if heading is not None:
        lines.append(bold(escape(heading)))
    lines.append(_("Question {number} of {total}", number=event.number, total=event.total))
    lines.append("")
    lines.append(escape(item_text(definition, question, language, answers, _)))
    hint = item_hint(definition, question, language, answers)
    if hint is not None:
        lines.append(italic(escape(hint)))
    if question.default and event.current_answer is None:
        lines.append(_("Suggested answer: {answer}", answer=escape(suggestion(question, language))))
    how = typing_hint(_, question)
    if how is not None:
        if event.current_answer is not None:
            label = answer_label(question, event.current_answer, language, _)
            lines.append(_("Your answer: {answer}", answer=escape(label)))
        lines.append(how)
    return "\n".join(lines)


def note_text(
    definition: FlowDefinition,
    note: Question,
    language: str,
    answers: Mapping[str, Answer],
    *,
    italic: Callable[[str], str],
    escape: Callable[[str], str] = lambda text: text,
) -> str:
    """A note as a chat shows it: its text and hint, with the answers they name."""
    lines = [escape(shown_text(definition, note.text[language], answers, note.id))]
    hint = item_hint(definition, note, language, answers)
    if hint is not None:
        lines.append(italic(escape(hint)))
    return "\n".join(lines)


@dataclass(frozen=True)
class AnswerButton:
    """One button under a question: its action (c choose, t toggle, d done, s skip,
    p prefer not to answer, k don't know, b back), the option's index (-1: none), its
    label, and its place (options, then the special answers, then back)."""

    action: str
    option: int
    label: str
    place: Literal["option", "special", "back"]


def answer_buttons(
    question: AskedQuestion,
    event: QuestionAsked,
    pending: list[str],
    language: str,
    _: Translator,
    offered: Collection[str] | None = None,
) -> list[AnswerButton]:
    """The buttons under a question, the same on every chat app: the options (ticked or
    not in a multi-select, then "Done"; the current answer marked; only those
    ``offered`` where a choice filter keeps some), skip if optional, prefer not to
    answer, don't know if allowed, and back after the first question."""
    buttons: list[AnswerButton] = []
    if isinstance(question, MultiSelect):
        for i, option in enumerate(question.options):
            if offered is not None and option.id not in offered:
                continue
            mark = "☑" if option.id in pending else "☐"
            buttons.append(AnswerButton("t", i, f"{mark} {option.label[language]}", "option"))
        # TRANSLATORS: a button: at most 20 characters (or WhatsApp shows a list)
        buttons.append(AnswerButton("d", -1, _("Done ✓"), "option"))
    elif isinstance(question, ChoiceQuestion):
        current = event.current_answer
        for i, option in enumerate(question.options):
            if offered is not None and option.id not in offered:
                continue
            chosen = isinstance(current, ChoiceAnswer) and current.option == option.id
            label = option_label(question, option, language, _)
            buttons.append(AnswerButton("c", i, f"✓ {label}" if chosen else label, "option"))
    elif isinstance(question, Acknowledge):
        buttons.append(AnswerButton("c", 0, acknowledge_label(_), "option"))
    if question.default and event.current_answer is None and typing_hint(_, question):
        # TRANSLATORS: a button answering with the suggested answer: at most 20 characters
        buttons.append(AnswerButton("u", -1, _("Use the suggestion"), "option"))
    if not isinstance(question, RepeatPrompt):  # (a prompt is yes or no, nothing else)
        if question.optional:
            # TRANSLATORS: a button: at most 20 characters (or WhatsApp shows a list)
            buttons.append(AnswerButton("s", -1, _("Skip"), "special"))
        # TRANSLATORS: a button: at most 20 characters (or WhatsApp shows a list)
        buttons.append(AnswerButton("p", -1, _("Prefer not to answer"), "special"))
        if question.allow_dont_know:
            # TRANSLATORS: a button: at most 20 characters (or WhatsApp shows a list)
            buttons.append(AnswerButton("k", -1, _("Don't know"), "special"))
    if event.number > 1:
        # TRANSLATORS: a button: at most 20 characters (or WhatsApp shows a list)
        buttons.append(AnswerButton("b", -1, _("◀ Back"), "back"))
    return buttons


def data_kept_lines(
    kept: DataKept,
    table: WeightTable,
    _: Translator,
    *,
    bold: Callable[[str], str],
    escape: Callable[[str], str] = lambda text: text,
) -> list[str]:
    """What is kept about a returnee, as they read it on any chat app: reference,
    country, return date, language, consent history, their profile and the assistance
    recorded, each survey with every answer and its scores (with the provisional note),
    and how much named feedback."""
    lang = kept.language
    consent_kinds = {"given": _("given"), "declined": _("declined"), "withdrawn": _("withdrawn")}
    events = ", ".join(f"{consent_kinds.get(kind, kind)} {day}" for kind, day in kept.consent)
    lines = [
        _("What is kept about you:"),
        _("Reference: {ref}", ref=escape(kept.case_ref or "-")),
        _("Country: {country}", country=kept.country or "-"),
        _("Return date: {date}", date=kept.return_date or "-"),
        _("Language: {language}", language=languages().name(lang)),
        _("Consent: {events}", events=events or "-"),
    ]
    if kept.first_name:
        lines.append(_("First name: {name}", name=escape(kept.first_name)))
    for attribute, shown in kept.profile:
        lines.append(f"{escape(attribute)}: {escape(shown)}")
    if kept.phone_ending:
        lines.append(_("Phone number for WhatsApp, ending in {digits}", digits=kept.phone_ending))
    if kept.assistance:
        lines.append(
            _("Assistance recorded: {items}",
              items="; ".join(f"{escape(t)} ({escape(s)})" for t, s in kept.assistance))
        )  # fmt: skip
    for survey in kept.surveys:
        lines.append("")
        status = _("completed") if survey.completed else _("in progress")
        lines.append(
            f"{bold(escape(wave_label(_, survey.wave)))} · {status} · "
            + _("answers: {count}", count=len(survey.answers))
        )
        for question, value in survey.answers:
            label = answer_label(question, value, lang, _)
            named = question.text.get(lang) or question.id  # (a calculation has no text)
            lines.append(f"• {escape(named)}: {escape(label)}")
        for dimension, score in survey.scores.items():
            lines.append(f"{dimension_label(_, dimension)}: {_.score(score)}")
        if survey.provisional:
            lines.append(provisional_note(_, table.provisional_weights, len(table.elements)))
    lines.append("")
    lines.append(_("Feedback you sent with your name: {count}", count=kept.feedback))
    lines.append(_("To erase everything, send /delete."))
    return lines


def help_lines(_: Translator) -> list[str]:
    """What a returnee can do, on any chat app (typed commands or keywords)."""
    return [
        _("Answer each question with the buttons under it."),
        _("/language - change the language"),
        _("/mydata - see what is kept about you"),
        _("/feedback - tell us about the help you received"),
        _("/audio - voice notes with the questions, on or off"),
        _("/stop - stop all messages"),
        _("/delete - erase everything kept about you"),
    ]


def feedback_prompt(_: Translator, anonymous: bool) -> str:
    """Asking for the feedback itself: written, or (with the returnee's name) spoken."""
    if anonymous:
        return _("Please write your feedback in one message. Send /cancel to stop.")
    return _(
        "Please write your feedback in one message, or send it as a voice note. "
        "Send /cancel to stop."
    )


def voice_refused(_: Translator, problem: str) -> str:
    """Why a voice note was not kept as feedback (:meth:`FeedbackDesk.check_voice`)."""
    if problem == "voice_anonymous":
        return _(
            "A voice can be recognised, so anonymous feedback is written only. Please write "
            "it, or send /cancel, then /feedback to send it with your name."
        )
    if problem == "voice_format":
        return _(
            "This recording cannot be kept. Please send a voice note recorded in the app, or "
            "write your feedback."
        )
    return _(
        "Your voice note is too long: at most {minutes} minutes, please.",
        minutes=MAX_VOICE_SECONDS // 60,
    )


def audio_switched(_: Translator, on: bool) -> str:
    """What a returnee reads after switching voice notes on or off."""
    if on:
        return _(
            "Voice notes are on: questions that have a recording come with it. "
            "Send /audio to switch them off."
        )
    return _("Voice notes are off. Send /audio to hear the questions again.")


def audio_off_button(_: Translator) -> str:
    # TRANSLATORS: a button under a question's voice note: at most 20 characters
    return _("🔇 Audio off")


def thanks_lines(_: Translator, scores: Mapping[str, Any] | None) -> list[str]:
    """The end of a survey: thanks, the scores (``scores``: when returnees are shown
    them), and where to send feedback."""
    lines = [_("Thank you! You have answered all the questions. Your answers are saved.")]
    if scores is not None:
        for dimension in ("economic", "social", "psychosocial", "composite"):
            lines.append(f"{dimension_label(_, dimension)}: {_.score(scores[dimension])}")
    lines.append(_("You can send /feedback about the help you received at any time."))
    return lines


def typed_refusal_text(_: Translator, refusal: str) -> str:
    """What a returnee reads when typed text is not an answer
    (:func:`bot.core.survey.typed_refusal`)."""
    if refusal == "not_invited":
        return not_invited(_)
    if refusal == "consent_required":
        return _("Send /start to take part.")
    return _("I do not know this command. Send /help to see what I can do.")


def not_invited(_: Translator) -> str:
    """To someone who writes without having opened an invitation."""
    return _(
        "Hello! This bot is for people invited by the team that assisted their "
        "return. Please open the invitation link you received. Nothing has been "
        "stored about you."
    )


def invitation_problem(_: Translator, reason: str) -> str:
    """Why an invitation cannot be opened (:class:`storage.store.InviteProblem`)."""
    texts = {
        "used": _(
            "This invitation link has already been used. If it was not you, "
            "please tell your caseworker."
        ),
        "expired": _("This invitation link has expired. Please ask your caseworker for a new one."),
        "taken": _("You are already registered with another invitation."),
    }
    return texts.get(reason) or _(
        "This invitation link is not valid. Please ask your caseworker "
        "for a new one. Nothing has been stored about you."
    )


def reminder_text(
    _: Translator, wave: str, started: bool, *, button_max: int | None = None
) -> tuple[str, str]:
    """A reminder of a follow-up survey and the label of its button (start, or continue
    when part of it is answered); with ``button_max`` (a chat app's limit on a button's
    title), a shorter label where the full one would be cut."""
    if started:
        full, short = _("Continue the survey"), _("Continue")
    else:
        full, short = _("Start the survey"), _("Start")
    label = full if button_max is None or len(full) <= button_max else short
    if started:
        text = _(
            "Hello! You have answered part of your {wave} survey. You can continue where "
            "you stopped: press the button.",
            wave=wave_label(_, wave),
        )
        return text, label
    text = _(
        "Hello! It is time for your {wave} survey. It takes about 10 minutes, and you "
        "can stop and continue later. Press the button to start.",
        wave=wave_label(_, wave),
    )
    return text, label


def private_only_line(language_code: str | None) -> str:
    """The one line a group gets (Telegram or WhatsApp): write in a private chat."""
    _ = Translator(proposed_language(language_code))
    return _("Please write to me in a private chat.")
