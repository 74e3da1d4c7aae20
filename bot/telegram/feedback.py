"""Confidential feedback on Telegram: /feedback, with name or anonymously, a rating, then
one text message (/cancel stops)."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.core import feedback
from bot.i18n import Translator
from bot.telegram.edits import remove_keyboard
from bot.telegram.keyboards import (
    FeedbackCB,
    anonymity_keyboard,
    rating_keyboard,
)
from bot.telegram.services import Services
from bot.telegram.survey import continue_survey
from storage.store import (
    ReturneeInfo,
)

log = logging.getLogger(__name__)


class FeedbackFlow(StatesGroup):
    #: FSM data holds only the anonymity choice and the rating, never the text
    text = State()


# -- feedback ------------------------------------------------------------------------------


async def _feedback_refused(
    message: Message, returnee: ReturneeInfo | None, _: Translator, refused: str = "no_consent"
) -> None:
    if refused == "limit_reached":
        await message.answer(_limit_text(_))
    elif returnee is None:
        await message.answer(_("Please open the invitation link you received first."))
    else:
        await message.answer(
            _("You can send feedback once you have agreed to take part: send /start.")
        )


def _limit_text(_: Translator) -> str:
    return _(
        "You have sent as much feedback as one can in a day ({limit} messages). Please "
        "write again tomorrow.",
        limit=feedback.PER_DAY,
    )


async def on_feedback(
    message: Message, svc: Services, state: FSMContext, returnee: ReturneeInfo | None, _: Translator
) -> None:
    await state.clear()
    refused = await svc.feedback.may_start(returnee)
    if refused is not None:
        await _feedback_refused(message, returnee, _, refused)
        return
    await message.answer(
        _(
            "Your feedback on the help you received is confidential. Do you want to send it "
            "with your name, or anonymously (nobody can link it to you)?"
        ),
        reply_markup=anonymity_keyboard(_),
    )


async def on_feedback_anonymity(
    query: CallbackQuery,
    callback_data: FeedbackCB,
    state: FSMContext,
    returnee: ReturneeInfo | None,
    _: Translator,
) -> None:
    if feedback.FeedbackDesk.may_send(returnee) is not None:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await state.update_data(anonymous=bool(callback_data.value))
    if isinstance(query.message, Message):
        await remove_keyboard(query.message)
        await query.message.answer(
            _("How would you rate the help you received, from 1 (very bad) to 5 (very good)?"),
            reply_markup=rating_keyboard(_),
        )


async def on_feedback_rating(
    query: CallbackQuery,
    callback_data: FeedbackCB,
    state: FSMContext,
    returnee: ReturneeInfo | None,
    _: Translator,
) -> None:
    data = await state.get_data()
    if (
        feedback.FeedbackDesk.may_send(returnee) is not None
        or "anonymous" not in data
        or not 0 <= callback_data.value <= 5
    ):
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    await state.update_data(rating=callback_data.value or None)
    await state.set_state(FeedbackFlow.text)
    if isinstance(query.message, Message):
        await remove_keyboard(query.message)
        await query.message.answer(
            _("Please write your feedback in one message. Send /cancel to stop.")
        )


async def on_cancel(
    message: Message, state: FSMContext, returnee: ReturneeInfo | None, _: Translator
) -> None:
    await state.clear()
    await message.answer(_("Cancelled."))


async def on_feedback_text(
    message: Message,
    svc: Services,
    bot: Bot,
    state: FSMContext,
    returnee: ReturneeInfo | None,
    _: Translator,
) -> None:
    refused = feedback.FeedbackDesk.may_send(returnee)
    if refused is not None:
        await state.clear()
        await _feedback_refused(message, returnee, _, refused)
        return
    problem = feedback.FeedbackDesk.check_text(message.text or "")
    if problem == "empty":
        await message.answer(_("Please write your feedback as a text message, or send /cancel."))
        return
    if problem == "too_long":
        limit = feedback.MAX_FEEDBACK
        await message.answer(
            _("Your message is too long: at most {limit} characters, please.", limit=limit)
        )
        return
    data = await state.get_data()
    sent = await svc.feedback.send(
        returnee,
        message.text or "",
        rating=data.get("rating"),
        anonymous=bool(data.get("anonymous")),
    )
    if sent.receipt is None or returnee is None:
        await state.clear()
        await _feedback_refused(message, returnee, _, sent.refused or "no_consent")
        return
    receipt = sent.receipt
    await state.clear()
    await message.answer(
        _("Thank you. Your feedback was received. Your receipt code is {code}.", code=receipt)
    )
    if await svc.store.wave_in_progress(returnee.id):
        await continue_survey(svc, bot, message.chat.id, returnee)


def build_router() -> Router:
    router = Router(name="feedback")
    router.message.register(on_feedback, Command("feedback"))
    router.callback_query.register(on_feedback_anonymity, FeedbackCB.filter(F.step == "anon"))
    router.callback_query.register(on_feedback_rating, FeedbackCB.filter(F.step == "rating"))
    router.message.register(on_cancel, Command("cancel"))
    router.message.register(on_feedback_text, StateFilter(FeedbackFlow.text))
    return router
