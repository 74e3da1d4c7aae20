"""Confidential feedback on Telegram: /feedback, with name or anonymously, a rating, then
one text message, or a voice note with the returnee's name (/cancel stops). The choices
are kept as a draft (:mod:`bot.feedback_drafts`, as on WhatsApp), read only for a message
that may be the feedback."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, Filter
from aiogram.types import CallbackQuery, Message

from bot.core import feedback
from bot.feedback_drafts import FeedbackDraft
from bot.i18n import Translator
from bot.telegram.edits import remove_keyboard
from bot.telegram.keyboards import (
    FeedbackCB,
    anonymity_keyboard,
    rating_keyboard,
)
from bot.telegram.services import Services
from bot.telegram.survey import continue_survey
from bot.texts import feedback_prompt, voice_refused
from storage.store import (
    ReturneeInfo,
    Voice,
)

log = logging.getLogger(__name__)


class AwaitingFeedbackText(Filter):
    """A message from a returnee whose feedback waits for its text (hands the handler
    its ``draft``)."""

    async def __call__(
        self, message: Message, svc: Services, returnee: ReturneeInfo | None
    ) -> bool | dict[str, FeedbackDraft]:
        if returnee is None:
            return False
        draft = await svc.drafts.get(returnee.id)
        return {"draft": draft} if draft is not None and draft.awaiting_text else False


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
    message: Message, svc: Services, returnee: ReturneeInfo | None, _: Translator
) -> None:
    refused = await svc.feedback.may_start(returnee)
    if refused is not None or returnee is None:
        await _feedback_refused(message, returnee, _, refused or "no_consent")
        return
    await svc.drafts.put(returnee.id, FeedbackDraft())
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
    svc: Services,
    returnee: ReturneeInfo | None,
    _: Translator,
) -> None:
    draft = await svc.drafts.get(returnee.id) if returnee is not None else None
    if draft is None or returnee is None or feedback.FeedbackDesk.may_send(returnee) is not None:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    draft.anonymous = bool(callback_data.value)
    await svc.drafts.put(returnee.id, draft)
    if isinstance(query.message, Message):
        await remove_keyboard(query.message)
        await query.message.answer(
            _("How would you rate the help you received, from 1 (very bad) to 5 (very good)?"),
            reply_markup=rating_keyboard(_),
        )


async def on_feedback_rating(
    query: CallbackQuery,
    callback_data: FeedbackCB,
    svc: Services,
    returnee: ReturneeInfo | None,
    _: Translator,
) -> None:
    draft = await svc.drafts.get(returnee.id) if returnee is not None else None
    if (
        draft is None
        or returnee is None
        or feedback.FeedbackDesk.may_send(returnee) is not None
        or draft.anonymous is None
        or not 0 <= callback_data.value <= 5
    ):
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    draft.rating, draft.awaiting_text = callback_data.value or None, True
    await svc.drafts.put(returnee.id, draft)
    if isinstance(query.message, Message):
        await remove_keyboard(query.message)
        await query.message.answer(feedback_prompt(_, bool(draft.anonymous)))


async def on_cancel(
    message: Message, svc: Services, returnee: ReturneeInfo | None, _: Translator
) -> None:
    if returnee is not None:
        await svc.drafts.drop(returnee.id)
    await message.answer(_("Cancelled."))


async def on_feedback_text(
    message: Message,
    svc: Services,
    bot: Bot,
    draft: FeedbackDraft,
    returnee: ReturneeInfo,
    _: Translator,
) -> None:
    refused = feedback.FeedbackDesk.may_send(returnee)
    if refused is not None:
        await svc.drafts.drop(returnee.id)
        await _feedback_refused(message, returnee, _, refused)
        return
    if message.voice is not None or message.audio is not None:
        await _feedback_voice(message, svc, bot, draft, returnee, _)
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
    await svc.drafts.drop(returnee.id)
    sent = await svc.feedback.send(
        returnee, message.text or "", rating=draft.rating, anonymous=bool(draft.anonymous)
    )
    if sent.receipt is None:
        await _feedback_refused(message, returnee, _, sent.refused or "no_consent")
        return
    await _received(message, svc, bot, returnee, sent.receipt, _)


async def _received(
    message: Message,
    svc: Services,
    bot: Bot,
    returnee: ReturneeInfo,
    receipt: str,
    _: Translator,
) -> None:
    await message.answer(
        _("Thank you. Your feedback was received. Your receipt code is {code}.", code=receipt)
    )
    if await svc.store.wave_in_progress(returnee.id):
        await continue_survey(svc, bot, message.chat.id, returnee)


async def _feedback_voice(
    message: Message,
    svc: Services,
    bot: Bot,
    draft: FeedbackDraft,
    returnee: ReturneeInfo,
    _: Translator,
) -> None:
    """A voice note as the feedback: checked (named feedback only, format, size, length)
    before it is fetched from Telegram, then kept encrypted."""
    note = message.voice or message.audio
    assert note is not None
    mime = note.mime_type or "audio/ogg"
    problem = feedback.FeedbackDesk.check_voice(
        mime, note.file_size or 0, note.duration, anonymous=bool(draft.anonymous)
    )
    if problem is not None:
        await message.answer(voice_refused(_, problem))
        return
    file = await bot.get_file(note.file_id)
    if file.file_path is None:
        await message.answer(voice_refused(_, "voice_format"))
        return
    data = await bot.download_file(file.file_path)
    assert data is not None
    voice = Voice(data.read(), mime, note.duration or 0)
    await svc.drafts.drop(returnee.id)
    sent = await svc.feedback.send_voice(
        returnee, voice, rating=draft.rating, anonymous=bool(draft.anonymous)
    )
    if sent.receipt is None:
        refused = sent.refused or "no_consent"
        if refused.startswith("voice_"):
            await svc.drafts.put(returnee.id, draft)
            await message.answer(voice_refused(_, refused))
        else:
            await _feedback_refused(message, returnee, _, refused)
        return
    await _received(message, svc, bot, returnee, sent.receipt, _)


def build_router() -> Router:
    router = Router(name="feedback")
    router.message.register(on_feedback, Command("feedback"))
    router.callback_query.register(on_feedback_anonymity, FeedbackCB.filter(F.step == "anon"))
    router.callback_query.register(on_feedback_rating, FeedbackCB.filter(F.step == "rating"))
    router.message.register(on_cancel, Command("cancel"))
    router.message.register(on_feedback_text, AwaitingFeedbackText())
    return router
