"""Cosmetic edits of messages already sent: closing an answered question, removing spent
buttons, updating a progress line.

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
