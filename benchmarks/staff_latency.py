"""Benchmark: does a staff member's /export or /stats slow down the returnees the same
worker answers?

    .venv/bin/python -m benchmarks.staff_latency --surveys 20000 --pg

Seeds N completed surveys (as ``benchmarks.staff_reads`` does, in a database of its own),
runs the bot (polling) against the fake Bot API, and has returnees answer the survey by
button presses, one after the other: first with nothing else going on, then while an
admin's ``/export xlsx`` and ``/stats`` run on the same worker. Prints the latency of a
press (from the press to the next question on screen) in both phases. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from bot.telegram.app import build_bot, build_dispatcher
from bot.telegram.services import Services
from flows import builtin_definition
from scoring import default_weight_table
from storage.crypto import Keyring
from storage.db import make_engine
from storage.store import Store
from tests.e2e.fake_telegram import TOKEN, FakeTelegram, FakeUser
from tests.support.journeys import QUESTION

from .staff_reads import PG, _psql, seed


async def join(store: Store, user: FakeUser, n: int) -> None:
    """Enrol, consent and open the survey at question 1."""
    returnee = await store.enroll(
        case_ref=f"LATENCY-{n}", return_date=date(2026, 10, 1), country="GN", language="en"
    )
    await store.bind_telegram(returnee.id, user.user_id, user.chat_id)
    await store.give_consent(returnee.id, version="bench", language="en")
    user.send("/start")
    await user.expect(QUESTION["en"].format(1))


async def presses(user: FakeUser, latencies: list[float], until: asyncio.Event | None) -> None:
    """Answer questions 1 to 29 by pressing the first option; stop early when ``until``."""
    for number in range(2, 30):
        if until is not None and until.is_set():
            return
        started = time.monotonic()
        user.press_nth(0)
        await user.expect(QUESTION["en"].format(number), timeout=60)
        latencies.append(time.monotonic() - started)


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"n={len(ordered):3d}  p50 {statistics.median(ordered) * 1000:6.0f} ms  "
        f"p95 {p95 * 1000:6.0f} ms  max {ordered[-1] * 1000:6.0f} ms"
    )


async def main(surveys: int, pg: bool, commands: list[str]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="rssbot-latency-"))
    database = f"rssbot_bench_{secrets.token_hex(4)}"
    url = f"{PG}/{database}" if pg else f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    if pg:
        _psql(f'CREATE DATABASE "{database}"')
    keyring = Keyring.generate()
    server = FakeTelegram()
    try:
        await seed(url, keyring, surveys)
        await server.start()
        store = Store(make_engine(url), keyring)
        await store.verify()
        bot = build_bot(TOKEN, server.base_url)
        svc = Services(
            store=store,
            definition=builtin_definition(),
            table=default_weight_table(),
            today=lambda: date(2026, 11, 25),
        )
        dp = build_dispatcher(svc)
        polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
        try:
            admin = FakeUser(server, 990_000, "en")
            await store.add_staff(admin.user_id, "admin")
            returnees = [FakeUser(server, 880_000 + i, "en") for i in range(12)]
            for n, user in enumerate(returnees):
                await join(store, user, n)

            idle: list[float] = []
            await presses(returnees[0], idle, None)

            busy: list[float] = []
            done = asyncio.Event()
            started = time.monotonic()
            for command in commands:
                admin.send(command)

            async def staff_reads() -> None:
                """Until the files came: the export's document, the chart's photo."""
                wanted = {"document": "/export", "photo": "/stats"}
                kinds = {k for k, c in wanted.items() if any(x.startswith(c) for x in commands)}
                while not kinds <= {m.kind for m in admin.messages}:
                    await asyncio.sleep(0.05)
                done.set()

            reading = asyncio.create_task(staff_reads())
            for user in returnees[1:]:
                await presses(user, busy, done)
                if done.is_set():
                    break
            await reading
            elapsed = time.monotonic() - started
        finally:
            with contextlib.suppress(RuntimeError):
                await dp.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(polling, 10)
            await bot.session.close()
            await store.close()
        print(f"{surveys} completed surveys ({'PostgreSQL' if pg else 'SQLite'})")
        print(f"a button press, nothing else running:       {summary(idle)}")
        print(f"a button press, during {' and '.join(commands)}: {summary(busy)}")
        print(f"{' and '.join(commands)} answered in {elapsed:.1f} s")
    finally:
        await server.stop()
        if pg:
            _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--surveys", type=int, default=20000)
    parser.add_argument("--pg", action="store_true", help="a PostgreSQL database of its own")
    parser.add_argument("--staff", nargs="+", default=["/export xlsx", "/stats initial"])
    args = parser.parse_args()
    asyncio.run(main(args.surveys, args.pg, args.staff))
