"""Audio prompts on Telegram: a question's clips sent as voice notes before it (each
uploaded once, then sent by its file id), and the returnee switching them off and on
(/audio, the AUDIO keyword, or the button under a voice note)."""

from __future__ import annotations

import html
import logging
from functools import partial

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import (
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.core.audio import MediaGone, Prompt
from bot.i18n import Translator
from bot.keywords import keyword
from bot.telegram.keyboards import AudioCB
from bot.telegram.services import Services
from bot.texts import audio_off_button, audio_switched, not_invited
from flows.model import Question
from storage.store import ReturneeInfo

log = logging.getLogger(__name__)

CHANNEL = "telegram"


def _off(_: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=audio_off_button(_), callback_data=AudioCB(on=False).pack())]
        ]
    )


async def play(
    svc: Services,
    bot: Bot,
    chat_id: int,
    returnee: ReturneeInfo,
    question: Question,
    language: str,
    _: Translator,
) -> None:
    """Send ``question``'s clips in ``language`` as voice notes (the first with the button
    that switches audio off). A clip Telegram refuses is logged and skipped: the question
    itself still comes."""
    prompts = svc.prompts
    for i, prompt in enumerate(prompts.of(question, language, returnee)):
        markup = _off(_) if i == 0 else None
        try:
            await prompts.send(
                CHANNEL,
                prompt,
                partial(_by_id, bot, chat_id, prompt, markup),
                partial(_by_upload, bot, chat_id, prompt, markup),
            )
        except TelegramBadRequest as exc:
            log.warning("voice note %s not sent: %s", prompt.clip.filename, exc.message)


async def _by_id(
    bot: Bot, chat_id: int, prompt: Prompt, markup: InlineKeyboardMarkup | None, file_id: str
) -> None:
    try:
        await bot.send_voice(chat_id, file_id, caption=_caption(prompt), reply_markup=markup)
    except TelegramBadRequest as exc:
        if "file" in exc.message.lower():  # "wrong file identifier", "file reference expired"
            raise MediaGone(exc.message) from exc
        raise


async def _by_upload(
    bot: Bot, chat_id: int, prompt: Prompt, markup: InlineKeyboardMarkup | None
) -> str:
    clip = prompt.clip
    sent = await bot.send_voice(
        chat_id,
        FSInputFile(clip.path, filename=clip.filename),
        caption=_caption(prompt),
        duration=clip.seconds,
        reply_markup=markup,
    )
    media = sent.voice or sent.audio or sent.document
    if media is None:
        raise TelegramBadRequest(method=None, message="no file in the sent voice note")  # type: ignore[arg-type]
    return media.file_id


def _caption(prompt: Prompt) -> str | None:
    return html.escape(prompt.caption) if prompt.caption else None


async def switch(
    svc: Services, returnee: ReturneeInfo | None, on: bool | None, _: Translator
) -> str:
    """Switch audio as asked; what to tell the returnee."""
    if returnee is None:
        return not_invited(_)
    return audio_switched(_, await svc.prompts.switch(returnee, on))


async def on_audio(
    message: Message, svc: Services, returnee: ReturneeInfo | None, _: Translator
) -> None:
    await message.answer(await switch(svc, returnee, None, _))


async def on_audio_button(
    query: CallbackQuery,
    callback_data: AudioCB,
    svc: Services,
    returnee: ReturneeInfo | None,
    _: Translator,
) -> None:
    text = await switch(svc, returnee, callback_data.on, _)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(text)


async def audio_word(message: Message) -> bool:
    """AUDIO, VOIX, صوت... as a whole message (:mod:`bot.keywords`)."""
    found = keyword(message.text) if message.text else None
    return found is not None and found[0] == "audio"


def build_router() -> Router:
    router = Router(name="audio")
    router.message.register(on_audio, Command("audio"))
    router.message.register(on_audio, audio_word)
    router.callback_query.register(on_audio_button, AudioCB.filter())
    return router
