"""The survey on Telegram: the host that renders the conversation core's outcomes (questions
with their buttons, refusals, closing answered questions, thanks), survey buttons,
the reminder's "start the survey" button, typed answers and anything else sent.

Every handler is patient: bad input gets a short answer in the returnee's language and
the current question again; nothing already given is lost, because every accepted input
is stored (encrypted) before the next question is sent.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, F, Router
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Message, Update

from bot.core.survey import Applied, OpenWave, Read, asked_event, button_input, typed_refusal
from bot.i18n import Translator
from bot.telegram.audio import play
from bot.telegram.edits import quietly
from bot.telegram.keyboards import (
    ResumeCB,
    SurveyCB,
    question_keyboard,
)
from bot.telegram.middlewares import prompt_shown
from bot.telegram.services import Services
from bot.texts import (
    answer_label,
    note_text,
    question_text,
    rejection_message,
    thanks_lines,
    typed_refusal_text,
)
from flows.engine import Step
from flows.model import Calculate, MultiSelect, NotAsked, Question
from flows.state import (
    Answer,
    AnswerRecorded,
    Input,
    InputRejected,
    NoteShown,
    QuestionAsked,
    Resume,
    SelectionChanged,
    SurveyCompleted,
    Text,
)
from scoring import ScoreResult
from storage.store import (
    ReturneeInfo,
)

log = logging.getLogger(__name__)


# -- the survey host -------------------------------------------------------------------


class SurveyHost:
    """Runs one returnee's survey on Telegram: engine steps in, messages out."""

    def __init__(
        self,
        svc: Services,
        bot: Bot,
        chat_id: int,
        returnee: ReturneeInfo,
        update_id: int | None = None,
        *,
        redelivered: bool = False,
        open_survey: Read = "unread",
    ) -> None:
        self.svc, self.bot, self.chat_id, self.returnee = svc, bot, chat_id, returnee
        self.core = svc.survey
        #: the update being handled: recorded as applied together with the answer
        self.update_id = update_id
        #: this update's answer is already stored (its first handling died before the
        #: reply): show where the returnee is instead of applying it again
        self.redelivered = redelivered
        self.lang = self.core.language_for(returnee.language)
        self._ = Translator(self.lang)
        #: the survey in progress as read with the update (used once: see current())
        self._read_with_update = open_survey
        #: the survey as last read: the message showing its question is retired on reply
        self.opened: OpenWave | None = None
        #: the scores of the survey this update completed
        self.scores: ScoreResult | None = None

    def _read(self) -> Read:
        """The survey read with the update, the first time; afterwards, read afresh."""
        found, self._read_with_update = self._read_with_update, "unread"
        return found

    async def current(self) -> OpenWave | None:
        """The survey to answer now (:meth:`SurveyService.open_wave`)."""
        self.opened = await self.core.open_wave(
            self.returnee.id, self.returnee.return_date, self._read()
        )
        return self.opened

    async def apply(self, inp: Input, *, source: Message | None = None) -> None:
        """Feed one input to the survey that is open and show what follows."""
        if self.redelivered:
            await self.resend_current()
            return
        applied = await self.core.apply(
            self.returnee.id,
            await self.current(),
            inp,
            language=self.returnee.language,
            update_id=self.update_id,
        )
        await self.show(applied, source=source)

    async def show(self, applied: Applied, *, source: Message | None) -> None:
        """Render what an input did (:meth:`SurveyService.apply`)."""
        if applied.outcome == "no_survey":
            await self.bot.send_message(
                self.chat_id,
                self._(
                    "There is no survey for you right now. We will send you a message when it "
                    "is time. Thank you!"
                ),
            )
        elif applied.outcome == "consent_required":
            await self.bot.send_message(self.chat_id, self._("Send /start to take part."))
        elif applied.outcome == "applied_before":
            # a copy of this update handled at the same time stored it: that copy replies
            # (if it dies first, Telegram delivers the update again: the current question)
            return
        elif applied.step is not None:
            self.scores = applied.scores
            await self.render(applied.step, source=source)

    async def resend_current(self) -> None:
        """What follows an input that was stored before: the current question, or the
        thanks of a survey that this input completed."""
        standing = await self.core.standing(
            self.returnee.id, self.returnee.return_date, self._read()
        )
        self.opened = standing.current
        if standing.step is not None:
            await self.render(standing.step, source=None)
        else:
            await self.thank(standing.scores)

    async def render(self, step: Step, *, source: Message | None) -> None:
        """Show what a step did. Closing the answered question (an edit) runs while what
        follows is sent, so the returnee waits for one round trip to Telegram, not two;
        both end before the update does (a failure still fails the update)."""
        closing: list[asyncio.Future[None]] = []
        try:
            await self._render(step, source, closing)
        finally:
            outcomes = await asyncio.gather(*closing, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _render(
        self,
        step: Step,
        source: Message | None,
        closing: list[asyncio.Future[None]],
    ) -> None:
        definition, _ = self.svc.definition, self._
        for event in step.events:
            if isinstance(event, InputRejected):
                refused = definition.question(event.question) if event.question else None
                await self.bot.send_message(
                    self.chat_id,
                    rejection_message(
                        _,
                        event,
                        buttons=True,
                        question=refused,
                        language=self.lang,
                        definition=definition,
                        answers=step.state.answers,
                    ),
                )
                if event.question is not None:
                    self._retire_prompt(source, closing)
                    await self.ask(step, definition.question(event.question), None)
            elif (
                isinstance(event, AnswerRecorded)
                and source is not None
                and not isinstance(definition.question(event.question), Calculate)
            ):
                question = definition.question(event.question)
                label = answer_label(question, event.answer, self.lang, _)
                if source.from_user is not None and source.from_user.is_bot:
                    closing.append(asyncio.ensure_future(self._close_question(source, label)))
            elif isinstance(event, SelectionChanged) and source is not None:
                question = definition.question(event.question)
                assert isinstance(question, MultiSelect)
                await quietly(
                    source.edit_reply_markup(
                        reply_markup=question_keyboard(
                            definition,
                            question,
                            asked_event(definition, step, question),
                            list(event.selected),
                            step.state.seq,
                            self.lang,
                            _,
                            step.state.answers,
                        )
                    )
                )
            elif isinstance(event, NoteShown):
                self._retire_prompt(source, closing)
                await self.show_note(definition.question(event.question), step.state.answers)
            elif isinstance(event, QuestionAsked):
                self._retire_prompt(source, closing)
                await self.ask(step, definition.question(event.question), event)
            elif isinstance(event, SurveyCompleted):
                self._retire_prompt(source, closing)
                await self.thank(None if self.scores is None else self.scores.as_dict())

    def _retire_prompt(self, source: Message | None, closing: list[asyncio.Future[None]]) -> None:
        """Take the buttons off the message that showed the question until now (answered
        by typing, or sent again after a sticker, stray text or a restart), while what
        follows is sent. Not the pressed message: that one is closed with its answer."""
        old = self.opened.prompt if self.opened is not None else None
        if old is None or (source is not None and source.message_id == old):
            return
        self.opened = None  # (once)
        closing.append(asyncio.ensure_future(self._remove_buttons(old)))

    async def _remove_buttons(self, message_id: int) -> None:
        await quietly(
            self.bot.edit_message_reply_markup(
                chat_id=self.chat_id, message_id=message_id, reply_markup=None
            )
        )

    async def _close_question(self, message: Message, label: str) -> None:
        """Keep the question on screen with the answer under it, without buttons."""
        text = message.html_text if message.text else ""
        await quietly(
            message.edit_text(f"{text}\n\n✓ <b>{html.escape(label)}</b>", reply_markup=None)
        )

    async def show_note(self, note: Question, answers: Mapping[str, Answer]) -> None:
        await play(self.svc, self.bot, self.chat_id, self.returnee, note, self.lang, self._)
        text = note_text(
            self.svc.definition,
            note,
            self.lang,
            answers,
            italic=lambda t: f"<i>{t}</i>",
            escape=html.escape,
        )
        await self.bot.send_message(self.chat_id, text)

    async def ask(self, step: Step, question: Question, event: QuestionAsked | None) -> None:
        definition, _ = self.svc.definition, self._
        assert not isinstance(question, NotAsked)  # (notes and calculations are never asked)
        if event is None:
            event = asked_event(definition, step, question)
        else:  # (asked now, not again after a refused answer)
            await play(self.svc, self.bot, self.chat_id, self.returnee, question, self.lang, _)
        text = question_text(
            definition,
            question,
            event,
            self.lang,
            _,
            bold=lambda t: f"<b>{t}</b>",
            italic=lambda t: f"<i>{t}</i>",
            escape=html.escape,
            answers=step.state.answers,
        )
        sent = await self.bot.send_message(
            self.chat_id,
            text,
            reply_markup=question_keyboard(
                definition,
                question,
                event,
                step.state.pending,
                step.state.seq,
                self.lang,
                _,
                step.state.answers,
            ),
        )
        await prompt_shown(self.svc, self.returnee.id, sent.message_id)

    async def thank(self, scores: Mapping[str, Any] | None) -> None:
        """The end of a survey: thanks, and the scores if returnees are shown them."""
        lines = thanks_lines(self._, scores if self.svc.show_scores else None)
        await self.bot.send_message(self.chat_id, "\n".join(lines))


async def continue_survey(
    svc: Services, bot: Bot, chat_id: int, returnee: ReturneeInfo, update_id: int | None = None
) -> None:
    """Show the returnee where their survey stands (the current question, or why none);
    with the update's id, two copies of it handled at once show it once."""
    await SurveyHost(svc, bot, chat_id, returnee, update_id).apply(Resume())


# -- the survey: buttons and typed answers -------------------------------------------------


async def on_survey_button(
    query: CallbackQuery,
    callback_data: SurveyCB,
    svc: Services,
    bot: Bot,
    returnee: ReturneeInfo | None,
    event_update: Update,
    _: Translator,
    redelivered: bool = False,
    open_survey: Read = "unread",
) -> AnswerCallbackQuery | None:
    inp = button_input(
        svc.definition,
        callback_data.action,
        callback_data.question,
        callback_data.option,
        callback_data.seq,
    )
    if returnee is None or returnee.status != "active" or inp is None:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return None
    host = SurveyHost(
        svc, bot, query.from_user.id, returnee, event_update.update_id, open_survey=open_survey
    )
    if redelivered:  # the press was applied before; its reply may never have been sent
        await host.resend_current()
        return query.answer()
    applied = await host.core.press(
        returnee.id,
        await host.current(),
        inp,
        language=returnee.language,
        update_id=event_update.update_id,
    )
    rejected = applied.rejected
    if applied.expired_button:
        latest = (
            _("This button is no longer active. Please answer the latest question.")
            if rejected is not None
            else _("This button is no longer active.")
        )
        await query.answer(latest, show_alert=True)
        return None
    if rejected is not None:
        message = rejection_message(_, rejected, buttons=True, language=host.lang)
        await query.answer(message, show_alert=True)
        return None
    await host.show(applied, source=query.message if isinstance(query.message, Message) else None)
    # answered through the webhook's HTTP response (or right after, when polling): one
    # call fewer per press, and the button's spinner lasts until the next question is there
    return query.answer()


async def on_resume_button(
    query: CallbackQuery, svc: Services, bot: Bot, returnee: ReturneeInfo | None, _: Translator
) -> None:
    """'Start the survey' under a reminder."""
    if returnee is None or returnee.status != "active":
        await query.answer(_("Send /start to take part."), show_alert=True)
        return
    await query.answer()
    await SurveyHost(svc, bot, query.from_user.id, returnee).apply(Resume())


async def on_text(
    message: Message,
    svc: Services,
    bot: Bot,
    returnee: ReturneeInfo | None,
    event_update: Update,
    _: Translator,
    redelivered: bool = False,
    open_survey: Read = "unread",
) -> None:
    text = message.text or ""
    refusal = typed_refusal(returnee, text)
    if refusal is not None or returnee is None:
        await message.answer(typed_refusal_text(_, refusal or "not_invited"))
        if refusal == "unknown_command" and returnee is not None:
            await continue_survey(svc, bot, message.chat.id, returnee)
        return
    await SurveyHost(
        svc,
        bot,
        message.chat.id,
        returnee,
        event_update.update_id,
        redelivered=redelivered,
        open_survey=open_survey,
    ).apply(Text(text=text), source=message)


async def on_other(
    message: Message, svc: Services, bot: Bot, returnee: ReturneeInfo | None, _: Translator
) -> None:
    """Stickers, photos, voice notes, locations...: say what works, then the question again."""
    await message.answer(_("I can only read text messages and button presses."))
    if returnee is not None and returnee.status == "active":
        await continue_survey(svc, bot, message.chat.id, returnee)


def build_buttons_router() -> Router:
    """Survey button presses, most of a bot's updates, on a router of their own that the
    dispatcher tries first: a press is not tested against every other button's filter."""
    router = Router(name="survey")
    router.callback_query.register(on_survey_button, SurveyCB.filter())
    router.callback_query.register(on_resume_button, ResumeCB.filter())
    return router


def build_text_router() -> Router:
    """Typed answers, then anything else (stickers, photos...): the last router."""
    router = Router(name="survey-text")
    router.message.register(on_text, F.text)
    router.message.register(on_other)
    return router
