"""Wiring: the aiogram Bot (pointed at TELEGRAM_API_BASE) and Dispatcher."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.types import BotCommand, BotCommandScopeDefault
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bot.i18n import SOURCE_LANGUAGE, Translator
from bot.languages import languages
from bot.settings import TELEGRAM_API
from bot.telegram import audio, entry, feedback, rights, survey
from bot.telegram.metrics import Metrics, RequestMetricsMiddleware, UpdateMetricsMiddleware
from bot.telegram.middlewares import (
    ApplyOnceMiddleware,
    LocaleMiddleware,
    RedactionMiddleware,
    RetryMiddleware,
)
from bot.telegram.outages import OutageMiddleware
from bot.telegram.private_chats import PrivateChatsOnly
from bot.telegram.services import Services
from bot.telegram.session import JsonAiohttpSession
from bot.telegram.staff import build_staff_router


def _pin_response_models() -> list[object]:
    """aiogram validates every Bot API answer with ``Response[T]``; pydantic caches these
    parametrised models only weakly, so under load they are rebuilt again and again (about
    4 ms each, measured). Holding them here keeps pydantic's cache warm."""
    from aiogram import methods
    from aiogram.methods.base import Response

    used = (
        methods.SendMessage,
        methods.EditMessageText,
        methods.EditMessageReplyMarkup,
        methods.AnswerCallbackQuery,
        methods.SendPhoto,
        methods.SendDocument,
        methods.GetMe,
        methods.GetUpdates,
        methods.SetMyCommands,
        methods.SetWebhook,
        methods.DeleteWebhook,
    )
    return [Response[m.__returning__] for m in used]  # type: ignore[name-defined]


_RESPONSE_MODELS = _pin_response_models()


def build_bot(
    token: str,
    api_base: str = TELEGRAM_API,
    *,
    retry_delay: float = 0.5,
    retries: bool = True,
    metrics: Metrics | None = None,
) -> Bot:
    """A bot on its own HTTP session. The round sender disables retries: it handles 429
    (pausing every send) and other errors itself."""
    session = JsonAiohttpSession(api=TelegramAPIServer.from_base(api_base))
    if metrics is not None:
        session.middleware(RequestMetricsMiddleware(metrics))
    if retries:
        session.middleware(RetryMiddleware(base_delay=retry_delay))
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(
            parse_mode="HTML", protect_content=True, link_preview_is_disabled=True
        ),
    )


def build_dispatcher(svc: Services, *, webhook: bool = False) -> Dispatcher:
    """Routers and middlewares. ``webhook``: a failed update is delivered again by
    Telegram (when polling, an update that waits for the database or Redis is retried
    here).

    A chat's updates are handled one at a time in this process (aiogram's in-memory
    event isolation, with its FSM middleware; no handler keeps a conversation step
    there), for their order only: polling hands them over in order, and Telegram sends a
    webhook the next update of a chat once the previous one is answered (updates are
    handled before the answer). Nothing is locked across workers: the survey's progress
    is stored by compare-and-set, and the feedback being written is a draft
    (``svc.drafts``, in Redis with several workers) read only for a message that may be
    its text."""
    dp = Dispatcher(storage=MemoryStorage(), events_isolation=SimpleEventIsolation())
    dp["svc"] = svc
    # before the chat's isolation and state (aiogram's FSM middleware): an update from a group
    # or a channel touches nothing
    dp.update.outer_middleware.unregister(dp.fsm)
    dp.update.outer_middleware(PrivateChatsOnly())
    dp.update.outer_middleware(OutageMiddleware(redeliver=webhook))
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(UpdateMetricsMiddleware(svc.metrics))
    dp.update.outer_middleware(ApplyOnceMiddleware())
    dp.update.outer_middleware(LocaleMiddleware())
    dp.update.outer_middleware(RedactionMiddleware())
    # one router per conversation, in priority order: survey buttons first (most updates;
    # no other router handles them), staff commands, then the returnee's commands and
    # buttons, the feedback text (in its state), and typed answers and anything else last
    dp.include_router(survey.build_buttons_router())
    dp.include_router(build_staff_router())
    dp.include_router(entry.build_router())
    dp.include_router(rights.build_router())
    dp.include_router(audio.build_router())
    dp.include_router(feedback.build_router())
    dp.include_router(survey.build_text_router())
    return dp


async def set_commands(bot: Bot) -> None:
    """The command menu, in each UI language Telegram can name (a two-letter ISO 639-1
    code; the others see the source language's menu)."""
    for language in languages().interface:
        if language != SOURCE_LANGUAGE and not (len(language) == 2 and language.isalpha()):
            continue
        _ = Translator(language)
        commands = [
            BotCommand(command="start", description=_("Start or continue the survey")),
            BotCommand(command="language", description=_("Change the language")),
            BotCommand(command="mydata", description=_("See what is kept about you")),
            BotCommand(command="feedback", description=_("Feedback on the help you received")),
            BotCommand(command="audio", description=_("Voice notes with the questions, on or off")),
            BotCommand(command="stop", description=_("Stop all messages")),
            BotCommand(command="delete", description=_("Erase everything kept about you")),
            BotCommand(command="help", description=_("Help")),
        ]
        await bot.set_my_commands(
            commands,
            scope=BotCommandScopeDefault(),
            language_code=None if language == SOURCE_LANGUAGE else language,
        )


def redis_client(url: str) -> Redis:
    """A Redis client that gives up quickly when Redis is unreachable (two retries within
    about half a second, connecting for at most 2 s), so that an update gets its "please
    wait" and is delivered again, rather than hanging for redis-py's default seven
    seconds of backoff."""
    return Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=5,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
    )
