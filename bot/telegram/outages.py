"""When the database or Redis cannot be reached: a word to the returnee, one log line per
outage, and the update handled once the service is back.

:class:`OutageMiddleware` runs before the chat's in-process isolation and before anything
reads the database or Redis (a feedback draft). An update whose handling fails because a
service is unreachable gets, where a reply is possible, a short localised "please wait" in
its private chat (at most one a minute per chat), and then:

- in webhook mode the update ends unhandled, recorded in the request's ``webhook_outcome``
  (the webhook answers 503; no traceback is logged), and Telegram delivers it again later,
  to whichever worker;
- when polling (the update is already acknowledged) it is handled again here, with backoff,
  until the service is back, in the order the chat's updates came.

Nothing is applied twice either way: the database records each update with its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import redis.exceptions
from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, Update, User
from sqlalchemy import exc as sa_exc

from bot.i18n import Translator, proposed_language

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_DATABASE_DOWN = (
    OSError,  # (refused, reset, timed out: TimeoutError is an OSError)
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # (shutting down, cannot connect now)
)


def unavailable_service(exc: BaseException) -> str | None:
    """ "redis" or "database" if ``exc`` (or what caused it) says that service cannot be
    reached; None for anything else, Telegram's own failures included."""
    seen: set[int] = set()
    current: BaseException | None = exc
    found = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TelegramAPIError | aiohttp.ClientError):
            return None  # (Telegram unreachable: the retry middleware's business)
        if isinstance(current, _REDIS_DOWN):
            return "redis"
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            found = "database"
        elif isinstance(current, _DATABASE_DOWN):
            found = found or "database"
        current = current.__cause__ or current.__context__
    return found


class ServiceUnavailable(Exception):
    """The update could not be handled because ``service`` is unreachable (webhook: 503,
    and Telegram delivers the update again)."""

    def __init__(self, service: str) -> None:
        self.service = service
        super().__init__(f"the {service} is unreachable")


@dataclass
class OutageLog:
    """Says once that a service is down, and once that it is back (with how long and how
    many updates waited), instead of a traceback per update. A service counts as back
    after ``settle`` seconds without a failure (an update that succeeds in the middle of
    an outage, e.g. on a connection still open, does not end it)."""

    clock: Callable[[], float] = time.monotonic
    settle: float = 2.0
    down_since: dict[str, float] = field(default_factory=dict)
    last_failure: dict[str, float] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def failed(self, service: str, exc: BaseException) -> None:
        self.failures[service] = self.failures.get(service, 0) + 1
        self.last_failure[service] = self.clock()
        if service not in self.down_since:
            self.down_since[service] = self.clock()
            log.warning(
                "the %s is unreachable (%s): updates are answered 'please wait' and "
                "handled when it is back",
                service,
                exc.__class__.__name__,
            )

    def succeeded(self) -> None:
        now = self.clock()
        for service in list(self.down_since):
            if now - self.last_failure[service] < self.settle:
                continue
            since = self.down_since.pop(service)
            log.warning(
                "the %s is back after %.0f s (%s failed attempts)",
                service,
                self.last_failure[service] - since,
                self.failures.pop(service, 0),
            )

    @property
    def down(self) -> bool:
        return bool(self.down_since)


def please_wait_text(language_code: str | None) -> str:
    _ = Translator(proposed_language(language_code))
    return _(
        "Sorry, something is not working on our side right now. What you sent is kept and "
        "will be handled in a moment; if nothing happens, please send it again."
    )


class OutageMiddleware(BaseMiddleware):
    """See the module's docstring. ``redeliver``: webhook mode (Telegram redelivers a
    failed update); otherwise the update is retried here."""

    def __init__(
        self,
        *,
        redeliver: bool,
        outages: OutageLog | None = None,
        notice_interval: float = 60.0,
        backoff: tuple[float, float] = (0.5, 2.0),
        give_up_after: float = 3600.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.redeliver = redeliver
        self.outages = outages or OutageLog()
        self.notice_interval = notice_interval
        self.backoff, self.give_up_after, self.sleep = backoff, give_up_after, sleep
        self._noticed: dict[int, float] = {}
        self._chat_order: dict[int, asyncio.Lock] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        chat: Chat | None = data.get("event_chat")
        if self.redeliver:
            try:
                return await self._attempt(handler, event, data, chat)
            except ServiceUnavailable as unavailable:
                outcome: dict[str, str] | None = data.get("webhook_outcome")
                if outcome is None:
                    raise
                outcome["unavailable"] = unavailable.service  # (answered 503, no traceback)
                return None
        async with self._in_order(chat):
            return await self._until_back(handler, event, data, chat)

    async def _attempt(
        self, handler: Handler, event: Update, data: dict[str, Any], chat: Chat | None
    ) -> Any:
        try:
            result = await handler(event, dict(data))  # (a fresh copy for each attempt)
        except Exception as exc:
            service = unavailable_service(exc)
            if service is None:
                raise
            self.outages.failed(service, exc)
            await self._please_wait(data, chat)
            raise ServiceUnavailable(service) from None
        if self.outages.down:
            self.outages.succeeded()
        return result

    async def _until_back(
        self, handler: Handler, event: Update, data: dict[str, Any], chat: Chat | None
    ) -> Any:
        delay, ceiling = self.backoff
        deadline = time.monotonic() + self.give_up_after
        while True:
            try:
                return await self._attempt(handler, event, data, chat)
            except ServiceUnavailable as exc:
                if time.monotonic() >= deadline:
                    log.error(
                        "update %s dropped: the %s was still unreachable after %.0f s",
                        event.update_id,
                        exc.service,
                        self.give_up_after,
                    )
                    return None
            await self.sleep(delay)
            delay = min(delay * 2, ceiling)

    @contextlib.asynccontextmanager
    async def _in_order(self, chat: Chat | None) -> AsyncIterator[None]:
        """A chat's updates one after the other while they wait for a service (in memory:
        polling runs in one process)."""
        if chat is None:
            yield
            return
        lock = self._chat_order.setdefault(chat.id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._chat_order.get(chat.id) is lock:
                del self._chat_order[chat.id]

    async def _please_wait(self, data: dict[str, Any], chat: Chat | None) -> None:
        """One short line to a private chat, at most once per ``notice_interval``."""
        bot: Bot | None = data.get("bot")
        if bot is None or chat is None or chat.type != "private":
            return
        now = time.monotonic()
        if now - self._noticed.get(chat.id, -self.notice_interval) < self.notice_interval:
            return
        self._noticed[chat.id] = now
        if len(self._noticed) > 10_000:  # forget old notices
            self._noticed = {
                k: v for k, v in self._noticed.items() if now - v < self.notice_interval
            }
        user: User | None = data.get("event_from_user")
        try:
            await bot.send_message(chat.id, please_wait_text(user.language_code if user else None))
        except Exception as exc:  # (Telegram may be unreachable too: the update still waits)
            log.info("the 'please wait' line was not sent: %s", exc.__class__.__name__)
