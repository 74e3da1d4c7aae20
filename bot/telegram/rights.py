"""A returnee's rights on Telegram, from any state: /stop (and STOP words), /mydata,
/delete; blocking the bot marks them unreachable."""

from __future__ import annotations

import html
import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from bot.i18n import Translator
from bot.keywords import is_stop_word
from bot.telegram.edits import remove_keyboard, send_long
from bot.telegram.keyboards import (
    LANGUAGE_NAMES,
    DeleteCB,
    delete_keyboard,
)
from bot.telegram.services import Services
from bot.texts import (
    answer_label,
    dimension_label,
    provisional_note,
    wave_label,
)
from storage.store import (
    ReturneeInfo,
)

log = logging.getLogger(__name__)


async def on_stop(
    message: Message, svc: Services, state: FSMContext, returnee: ReturneeInfo | None, _: Translator
) -> None:
    await state.clear()
    if await svc.rights.stop(returnee) == "not_registered":
        await message.answer(_("You are not registered. Nothing is kept about you."))
        return
    await message.answer(
        _(
            "You will not receive any more messages from us. What you answered is kept until "
            "you erase it with /delete. To take part again, send /start."
        )
    )


async def on_delete(
    message: Message, state: FSMContext, returnee: ReturneeInfo | None, _: Translator
) -> None:
    await state.clear()
    if returnee is None:
        await message.answer(_("Nothing is kept about you."))
        return
    await message.answer(
        _("Do you want to erase everything kept about you? This cannot be undone."),
        reply_markup=delete_keyboard(_),
    )


async def on_delete_confirm(
    query: CallbackQuery,
    callback_data: DeleteCB,
    svc: Services,
    returnee: ReturneeInfo | None,
    _: Translator,
) -> None:
    if returnee is None:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await remove_keyboard(query.message)
        if callback_data.confirm:
            await svc.rights.erase(returnee)
            await query.message.answer(
                _("Everything kept about you has been erased. Goodbye, and good luck.")
            )
        else:
            await query.message.answer(_("Nothing was erased."))


async def on_mydata(
    message: Message, svc: Services, returnee: ReturneeInfo | None, _: Translator
) -> None:
    if returnee is None:
        await message.answer(_("Nothing is kept about you."))
        return
    kept = await svc.rights.data_kept(returnee)
    lang = returnee.language
    consent_kinds = {"given": _("given"), "declined": _("declined"), "withdrawn": _("withdrawn")}
    events = ", ".join(f"{consent_kinds.get(kind, kind)} {day}" for kind, day in kept.consent)
    lines = [
        _("What is kept about you:"),
        _("Reference: {ref}", ref=html.escape(kept.case_ref or "-")),
        _("Country: {country}", country=kept.country or "-"),
        _("Return date: {date}", date=kept.return_date or "-"),
        _("Language: {language}", language=LANGUAGE_NAMES.get(lang, lang)),
        _("Consent: {events}", events=events or "-"),
    ]
    table = svc.table
    for survey in kept.surveys:
        lines.append("")
        status = _("completed") if survey.completed else _("in progress")
        lines.append(
            f"<b>{html.escape(wave_label(_, survey.wave))}</b> · {status} · "
            + _("answers: {count}", count=len(survey.answers))
        )
        for question, value in survey.answers:
            label = answer_label(question, value, lang, _)
            lines.append(f"• {html.escape(question.text[lang])}: {html.escape(label)}")
        for dimension, score in survey.scores.items():
            lines.append(f"{dimension_label(_, dimension)}: {_.score(score)}")
        if survey.provisional:
            lines.append(provisional_note(_, table.provisional_weights, len(table.elements)))
    lines.append("")
    lines.append(_("Feedback you sent with your name: {count}", count=kept.feedback))
    lines.append(_("To erase everything, send /delete."))
    await send_long(message, "\n".join(lines))


async def on_membership(update: ChatMemberUpdated, svc: Services) -> None:
    """Blocked (kicked) marks the returnee unreachable; unblocking needs a /start."""
    if update.new_chat_member.status == "kicked":
        returnee = await svc.store.find_by_telegram(update.from_user.id)
        if returnee is not None:
            await svc.store.set_status(returnee.id, "unreachable")
            log.info("returnee %s blocked the bot: marked unreachable", returnee.public_id)


async def stop_word(message: Message) -> bool:
    """STOP, ARRET, توقف... as a whole message, in any case (:mod:`bot.keywords`)."""
    return message.text is not None and is_stop_word(message.text)


def build_router() -> Router:
    router = Router(name="rights")
    router.message.register(on_stop, Command("stop"))
    router.message.register(on_stop, stop_word)
    router.message.register(on_delete, Command("delete"))
    router.callback_query.register(on_delete_confirm, DeleteCB.filter())
    router.message.register(on_mydata, Command("mydata"))
    router.my_chat_member.register(on_membership)
    return router
