"""Webhook mode: aiogram's aiohttp handler, plus /healthz and /metrics (:mod:`bot.health`).

Each update is processed *before* the HTTP answer (``handle_in_background=False``): if
processing fails the answer is an error and Telegram delivers the update again.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from redis.asyncio import Redis

from bot.health import add_health_routes
from bot.telegram.services import Services

log = logging.getLogger(__name__)

#: seconds a stopping worker gives the updates it is handling to finish (aiohttp's default
#: is 60): within the 10 s a container manager waits between SIGTERM and SIGKILL
SHUTDOWN_TIMEOUT = 8.0


class UpdateHandler(SimpleRequestHandler):
    """aiogram's webhook handler; an update that waits for the database or Redis is
    answered 503 (Telegram delivers it again), without a traceback in the log.

    aiogram closes the bot's HTTP session when the application shuts down, before the
    server waits for the updates in progress: their replies were then cut mid-send (and
    sent again on a new session, or lost). Here the session is closed at clean-up, once
    every update in progress has been answered or the runner's shutdown timeout passed.
    """

    def register(self, app: web.Application, /, path: str, **kwargs: Any) -> None:
        app.on_cleanup.append(self._handle_close)
        app.router.add_route("POST", path, self.handle, **kwargs)

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        #: set by OutageMiddleware when the update waits for the database or Redis
        outcome: dict[str, str] = {}
        result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(
            bot,
            await request.json(loads=bot.session.json_loads),
            **self.data,
            webhook_outcome=outcome,
        )
        if "unavailable" in outcome:
            return web.Response(status=503, text=f"the {outcome['unavailable']} is unreachable")
        return web.Response(body=self._build_response_writer(bot=bot, result=result))


def build_webhook_app(
    dp: Dispatcher,
    bot: Bot,
    svc: Services,
    *,
    path: str,
    secret: str,
    redis: Redis | None = None,
) -> web.Application:
    app = web.Application()
    UpdateHandler(dispatcher=dp, bot=bot, secret_token=secret, handle_in_background=False).register(
        app, path=path
    )

    add_health_routes(app, svc.store, svc.metrics.registry, redis)
    return app
