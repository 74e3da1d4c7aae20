"""Wiring: the aiogram Bot (pointed at TELEGRAM_API_BASE) and Dispatcher."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.types import BotCommand, BotCommandScopeDefault
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.handlers import build_router
from bot.i18n import UI_LANGUAGES, Translator
from bot.middlewares import ApplyOnceMiddleware, RetryMiddleware, ReturneeMiddleware
from bot.services import Services
from bot.staff_handlers import build_staff_router

TELEGRAM_API = "https://api.telegram.org"


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    api_base: str = Field(TELEGRAM_API, validation_alias="TELEGRAM_API_BASE")
    username: str | None = Field(None, validation_alias="TELEGRAM_BOT_USERNAME")
    show_scores: bool = Field(False, validation_alias="RSSBOT_SHOW_SCORES")


def build_bot(
    token: str, api_base: str = TELEGRAM_API, *, retry_delay: float = 0.5, retries: bool = True
) -> Bot:
    """A bot on its own HTTP session. The round sender disables retries: it handles 429
    (pausing every send) and other errors itself."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    if retries:
        session.middleware(RetryMiddleware(base_delay=retry_delay))
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(
            parse_mode="HTML", protect_content=True, link_preview_is_disabled=True
        ),
    )


def build_dispatcher(
    svc: Services,
    *,
    storage: BaseStorage | None = None,
    isolation: BaseEventIsolation | None = None,
) -> Dispatcher:
    """Routers and middlewares; FSM storage and per-chat isolation in memory by default."""
    dp = Dispatcher(
        storage=storage or MemoryStorage(), events_isolation=isolation or SimpleEventIsolation()
    )
    dp["svc"] = svc
    dp.update.outer_middleware(ApplyOnceMiddleware())
    dp.update.outer_middleware(ReturneeMiddleware())
    dp.include_router(build_staff_router())
    dp.include_router(build_router())
    return dp


async def set_commands(bot: Bot) -> None:
    """The command menu, in each UI language."""
    for language in UI_LANGUAGES:
        _ = Translator(language)
        commands = [
            BotCommand(command="start", description=_("Start or continue the survey")),
            BotCommand(command="language", description=_("Change the language")),
            BotCommand(command="mydata", description=_("See what is kept about you")),
            BotCommand(command="feedback", description=_("Feedback on the help you received")),
            BotCommand(command="stop", description=_("Stop all messages")),
            BotCommand(command="delete", description=_("Erase everything kept about you")),
            BotCommand(command="help", description=_("Help")),
        ]
        await bot.set_my_commands(
            commands,
            scope=BotCommandScopeDefault(),
            language_code=None if language == "en" else language,
        )
