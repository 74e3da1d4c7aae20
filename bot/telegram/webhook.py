"""Webhook mode: aiogram's aiohttp handler, plus /healthz and /metrics.

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
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from bot.telegram.services import Services

log = logging.getLogger(__name__)


class UpdateHandler(SimpleRequestHandler):
    """aiogram's webhook handler; an update that waits for the database or Redis is
    answered 503 (Telegram delivers it again), without a traceback in the log."""

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

    async def healthz(request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            await svc.store.ping()
            checks["database"] = "ok"
        except Exception as exc:  # reported, not raised: this is a health check
            checks["database"] = exc.__class__.__name__
        if redis is not None:
            try:
                await redis.ping()  # type: ignore[misc]
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = exc.__class__.__name__
        healthy = all(v == "ok" for v in checks.values())
        return web.json_response(
            {"status": "ok" if healthy else "unhealthy", **checks}, status=200 if healthy else 503
        )

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(svc.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
