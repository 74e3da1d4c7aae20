"""A bare aiogram echo bot behind the same webhook handler: the baseline of the load
benchmark (what aiogram + aiohttp + the fake Bot API cost per update, with no storage).

Bare means aiogram as it comes: its own HTTP session (forms), no request middlewares, none
of rssbot's changes; only the event loop is the same as `rssbot run`'s."""

from __future__ import annotations

import argparse
import asyncio
import os

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.cli.serve import event_loop_factory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_BASE"])
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=AiohttpSession(api=api))
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @dp.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer()
        await bot.send_message(query.from_user.id, query.data or "")

    app = web.Application()
    SimpleRequestHandler(
        dispatcher=dp,
        bot=bot,
        secret_token=os.environ["TELEGRAM_WEBHOOK_SECRET"],
        handle_in_background=False,
    ).register(app, path="/telegram")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)
    # the same event loop as `rssbot run` (uvloop where installed), for a fair baseline
    factory = event_loop_factory()
    loop = factory() if factory is not None else asyncio.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, loop=loop)


if __name__ == "__main__":
    main()
