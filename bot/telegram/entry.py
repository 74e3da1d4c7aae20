"""Entering the survey on Telegram: /start with an invitation, the language menu and
/language, the consent question, /help."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message, Update

from bot.consent import consent_text
from bot.i18n import Translator, proposed_language
from bot.telegram.edits import remove_keyboard
from bot.telegram.keyboards import (
    ConsentCB,
    LangCB,
    consent_keyboard,
    language_keyboard,
)
from bot.telegram.services import Services
from bot.telegram.survey import SurveyHost, continue_survey
from bot.texts import help_lines, invitation_problem, not_invited
from flows.state import (
    SetLanguage,
)
from storage.store import (
    InviteProblem,
    ReturneeInfo,
)

log = logging.getLogger(__name__)


# -- entry: /start, language, consent ----------------------------------------------------


async def _ask_consent(svc: Services, bot: Bot, chat_id: int, _: Translator) -> None:
    text = "\n\n".join(consent_text(_, svc.policy))
    await bot.send_message(chat_id, text, reply_markup=consent_keyboard(_))


async def on_start(
    message: Message,
    command: CommandObject,
    svc: Services,
    bot: Bot,
    returnee: ReturneeInfo | None,
    event_update: Update,
    _: Translator,
) -> None:
    if returnee is not None:
        await svc.drafts.drop(returnee.id)  # (a feedback being written is left)
    user = message.from_user
    if user is None:  # (the dispatcher lets none through; nobody to bind an invitation to)
        return
    if returnee is None:
        token = (command.args or "").strip()
        if not token:
            await message.answer(not_invited(_))
            return
        try:
            returnee = await svc.entry.open_invitation(token, user.id, message.chat.id)
        except InviteProblem as problem:
            await message.answer(invitation_problem(_, problem.reason))
            return
        proposed = proposed_language(user.language_code)
        _ = Translator(proposed)
        await message.answer(
            _("Welcome! Please choose your language."),
            reply_markup=language_keyboard(proposed, "start", svc.definition.languages),
        )
        return
    returnee = await svc.entry.come_back(returnee)
    if returnee.status != "active":
        await _ask_consent(svc, bot, message.chat.id, _)
        return
    await continue_survey(svc, bot, message.chat.id, returnee, event_update.update_id)


async def on_language(
    query: CallbackQuery,
    callback_data: LangCB,
    svc: Services,
    bot: Bot,
    returnee: ReturneeInfo | None,
) -> None:
    if returnee is None or callback_data.code not in svc.definition.languages:
        _ = Translator("en")
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    returnee = await svc.entry.choose_language(returnee, callback_data.code)
    _ = Translator(returnee.language)
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    if isinstance(query.message, Message):
        await remove_keyboard(query.message)
    if returnee.status != "active":
        await _ask_consent(svc, bot, chat_id, _)
        return
    if callback_data.then == "switch":
        await bot.send_message(chat_id, _("Language changed."))
        host = SurveyHost(svc, bot, chat_id, returnee)
        if await svc.store.wave_in_progress(returnee.id) is not None:
            await host.apply(SetLanguage(language=returnee.language))
        return
    await continue_survey(svc, bot, chat_id, returnee)


async def on_consent(
    query: CallbackQuery,
    callback_data: ConsentCB,
    svc: Services,
    bot: Bot,
    returnee: ReturneeInfo | None,
    _: Translator,
) -> None:
    answered = (
        "not_asked"
        if returnee is None
        else await svc.entry.answer_consent(returnee, callback_data.agree)
    )
    if returnee is None or answered == "not_asked":
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    chat_id = query.from_user.id if query.message is None else query.message.chat.id
    if isinstance(query.message, Message):
        await remove_keyboard(query.message)
    if answered == "given":
        await bot.send_message(chat_id, _("Thank you. Let's begin. You can stop at any time."))
        await continue_survey(svc, bot, chat_id, await svc.store.get(returnee.id))
    else:
        await bot.send_message(
            chat_id,
            _("No problem. Nothing of your answers is kept. If you change your mind, send /start."),
        )


# -- commands that work from any state ---------------------------------------------------


async def on_help(message: Message, returnee: ReturneeInfo | None, _: Translator) -> None:
    await message.answer("\n".join(help_lines(_)))


async def on_language_command(
    message: Message, returnee: ReturneeInfo | None, svc: Services, _: Translator
) -> None:
    if returnee is None:
        await message.answer(_("Please open the invitation link you received first."))
        return
    await message.answer(
        _("Choose your language."),
        reply_markup=language_keyboard(returnee.language, "switch", svc.definition.languages),
    )


def build_router() -> Router:
    router = Router(name="entry")
    router.message.register(on_start, CommandStart())
    router.callback_query.register(on_language, LangCB.filter())
    router.callback_query.register(on_consent, ConsentCB.filter())
    router.message.register(on_help, Command("help"))
    router.message.register(on_language_command, Command("language"))
    return router
