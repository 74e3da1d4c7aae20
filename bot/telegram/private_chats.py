"""The dispatcher's rule that personal data only ever goes to a private conversation.

Updates from groups, supergroups and channels (and messages with no sender, such as a
channel's posts or an anonymous group admin) never reach a handler: nothing is looked up,
nothing is stored, nothing personal is sent. A command or a button press there gets one
neutral line pointing to a private chat; anything else is ignored, so the bot never
chatters in a group.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User

from bot.texts import private_only_line

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class PrivateChatsOnly(BaseMiddleware):
    """Runs before anything reads the database or the chat's state."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        chat: Chat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        if chat is None or chat.type == "private":
            if user is None and (event.message is not None or event.callback_query is not None):
                log.info("update %s: a message without a sender: ignored", event.update_id)
                return None
            return await handler(event, data)
        log.info("update %s from a %s chat: not handled", event.update_id, chat.type)
        if event.callback_query is not None:
            return await event.callback_query.answer(
                private_only_line(event.callback_query.from_user.language_code), show_alert=True
            )
        message = event.message
        if message is not None and user is not None and (message.text or "").startswith("/"):
            return await message.answer(private_only_line(user.language_code))
        return None
