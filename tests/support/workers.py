"""Webhook workers for tests: start one on a database and Redis, deliver updates to it as
Telegram does (retrying on errors), enrol and answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.feedback_drafts import RedisDrafts
from bot.rate_limits import RedisRateLimiter
from bot.telegram.app import build_bot, build_dispatcher
from bot.telegram.services import Services
from bot.telegram.webhook import SHUTDOWN_TIMEOUT, build_webhook_app
from flows import builtin_definition
from scoring import default_weight_table
from storage.crypto import Keyring
from storage.db import make_engine
from storage.store import Store
from tests.e2e.fake_telegram import TOKEN, FakeTelegram, FakeUser

SECRET = "test-webhook-secret-0123456789"


@dataclass
class Worker:
    name: str
    store: Store
    runner: web.AppRunner
    url: str
    svc: Services

    async def stop(self) -> None:
        """Stop as ``rssbot run`` does on SIGTERM: no new connection, the updates in
        progress finish, then the bot's session closes."""
        await self.runner.cleanup()


async def start_worker(
    name: str,
    database_url: str,
    keyring: Keyring,
    server: FakeTelegram,
    redis: Redis,
    prefix: str,
) -> Worker:
    store = Store(make_engine(database_url), keyring)
    await store.verify()
    bot = build_bot(TOKEN, server.base_url, retry_delay=0.01)
    svc = Services(store=store, definition=builtin_definition(), table=default_weight_table())
    svc.limiter_factory = lambda rate: RedisRateLimiter(redis, prefix, rate=rate)
    svc.drafts = RedisDrafts(redis, prefix)
    dp = build_dispatcher(svc, webhook=True)
    app = build_webhook_app(dp, bot, svc, path="/telegram", secret=SECRET, redis=redis)
    app.on_cleanup.append(lambda _: bot.session.close())
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return Worker(name, store, runner, f"http://127.0.0.1:{port}/telegram", svc)


Deliver = Callable[[dict[str, Any]], Awaitable[None]]


def telegram_delivery(
    targets: Callable[[], list[str]],
    *,
    attempts: int = 40,
    statuses: list[int] | None = None,
    timeout: float = 30.0,
) -> Deliver:
    """Deliver like Telegram: POST with the secret; on an error or no answer within
    ``timeout`` seconds, try again (behind a proxy, the retry may reach another worker).
    ``statuses`` collects every HTTP status the bot answered."""

    async def deliver(update: dict[str, Any]) -> None:
        limit = aiohttp.ClientTimeout(total=timeout)
        async with aiohttp.ClientSession(timeout=limit) as http:
            for attempt in range(attempts):
                urls = targets()
                url = urls[attempt % len(urls)]
                try:
                    async with http.post(
                        url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
                    ) as response:
                        if statuses is not None:
                            statuses.append(response.status)
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"update {update['update_id']} was never accepted")

    return deliver


async def enrol(worker: Worker, user: FakeUser) -> None:
    returnee = await worker.store.enroll(
        case_ref=f"CASE-{user.user_id}",
        return_date=date.today(),
        country="GN",
        language="en",
    )
    await worker.store.bind_telegram(returnee.id, user.user_id, user.chat_id)
    await worker.store.give_consent(returnee.id, version="v1", language="en")


async def answer_questions(user: FakeUser, count: int) -> None:
    """Answer ``count`` questions, each press once its question is on screen (the time
    limit only bounds a failing test: a busy machine may be slow)."""
    user.send("/start")
    await user.expect("Question 1 of 32", timeout=60)
    for number in range(2, count + 2):
        user.press_nth(1)
        await user.expect(f"Question {number} of 32", timeout=60)
