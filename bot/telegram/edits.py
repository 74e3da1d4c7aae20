"""Cosmetic edits of messages already sent: closing an answered question, removing spent
buttons, updating a progress line; and a long text cut into messages Telegram takes.

Telegram may refuse such an edit for good (the message was deleted, is unchanged after a
double tap, or can no longer be edited): the conversation must go on regardless, so a
refusal is logged (without any text) and ignored. Network errors, 5xx and 429 are not
refusals and still propagate (the request middleware retries them).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Message

log = logging.getLogger(__name__)


async def quietly(edit: Awaitable[object]) -> bool:
    """Await a cosmetic edit; False (and a log line) if Telegram refused it."""
    try:
        await edit
    except TelegramBadRequest as exc:
        log.info("cosmetic edit refused by Telegram (%s): ignored", exc.method.__api_method__)
        return False
    return True


async def remove_keyboard(message: Message) -> bool:
    """Take the buttons off a message whose buttons are spent."""
    return await quietly(message.edit_reply_markup(reply_markup=None))


async def send_long(message: Message, text: str, limit: int = 3500) -> None:
    """A long text as several messages, cut between lines (Telegram takes 4096 characters)."""
    chunk: list[str] = []
    size = 0
    for line in text.split("\n"):
        if size + len(line) > limit and chunk:
            await message.answer("\n".join(chunk))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        await message.answer("\n".join(chunk))
