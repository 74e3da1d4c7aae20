"""A returnee's rights on Telegram, from any state: /stop (and STOP words), /mydata,
/delete; blocking the bot marks them unreachable."""

from __future__ import annotations

import html
import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from bot.i18n import Translator
from bot.keywords import is_stop_word
from bot.telegram.edits import remove_keyboard, send_long
from bot.telegram.keyboards import (
    DeleteCB,
    delete_keyboard,
)
from bot.telegram.services import Services
from bot.texts import data_kept_lines
from storage.store import (
    ReturneeInfo,
)

log = logging.getLogger(__name__)


async def on_stop(
    message: Message, svc: Services, returnee: ReturneeInfo | None, _: Translator
) -> None:
    if returnee is not None:
        await svc.drafts.drop(returnee.id)
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
    message: Message, svc: Services, returnee: ReturneeInfo | None, _: Translator
) -> None:
    if returnee is None:
        await message.answer(_("Nothing is kept about you."))
        return
    await svc.drafts.drop(returnee.id)
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
    lines = data_kept_lines(kept, svc.table, _, bold=lambda t: f"<b>{t}</b>", escape=html.escape)
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
