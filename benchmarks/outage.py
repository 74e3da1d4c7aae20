"""Outage drill: returnees answer while PostgreSQL or Redis is cut, then restored.

    python -m benchmarks.outage --service database --mode polling --returnees 20 --cut 5
    python -m benchmarks.outage --service redis --mode webhook --returnees 20 --cut 5

The service is reached through a TCP proxy that is cut (every connection reset, new ones
refused) and restored: the machine's PostgreSQL and Redis are never touched. Each
returnee answers 15 questions, pressing the next one as soon as it is on screen; the cut
starts a second into the run. Prints what the returnees saw and what was stored: answers
confirmed, lost and applied twice, "please wait" lines, how long after the restore the
last waiting answer was applied, and the bot's log lines about the outage.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import time
from datetime import date
from typing import Any

import asyncpg
from redis.asyncio import Redis
from sqlalchemy import func, select

from bot.telegram.app import build_bot, build_dispatcher, redis_client
from bot.telegram.services import Services
from flows import builtin_definition
from scoring import default_weight_table
from storage.crypto import Keyring
from storage.db import make_engine, upgrade
from storage.models import Answer
from storage.store import Store
from tests.e2e.fake_telegram import TOKEN, FakeTelegram, FakeUser
from tests.support.tcp_proxy import TcpProxy
from tests.support.workers import start_worker, telegram_delivery

QUESTIONS = 15
PLEASE_WAIT = "Sorry, something is not working on our side right now."


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.outage: list[str] = []
        self.tracebacks = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "bot.telegram.outages":
            self.outage.append(record.getMessage())
        if record.exc_info and record.levelno >= logging.WARNING:
            self.tracebacks += 1


async def answer(user: FakeUser, confirmed: list[tuple[int, float]]) -> None:
    user.send("/start")
    await user.expect("Question 1 of 32", timeout=300)
    for number in range(2, QUESTIONS + 2):
        user.press_nth(1)
        await user.expect(f"Question {number} of 32", timeout=300)
        confirmed.append((user.user_id, time.monotonic()))


async def main(args: argparse.Namespace) -> None:
    pg = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
    redis_host = os.environ.get("BENCH_REDIS_HOST", "127.0.0.1")
    name = f"rssbot_outage_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{pg}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    direct_url = f"{pg.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    host, port = pg.rsplit("@", 1)[1].split(":")
    pg_proxy = await TcpProxy(host, int(port)).start()
    redis_proxy = await TcpProxy(redis_host, 6379).start()
    proxied_url = direct_url.replace(f"@{host}:{port}/", f"@127.0.0.1:{pg_proxy.port}/")
    keyring = Keyring.generate()
    prefix = f"rssbot-outage-{secrets.token_hex(4)}"
    lines = Lines()
    logging.getLogger().addHandler(lines)
    logging.getLogger().setLevel(logging.INFO)
    server = FakeTelegram()
    await server.start()
    redis = redis_client(f"redis://127.0.0.1:{redis_proxy.port}/0")
    statuses: list[int] = []
    closers: list[Any] = []
    try:
        engine = make_engine(direct_url)
        await upgrade(engine)
        await engine.dispose()
        if args.mode == "webhook":
            worker = await start_worker("a", proxied_url, keyring, server, redis, prefix)
            server.deliver = telegram_delivery(
                lambda: [worker.url], attempts=3000, statuses=statuses
            )
            store = worker.store
            closers += [worker.kill, store.close]
        else:
            store = Store(make_engine(proxied_url), keyring)
            await store.verify()
            bot = build_bot(TOKEN, server.base_url, retry_delay=0.01)
            svc = Services(
                store=store, definition=builtin_definition(), table=default_weight_table()
            )
            dp = build_dispatcher(svc)
            polling = asyncio.create_task(
                dp.start_polling(bot, handle_signals=False, polling_timeout=1)
            )

            async def stop_polling() -> None:
                await dp.stop_polling()
                await polling
                await bot.session.close()

            closers += [stop_polling, store.close]
        users = [FakeUser(server, 4_000_000 + i, "en") for i in range(args.returnees)]
        for user in users:
            returnee = await store.enroll(
                case_ref=f"O-{user.user_id}", return_date=date.today(), country="GN", language="en"
            )
            await store.bind_telegram(returnee.id, user.user_id, user.chat_id)
            await store.give_consent(returnee.id, version="drill", language="en")
        proxy = pg_proxy if args.service == "database" else redis_proxy
        confirmed: list[tuple[int, float]] = []
        run = asyncio.gather(*(answer(u, confirmed) for u in users))
        await asyncio.sleep(1.0)
        before_cut = len(confirmed)
        await proxy.cut()
        cut_at = time.monotonic()
        await asyncio.sleep(args.cut)
        during = len(confirmed) - before_cut
        await proxy.restore()
        restored_at = time.monotonic()
        await run
        finished = time.monotonic()
        await asyncio.gather(*server.deliveries)
        check = Store(make_engine(direct_url), keyring)
        async with check.sessions() as session:
            stored = int(await session.scalar(select(func.count()).select_from(Answer)) or 0)
        await check.close()
        expected = args.returnees * QUESTIONS
        waits = sum(PLEASE_WAIT in m.text for u in users for m in u.messages)
        # each returnee's first answer confirmed after the restore: the one that waited
        resumed: dict[int, float] = {}
        for user_id, at in confirmed:
            if at > restored_at:
                resumed.setdefault(user_id, at - restored_at)
        print(
            f"{args.service} cut for {args.cut:g} s ({args.mode}), {args.returnees} returnees x "
            f"{QUESTIONS} answers, the cut {before_cut} answers in"
        )
        print(f"  answers confirmed to returnees: {len(confirmed)} of {expected}")
        twice = max(0, stored - expected)
        print(f"  stored: {stored} (lost {max(0, expected - stored)}, applied twice {twice})")
        print(f"  confirmed during the cut: {during}; 'please wait' lines sent: {waits}")
        if args.mode == "webhook":
            print(f"  webhook answers: {statuses.count(503)} x 503, {statuses.count(200)} x 200")
        if resumed:
            waited = sorted(resumed.values())
            print(
                f"  after the restore ({restored_at - cut_at:.1f} s after the cut): every "
                f"returnee's waiting answer applied within {waited[-1]:.2f} s (median "
                f"{waited[len(waited) // 2]:.2f} s); all {expected} answers done "
                f"{finished - restored_at:.2f} s after the restore"
            )
        print(f"  log lines about the outage: {len(lines.outage)}; tracebacks: {lines.tracebacks}")
        for line in lines.outage:
            print(f"    {line}")
    finally:
        for close in closers:
            await close()
        await server.stop()
        await pg_proxy.close()
        await redis_proxy.close()
        await redis.aclose()
        direct = Redis(host=redis_host, port=6379)
        keys = [k async for k in direct.scan_iter(match=f"{prefix}:*")]
        if keys:
            await direct.delete(*keys)
        await direct.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--service", choices=["database", "redis"], default="database")
    parser.add_argument("--mode", choices=["polling", "webhook"], default="polling")
    parser.add_argument("--returnees", type=int, default=20)
    parser.add_argument("--cut", type=float, default=5.0, help="seconds the service is cut")
    parsed = parser.parse_args()
    if parsed.service == "redis" and parsed.mode == "polling":
        parser.error("Redis is used by webhook workers only: --service redis --mode webhook")
    asyncio.run(main(parsed))
